"""Load and validate an exported study: tidy tables as CSV, Parquet or JSON Lines in one folder
(or in the zip the admin page and ``flask export out.zip`` write).

Every problem raises :class:`ExportError` with a one-line message naming the file, the column and
the first bad row. Rows are counted from 1 after the header (row N of a CSV is line N + 1).
"""

from __future__ import annotations

import logging
import tempfile
import zipfile
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

from contract.errors import UserError
from contract.export_schema import (
    ANALYSIS_OPTIONAL_TABLES,
    ANALYSIS_TABLES,
    COLUMNS,
    FOREIGN_KEYS,
    PRIMARY_KEYS,
    column,
    is_filled,
    required_columns,
    text_columns,
)

FORMATS = (".parquet", ".csv", ".jsonl")
# The tables and columns read, from the export schema the study app writes by.
REQUIRED = {name: required_columns(name) for name in ANALYSIS_TABLES}
OPTIONAL = {name: required_columns(name) for name in ANALYSIS_OPTIONAL_TABLES}
# Read as text whatever they look like: ids such as "007" and code units such as "None" or "NA"
# must survive a CSV round trip (pandas would turn the latter into missing values).
TEXT_COLUMNS = text_columns()
GREEDY = "greedy"  # the explainer whose set is "the model's rationale" in the alignment statistics
ID_COLUMNS = ("participant_id", "task_id")  # categorical: millions of rows, few distinct values
UNIT_KEY = PRIMARY_KEYS["units"]  # (task_id, unit_index): what selections and model rationales name

log = logging.getLogger(__name__)
NO_KINDS = (
    "the export has no responses table with a kind column: tutorial and attention-check answers "
    "cannot be told from main tasks and are analysed as main tasks"
)


class ExportError(UserError):
    """An export table is missing, malformed or inconsistent; the message names file, column, row."""


@dataclass
class Export:
    """The validated tables of one export; selections of excluded participants already dropped."""

    units: pd.DataFrame
    selections: pd.DataFrame
    model_rationales: pd.DataFrame
    participants: pd.DataFrame | None = None
    responses: pd.DataFrame | None = None
    files: dict[str, Path] = field(default_factory=dict)
    excluded: list[str] = field(default_factory=list)  # participant ids dropped as excluded
    other_kinds: dict[str, int] = field(default_factory=dict)  # responses dropped by kind (tutorial, attention)
    # participant id -> attention checks failed, for every participant who answered one (None: the
    # export has no attention_passed column)
    attention_failures: dict[str, int] | None = None
    # every explainer's rows of model_rationales (explainer, unit_index, score, in_rationale, ...);
    # ``model_rationales`` itself keeps the greedy rows only. An export without an explainer column
    # is all greedy, its score the 0/1 of in_rationale.
    explainer_scores: pd.DataFrame | None = None
    faithfulness: pd.DataFrame | None = None  # the explainers table: task x explainer faithfulness
    warnings: list[str] = field(default_factory=list)  # what the analysis could not tell from this export


def find_table(folder: Path, name: str) -> Path | None:
    """Return ``folder/<name>.<ext>`` for the first format present, or None."""
    for ext in FORMATS:
        path = folder / f"{name}{ext}"
        if path.is_file():
            return path
    return None


def read_table(path: Path, columns: tuple[str, ...] = ()) -> pd.DataFrame:
    """Read one table, keep text columns as strings and check that ``columns`` are present."""
    path = Path(path)
    try:
        if path.suffix == ".parquet":
            df = pd.read_parquet(path)
        elif path.suffix == ".csv":
            df = pd.read_csv(path, dtype={c: str for c in TEXT_COLUMNS}, keep_default_na=False, na_values=[""])
        elif path.suffix == ".jsonl":
            df = pd.read_json(path, lines=True, dtype={c: str for c in TEXT_COLUMNS})
        else:
            raise ExportError(f"{path.name}: unknown format (expected one of {', '.join(FORMATS)})")
    except (ValueError, OSError) as e:
        if isinstance(e, ExportError):
            raise
        raise ExportError(f"{path.name}: cannot be read ({str(e).splitlines()[0]})") from None
    return _normalize(df, path, columns)


def _normalize(df: pd.DataFrame, path: Path, columns: tuple[str, ...]) -> pd.DataFrame:
    """Check that ``columns`` are present and give the text columns their types (ids categorical)."""
    missing = [c for c in columns if c not in df.columns]
    if missing:
        raise ExportError(f"{path.name}: missing column '{missing[0]}' (has: {', '.join(map(str, df.columns))})")
    for c in TEXT_COLUMNS:
        if c in df.columns:
            df[c] = df[c].astype("str").astype("category") if c in ID_COLUMNS else df[c].astype("str")
    return df.reset_index(drop=True)


