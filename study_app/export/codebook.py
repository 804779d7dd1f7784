"""The codebook: every column of every exported table, with its type, unit and levels.

The columns come from :mod:`contract.export_schema`, the schema the analysis reads by too;
``export_columns()`` adds the per-study questionnaire columns of ``participants`` and the levels
found in the export; ``codebook()`` describes those.
"""

from __future__ import annotations

from dataclasses import replace

import pandas as pd

from contract.export_schema import COLUMNS, FOREIGN_KEYS, PRIMARY_KEYS, Column, question_column
from contract.study_definition import Question

CODEBOOK_COLUMNS = ["table", "column", "type", "unit", "levels", "range", "description"]


def question_columns(questions: list[Question]) -> list[Column]:
    """Describe the questionnaire columns of ``participants`` from the study's question list."""
    cols = []
    for q in questions:
        levels = tuple(str(o) for o in q.options or ())
        text = q.text or q.id
        cols.append(Column(question_column(q.id), "string", f"Questionnaire: {text}", levels=levels, free_text=True))
    return cols


def free_text_columns(table: str, df: pd.DataFrame) -> list[str]:
    """Return the columns of ``table`` that people typed into (questionnaire answers, reasons)."""
    named = [c.name for c in COLUMNS.get(table, []) if c.free_text]
    if table == "participants":
        named += [name for name in df.columns if name.startswith(question_column(""))]
    return named


def export_columns(questions: list[Question], tables: dict[str, pd.DataFrame]) -> dict[str, list[Column]]:
    """Return every table's columns as exported: the questionnaire columns added, observed levels read from ``tables``."""
    out = {}
    for table, cols in COLUMNS.items():
        if table == "participants":
            cols = cols + question_columns(questions)
        out[table] = [
            replace(c, levels=tuple(sorted(tables[table][c.name].dropna().astype(str).unique()))) if c.observed else c
            for c in cols
        ]
    return out


def codebook(columns: dict[str, list[Column]]) -> pd.DataFrame:
    """Return the codebook of tables with ``columns`` (:func:`export_columns`), one row per (table, column)."""
    rows = [
        {
            "table": table,
            "column": c.name,
            "type": c.type,
            "unit": c.unit,
            "levels": "|".join(map(str, c.levels)),
            "range": value_range(c),
            "description": c.description,
        }
        for table, cols in columns.items()
        for c in cols
    ]
    return pd.DataFrame(rows, columns=CODEBOOK_COLUMNS)


def value_range(c: Column) -> str:
    """Return the known range of a column as text (``1-5``, ``>= 0``), or ``""``."""
    if c.minimum is not None and c.maximum is not None:
        return f"{c.minimum:g} to {c.maximum:g}"
    if c.minimum is not None:
        return f">= {c.minimum:g}"
    return f"<= {c.maximum:g}" if c.maximum is not None else ""


def codebook_markdown(book: pd.DataFrame) -> str:
    """Render the codebook as Markdown, one section per table."""
    lines = [
        "# Codebook",
        "",
        (
            "Empty cells are missing values. Times are UTC. In CSV files, free-text cells "
            "(questionnaire answers, exclusion reasons) that start with = + - @ have a leading ' "
            "so that spreadsheets show them as text instead of running them as formulas."
        ),
        "",
    ]
    for table, rows in book.groupby("table", sort=False):
        lines += [f"## {table}", "", key_sentence(table), ""]
        lines += ["| " + " | ".join(CODEBOOK_COLUMNS[1:]) + " |", "|---" * 6 + "|"]
        for r in rows.itertuples():
            cells = [r.column, r.type, r.unit, r.levels, r.range, r.description]
            lines.append("| " + " | ".join(str(c).replace("|", "\\|") for c in cells) + " |")
        lines.append("")
    return "\n".join(lines + ERASER_SECTION)


def key_sentence(table: str) -> str:
    """Say which columns identify a row of ``table`` and which rows of other tables they name."""
    key = PRIMARY_KEYS[table]
    said = f"One row per {', '.join(key)}." if key else "No key: one row per event."
    for fk in FOREIGN_KEYS[table]:
        said += f" Every {', '.join(fk.columns)} is one of `{fk.table}`."
    return said


ERASER_SECTION = [
    "## eraser/",
    "",
    (
        "ERASER files (DeYoung et al., ACL 2020) for `rationale_benchmark` as it is: `docs.jsonl` holds one "
        "`{docid, document}` per task, the document being the task's code units in unit order, one token per "
        "unit, joined by single spaces on one line, so token i is `unit_index` i of `units`. `test.jsonl` holds "
        "one annotation per phase-1 response (`annotation_id` = participant_id:task_id); each maximal run of "
        "selected units is one evidence, and its `text` is its tokens joined by single spaces. `train.jsonl` and "
        "`val.jsonl` are empty. `predictions/<explainer>.jsonl` holds, per annotation, the explainer's "
        "`hard_rationale_predictions` (the runs of its set, `model_rationales.in_rationale`) and "
        "`soft_rationale_predictions` (`model_rationales.score` per token; units outside the selectable range "
        "get the task's lowest score minus 1)."
    ),
    "",
    (
        "Tokens: a unit's text with each space written `\u2420` (U+2420), each line end `\u21b5` (U+21B5), "
        "each tab `\u21e5` (U+21E5), each carriage return `\u240d` (U+240D); any other whitespace character, "
        "and any of these symbols or `\u241b` (U+241B) found in the code itself, is `\u241b` followed by its "
        "code point in six hexadecimal digits; an empty unit is `\u241b` alone. "
        "`contract.eraser_tokens.unit_text(token)` gives the exact unit text back."
    ),
    "",
]
