"""The codebook: every column of every exported table, with its type, unit and levels.

The columns come from :mod:`codeq.export_schema`, the schema the analysis reads by too;
``codebook()`` adds the per-study questionnaire columns of ``participants``.
"""

from __future__ import annotations

import pandas as pd

from codeq.export_schema import COLUMNS, Column, question_column


def question_columns(questions: list[dict]) -> list[Column]:
    """Describe the questionnaire columns of ``participants`` from the study's question list."""
    cols = []
    for q in questions:
        options = q.get("options") or []
        levels = "|".join(str(o.get("value", o)) if isinstance(o, dict) else str(o) for o in options)
        text = q.get("text") or q.get("label") or q["id"]
        cols.append(Column(question_column(q["id"]), "string", f"Questionnaire: {text}", levels=levels, free_text=True))
    return cols


def free_text_columns(table: str, df: pd.DataFrame) -> list[str]:
    """Return the columns of ``table`` that people typed into (questionnaire answers, reasons)."""
    named = [c.name for c in COLUMNS.get(table, []) if c.free_text]
    if table == "participants":
        named += [name for name in df.columns if name.startswith(question_column(""))]
    return named


def codebook(questions: list[dict], tables: dict[str, pd.DataFrame]) -> pd.DataFrame:
    """Return the codebook, one row per (table, column); observed levels are read from ``tables``."""
    rows = []
    for table, cols in COLUMNS.items():
        if table == "participants":
            cols = cols + question_columns(questions)
        for c in cols:
            levels = c.levels
            if c.observed:
                levels = "|".join(sorted(tables[table][c.name].dropna().astype(str).unique()))
            rows.append(
                {
                    "table": table,
                    "column": c.name,
                    "type": c.type,
                    "unit": c.unit,
                    "levels": levels,
                    "description": c.description,
                }
            )
    return pd.DataFrame(rows, columns=["table", "column", "type", "unit", "levels", "description"])


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
        lines += [f"## {table}", "", "| column | type | unit | levels | description |", "|---|---|---|---|---|"]
        for r in rows.itertuples():
            cells = [r.column, r.type, r.unit, r.levels, r.description]
            lines.append("| " + " | ".join(str(c).replace("|", "\\|") for c in cells) + " |")
        lines.append("")
    return "\n".join(lines)