def _fail(path: Path, column: str, mask, problem) -> None:
    """Raise for the first True row of ``mask``; ``problem`` maps that row's position to a phrase."""
    bad = np.flatnonzero(np.asarray(mask))
    if bad.size:
        raise ExportError(f"{path.name}: column '{column}', row {bad[0] + 1}: {problem(bad[0])}")


def _show(value) -> str:
    """Quote text, print numbers plainly (``2``, not ``np.int64(2)``)."""
    return repr(value) if isinstance(value, str) else str(getattr(value, "item", lambda: value)())


def _check_filled(df: pd.DataFrame, path: Path, columns: tuple[str, ...]) -> None:
    for c in columns:
        _fail(path, c, df[c].isna(), lambda i: "empty value")


def _as_int(df: pd.DataFrame, path: Path, table: str, name: str) -> None:
    """Convert column ``name`` to int in place; values that are not non-negative integers (or not among
    the column's levels in the export schema) are errors."""
    raw = df[name]
    num = pd.to_numeric(raw, errors="coerce")
    bad = num.isna() | (num != np.floor(num)) | (num < 0)
    what = "a non-negative integer"
    allowed = column(table, name).levels
    if allowed:
        bad |= ~num.isin(allowed)
        what = " or ".join(map(str, allowed))
    _fail(path, name, bad, lambda i: f"value {_show(raw.iloc[i])} is not {what}")
    df[name] = num.astype(np.int64)


def _check_columns(df: pd.DataFrame, path: Path, table: str) -> None:
    """Check the columns the analysis reads: filled text columns not empty, integer columns integers in their levels."""
    for c in COLUMNS[table]:
        if not c.required or c.name not in df.columns:
            continue
        if c.type == "string" and is_filled(table, c):
            _check_filled(df, path, (c.name,))
        elif c.type == "integer":
            _as_int(df, path, table, c.name)


def _task_codes(df: pd.DataFrame, tasks: pd.Index) -> np.ndarray:
    """Position of each row's task in ``tasks`` (-1 where unknown), from the categorical codes."""
    positions = tasks.get_indexer(df["task_id"].cat.categories)
    return np.append(positions, -1)[df["task_id"].cat.codes.to_numpy()]  # code -1 (missing) maps to -1


def _unit_key(code: np.ndarray, index: np.ndarray, width: int) -> np.ndarray:
    """One int64 per (task, unit) row, -1 where the task is unknown or the index out of range."""
    return np.where((code < 0) | (index >= width), -1, code.astype(np.int64) * width + index)


def _check_known(df: pd.DataFrame, path: Path, tasks: pd.Index, unit_keys: np.ndarray, width: int) -> np.ndarray:
    """Raise for a row naming an unknown task or unit; give the table the units' task dtype; return the row keys."""
    code = _task_codes(df, tasks)
    _fail(path, "task_id", code < 0, lambda i: f"unknown task {df['task_id'].iloc[i]!r} (not in units)")
    key = _unit_key(code, df["unit_index"].to_numpy(), width)
    _fail(
        path,
        "unit_index",
        ~np.isin(key, unit_keys),
        lambda i: f"unknown unit {df['unit_index'].iloc[i]} of task {df['task_id'].iloc[i]!r} (not in units)",
    )
    # one categorical dtype for task ids in every table: joins and groupbys then work on integer codes
    df["task_id"] = df["task_id"].cat.set_categories(tasks)
    return key


def _row_keys(df: pd.DataFrame, columns: tuple[str, ...]) -> np.ndarray:
    """One int64 per row, equal for rows with equal values in ``columns`` (categorical codes and
    checked non-negative integers combined in mixed radix: ten times faster than ``duplicated``)."""
    key = np.zeros(len(df), dtype=np.int64)
    for c in columns:
        values = df[c]
        if isinstance(values.dtype, pd.CategoricalDtype):
            codes, size = values.cat.codes.to_numpy().astype(np.int64), len(values.cat.categories)
        elif values.dtype.kind == "i" and (values.empty or values.min() >= 0):
            codes = values.to_numpy().astype(np.int64)
            size = int(codes.max()) + 1 if len(codes) else 1
        else:
            codes, uniques = pd.factorize(values)
            size = len(uniques)
        key = key * (size + 1) + codes  # + 1: code -1 (missing) stays apart
    return key


