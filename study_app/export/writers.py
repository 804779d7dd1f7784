"""Serialise an export to files: tables as CSV, JSON Lines or Parquet, plus codebook and ERASER files."""

from __future__ import annotations

import io
import json
import zipfile
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

import pandas as pd

from contract.export_schema import Column
from study_app.export.codebook import codebook_markdown, free_text_columns
from study_app.export.datapackage import data_package

FORMATS = ("csv", "jsonl", "parquet")
FORMULA_START = ("=", "+", "-", "@", "\t", "\r")
LINKAGE_FILE = "linkage.csv"


@dataclass
class Export:
    """Everything one export contains, in memory."""

    tables: dict[str, pd.DataFrame]
    columns: dict[str, list[Column]]  # every table's columns as exported (questionnaire and observed levels added)
    codebook: pd.DataFrame
    linkage: pd.DataFrame  # pseudonym -> recruitment ids; kept apart from the research tables
    eraser: list[dict]  # one ERASER annotation per phase-1 response
    documents: list[dict]  # one ERASER document per task
    predictions: dict[str, list[dict]]  # ERASER results per explainer, one instance per annotation
    slug: str
    title: str
    version: int  # the newest version of the study definition in the export
    created: datetime


def _iso_dates(df: pd.DataFrame) -> pd.DataFrame:
    """Return ``df`` with datetime columns as ISO 8601 UTC strings (text formats only)."""
    df = df.copy()
    for col in df.columns:
        if isinstance(df[col].dtype, pd.DatetimeTZDtype):
            df[col] = df[col].dt.strftime("%Y-%m-%dT%H:%M:%S.%fZ")
    return df


def _jsonl(records: list[dict]) -> bytes:
    return "".join(json.dumps(r, ensure_ascii=False) + "\n" for r in records).encode()


def defuse_formulas(df: pd.DataFrame, columns: list[str]) -> pd.DataFrame:
    """Return ``df`` with a ``'`` before free-text cells a spreadsheet would run as a formula.

    A cell starting with ``=``, ``+``, ``-``, ``@``, tab or carriage return is a formula in Excel,
    LibreOffice and Google Sheets (CSV injection); the quote makes it plain text there.
    """
    df = df.copy()
    for col in columns:
        if col in df.columns:
            df[col] = df[col].map(lambda v: "'" + v if isinstance(v, str) and v[:1] in FORMULA_START else v)
    return df


def table_bytes(df: pd.DataFrame, fmt: str, free_text: list[str] = ()) -> bytes:
    """Serialise one table in ``fmt``; ``free_text`` columns are defused against CSV formulas."""
    if fmt == "csv":
        return defuse_formulas(_iso_dates(df), list(free_text)).to_csv(index=False).encode()
    if fmt == "jsonl":
        return _iso_dates(df).to_json(orient="records", lines=True, force_ascii=False).encode()
    if fmt == "parquet":
        buf = io.BytesIO()
        df.to_parquet(buf, index=False)
        return buf.getvalue()
    raise ValueError(f"unknown format {fmt!r}: choose one of {', '.join(FORMATS)}")


def render(export: Export, fmt: str) -> dict[str, bytes]:
    """Return every file of the shareable export as ``{file name: bytes}``: no recruiter ids.

    The linkage table is not among them; ``linkage_bytes`` serialises it for an explicit request.
    """
    files = {f"{name}.{fmt}": table_bytes(df, fmt, free_text_columns(name, df)) for name, df in export.tables.items()}
    files["codebook.csv"] = export.codebook.to_csv(index=False).encode()
    files["codebook.md"] = codebook_markdown(export.codebook).encode()
    package = data_package(export.columns, fmt, export.slug, export.title, export.version, export.created)
    files["datapackage.json"] = (json.dumps(package, indent=2, ensure_ascii=False) + "\n").encode()
    files["eraser/docs.jsonl"] = _jsonl(export.documents)
    files["eraser/test.jsonl"] = _jsonl(export.eraser)
    files["eraser/train.jsonl"] = files["eraser/val.jsonl"] = b""  # ERASER's load_datasets reads all three splits
    for explainer, instances in export.predictions.items():
        files[f"eraser/predictions/{explainer}.jsonl"] = _jsonl(instances)
    return files


def linkage_bytes(export: Export) -> bytes:
    """Return the linkage table (pseudonym -> recruiter ids, completion codes) as CSV.

    Every column is an id that must round-trip exactly (a public id may start with ``-``), and no
    person typed any of them: none gets the spreadsheet-formula guard of free text.
    """
    return table_bytes(export.linkage, "csv")


def write_dir(files: dict[str, bytes], out: Path) -> None:
    """Write ``files`` under the folder ``out``."""
    for name, data in files.items():
        path = out / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(data)


def zip_bytes(files: dict[str, bytes]) -> bytes:
    """Return ``files`` as a zip archive."""
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as zf:
        for name, data in files.items():
            zf.writestr(name, data)
    return buf.getvalue()
