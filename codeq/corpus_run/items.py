"""Read INPUT into items: a JSONL or Parquet file of ``{id, code, language?}``, or a folder of sources.

A folder is cut by :func:`codeq.source.snippets.function_snippets`: every function of 6 to 60 lines becomes one item whose code is the first half of the function, named
``<relative.path>-<function>-L<line>``. A record in a file is one item whose code is the prompt.

Records that cannot become items (not JSON, no id, no code, a repeated id, an unknown language, a
file that is not UTF-8) are returned as error rows, never raised: a run does not stop on one.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

import pyarrow.parquet as pq

from codeq.source.snippets import function_snippets, source_files
from contract.corpus_run import error_row
from contract.errors import UserError
from contract.taxonomy import LANGUAGES


@dataclass(frozen=True)
class Item:
    id: str
    code: str
    language: str


def read_items(path: str | Path, language: str) -> tuple[list[Item], list[dict]]:
    """Return (items in input order, error rows for records that are not usable items).

    ``language`` is the folder's language and the default for records without one. Raises
    UserError (a ValueError, one line) only when INPUT as a whole is unusable.
    """
    path = Path(path)
    if language not in LANGUAGES:
        raise UserError(f"unsupported language {language!r}: use {', '.join(LANGUAGES)}")
    if path.is_dir():
        records, errors = _folder_records(path, language)
    elif path.suffix in (".jsonl", ".json"):
        records, errors = _jsonl_records(path)
    elif path.suffix == ".parquet":
        records, errors = _parquet_records(path)
    else:
        raise UserError(f"{path}: INPUT must be a .jsonl or .parquet file or a folder of source files")
    items, first_seen = [], {}
    for where, record in records:
        item_or_error = _item(where, record, language, first_seen)
        (items if isinstance(item_or_error, Item) else errors).append(item_or_error)
    return items, errors


def _item(where: str, record, language: str, first_seen: dict[str, str]) -> Item | dict:
    if not isinstance(record, dict):
        return error_row(where, "unreadable", f"{where}: not an object with id and code")
    item_id, code = record.get("id"), record.get("code")
    item_language = record.get("language") or language
    if isinstance(item_id, int) and not isinstance(item_id, bool):
        item_id = str(item_id)
    if not isinstance(item_id, str) or not item_id:
        return error_row(where, "unreadable", f"{where}: no string id")
    if item_id in first_seen:
        return error_row(where, "duplicate_id", f"{where}: id {item_id!r} was already used at {first_seen[item_id]}")
    first_seen[item_id] = where
    if not isinstance(code, str):
        return error_row(item_id, "unreadable", f"{where}: code is missing or not a string")
    if item_language not in LANGUAGES:
        return error_row(item_id, "unreadable", f"{where}: unknown language {item_language!r}")
    return Item(item_id, code, item_language)


def _jsonl_records(path: Path):
    records, errors = [], []
    for lineno, line in enumerate(path.read_text(encoding="utf-8", errors="replace").splitlines(), 1):
        if not line.strip():
            continue
        where = f"{path.name}:{lineno}"
        try:
            records.append((where, json.loads(line)))
        except json.JSONDecodeError as err:
            errors.append(error_row(where, "unreadable", f"{where}: not JSON ({err.msg})"))
    return records, errors


def _parquet_records(path: Path):
    try:
        rows = pq.read_table(path).to_pylist()
    except Exception as err:  # noqa: BLE001 - pyarrow raises several types for a file that is not Parquet
        raise UserError(f"{path}: not a readable Parquet file ({err})") from None
    return [(f"{path.name}:{row_number}", row) for row_number, row in enumerate(rows, 1)], []


def _folder_records(folder: Path, language: str):
    records, errors = [], []
    for file in source_files([folder], language):
        name = ".".join(file.relative_to(folder).with_suffix("").parts)
        try:
            snippets = function_snippets(file, language, name=name)
        except (UnicodeDecodeError, OSError) as err:
            errors.append(error_row(name, "unreadable", f"{file}: {err}"))
            continue
        records.extend((str(file), {"id": s.snippet_id, "code": s.prompt, "language": language}) for s in snippets)
    return records, errors