def _check_unique(df: pd.DataFrame, path: Path, table: str) -> None:
    """Raise for the first row repeating another's primary key (export schema)."""
    key = PRIMARY_KEYS[table]
    duplicated = pd.Index(_row_keys(df, key)).duplicated()
    _fail(path, key[-1], duplicated, lambda i: f"duplicate row for {', '.join(key)}")


def load_export(folder, keep_excluded: bool = False) -> Export:
    """Load and validate the tables of an export folder.

    Parameters
    ----------
    folder : str or pathlib.Path
        A folder holding ``units``, ``selections`` and ``model_rationales`` (required) and
        ``participants``, ``responses`` (optional), each as ``.parquet``, ``.csv`` or ``.jsonl``;
        or a zip of such a folder (tables at its root or in its one top-level folder).
    keep_excluded : bool
        Keep participants marked ``excluded == 1`` in ``participants``; by default their selections
        are dropped and their ids listed in ``Export.excluded``. Independently, when ``responses``
        has a ``kind`` column, selections of responses whose kind is not ``"main"`` (tutorial,
        attention checks) are dropped and counted in ``Export.other_kinds``.

    Returns
    -------
    Export

    Raises
    ------
    ExportError
        A table is missing or unreadable, a column is missing, a value is not 0/1 or not an
        integer, an id is empty, a row names a task or unit absent from ``units``, a key repeats,
        or a human selected a unit that is not selectable.
    """
    folder = Path(folder)
    if folder.is_file() and zipfile.is_zipfile(folder):
        return _load_zip(folder, keep_excluded)
    if not folder.is_dir():
        raise ExportError(f"{folder}: not a folder or a zip of one")
    files, tables = {}, {}
    for name, columns in {**REQUIRED, **OPTIONAL}.items():
        path = find_table(folder, name)
        if path is None:
            if name in REQUIRED:
                raise ExportError(f"{folder}: no {name}.parquet, {name}.csv or {name}.jsonl")
            continue
        files[name], tables[name] = path, read_table(path, columns)
    return _checked(tables, files, keep_excluded)


def export_from_tables(tables: dict[str, pd.DataFrame], keep_excluded: bool = False) -> Export:
    """Validate export tables held in memory (e.g. by the study app) exactly as :func:`load_export` does.

    Parameters
    ----------
    tables : dict of pandas.DataFrame
        By table name, with the columns :func:`load_export` requires; the frames are copied, not changed.
        Tables other than ``units, selections, model_rationales, participants, responses`` are ignored.
    keep_excluded : bool
        As in :func:`load_export`.

    Returns
    -------
    Export
        ``files`` maps each table to a bare name (``Path("selections")``), which error messages cite.
    """
    missing = [name for name in REQUIRED if name not in tables]
    if missing:
        raise ExportError(f"no {missing[0]} table")
    files = {name: Path(name) for name in {**REQUIRED, **OPTIONAL} if name in tables}
    frames = {name: _normalize(tables[name].copy(), files[name], {**REQUIRED, **OPTIONAL}[name]) for name in files}
    return _checked(frames, files, keep_excluded)


def _checked(tables: dict[str, pd.DataFrame], files: dict[str, Path], keep_excluded: bool) -> Export:
    """Validate the tables, drop excluded participants (unless kept) and non-main tasks."""
    units, sel, rat = tables["units"], tables["selections"], tables["model_rationales"]
    legacy = "explainer" not in rat.columns  # an export made before explainers existed: every row is greedy's
    if legacy:
        rat = tables["model_rationales"] = rat.assign(explainer=GREEDY)
    for name, df in tables.items():
        _check_columns(df, files[name], name)
    for name, df in tables.items():
        if set(PRIMARY_KEYS[name]) <= set(df.columns):
            _check_unique(df, files[name], name)
    tasks = units["task_id"].cat.categories
    width = int(units["unit_index"].max()) + 1 if len(units) else 1
    unit_keys = _unit_key(units["task_id"].cat.codes.to_numpy(), units["unit_index"].to_numpy(), width)
    # The references to units are checked; those to participants are not: a participants table made
    # by hand may list only the participants it excludes.
    row_keys = {
        name: _check_known(df, files[name], tasks, unit_keys, width)
        for name, df in tables.items()
        if any(fk.columns == UNIT_KEY and fk.table == "units" for fk in FOREIGN_KEYS[name])
    }
    not_selectable = unit_keys[units["selectable"].to_numpy() == 0]
    _fail(
        files["selections"],
        "selected",
        (sel["selected"].to_numpy() == 1) & np.isin(row_keys["selections"], not_selectable),
        lambda i: f"unit {sel['unit_index'].iloc[i]} of task {sel['task_id'].iloc[i]!r} is not selectable",
    )
    scores = rat.assign(score=rat["in_rationale"].astype(float)) if legacy else rat
    rat = rat[rat["explainer"] == GREEDY].drop(columns="explainer").reset_index(drop=True)

    export = Export(
        units,
        sel,
        rat,
        tables.get("participants"),
        tables.get("responses"),
        files,
        explainer_scores=scores,
        faithfulness=tables.get("explainers"),
    )
    if export.participants is not None and "excluded" in export.participants.columns:
        _drop_excluded(export, export.participants, keep_excluded)
    if export.responses is not None and "kind" in export.responses.columns:
        _keep_main_tasks(export, export.responses)
    else:
        export.warnings.append(NO_KINDS)
        log.warning(NO_KINDS)
    return export


def _load_zip(path: Path, keep_excluded: bool) -> Export:
    """Unpack the zip into a temporary folder and load that; messages name the zip, not the folder."""
    with tempfile.TemporaryDirectory() as tmp:
        with zipfile.ZipFile(path) as archive:
            archive.extractall(tmp)  # zipfile drops absolute paths and '..' from member names
        root = Path(tmp)
        inner = [p for p in root.iterdir() if p.is_dir()]
        if find_table(root, "units") is None and len(inner) == 1:
            root = inner[0]
        try:
            return load_export(root, keep_excluded)
        except ExportError as err:
            raise ExportError(f"{path}: {str(err).replace(f'{root}: ', '')}") from None


def _keep_main_tasks(export: Export, responses: pd.DataFrame) -> None:
    """Keep only selections of main tasks (``responses`` tells their kinds): tutorial and attention-check
    answers are not data."""
    kind = responses["kind"].astype("str")
    other = responses[kind.notna() & (kind != "main")]
    if other.empty:
        return
    export.other_kinds = (
        other.drop_duplicates(["participant_id", "task_id"])["kind"].astype("str").value_counts().to_dict()
    )
    checks = other[other["kind"].astype("str") == "attention"].drop_duplicates(["participant_id", "task_id"])
    if "attention_passed" in checks.columns and not checks.empty:
        failed = pd.to_numeric(checks["attention_passed"], errors="coerce") == 0
        export.attention_failures = failed.groupby(checks["participant_id"].astype("str")).sum().astype(int).to_dict()
    export.selections = export.selections[~_in_pairs(export.selections, other)].reset_index(drop=True)


def _in_pairs(frame: pd.DataFrame, pairs: pd.DataFrame, columns=("participant_id", "task_id")) -> np.ndarray:
    """Which rows of ``frame`` have their ``columns``, compared as strings, equal to those of a row of ``pairs``.

    The millions of rows of ``frame`` are compared by integer codes; only its distinct values and the
    few rows of ``pairs`` are turned into strings.
    """
    rows, wanted = np.zeros(len(frame), dtype=np.int64), np.zeros(len(pairs), dtype=np.int64)
    known = np.ones(len(pairs), dtype=bool)
    for name in columns:
        values = frame[name]
        if isinstance(values.dtype, pd.CategoricalDtype):
            codes, levels = values.cat.codes.to_numpy(np.int64), values.cat.categories
        else:
            codes, levels = pd.factorize(values)
        found = pd.Index(pd.Index(levels).astype("str")).get_indexer(pairs[name].astype("str"))
        known &= found >= 0
        # code -1 (missing) becomes 0, matched by no pair: a pair's value found among the levels is >= 1
        rows, wanted = rows * (len(levels) + 1) + codes + 1, wanted * (len(levels) + 1) + found + 1
    return np.isin(rows, wanted[known])


def _drop_excluded(export: Export, participants: pd.DataFrame, keep: bool) -> None:
    """Validate ``participants.excluded`` (empty counts as 0) and, unless ``keep``, drop those participants."""
    flags = participants[["excluded"]].fillna(0)
    _as_int(flags, export.files["participants"], "participants", "excluded")
    export.excluded = sorted(participants.loc[flags["excluded"] == 1, "participant_id"].unique())
    if keep or not export.excluded:
        return
    export.selections = export.selections[~export.selections["participant_id"].isin(export.excluded)].reset_index(
        drop=True
    )
    if export.responses is not None:
        export.responses = export.responses[~export.responses["participant_id"].isin(export.excluded)].reset_index(
            drop=True
        )
