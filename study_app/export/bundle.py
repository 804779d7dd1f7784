"""Assemble a full export of one study: tables, codebook, linkage file and ERASER annotations."""

from __future__ import annotations

import logging
from datetime import UTC, datetime

from flask import current_app

from study_app.export.codebook import codebook, export_columns
from study_app.export.eraser import eraser_annotations, eraser_documents, eraser_predictions
from study_app.export.pseudonym import export_key
from study_app.export.tables import build_tables, find_slug, latest_tasks, linkage_table, load_rows
from study_app.export.writers import Export

log = logging.getLogger(__name__)


def build_export(slug: str | None = None, drop_excluded: bool = False, include_test: bool = False) -> Export:
    """Export study ``slug`` (the only study if None); leave excluded participants out if asked.

    Test participants (a researcher trying the study) are left out unless ``include_test``.
    """
    key = export_key(current_app.config)
    slug = find_slug(slug)
    rows = load_rows(slug, drop_excluded=drop_excluded, include_test=include_test)
    tables = build_tables(rows, key)
    log.info(
        "export of %s: %d participants, %d responses%s",
        slug,
        len(tables["participants"]),
        len(tables["responses"]),
        " (excluded left out)" if drop_excluded else "",
    )
    targets = {task_id: t["target"]["text"] for task_id, t in latest_tasks(rows).items()}
    annotations = eraser_annotations(tables, targets)
    newest = rows.studies[-1]
    columns = export_columns(rows.questions, tables)
    return Export(
        tables=tables,
        columns=columns,
        codebook=codebook(columns),
        linkage=linkage_table(rows, key),
        eraser=annotations,
        documents=eraser_documents(tables["units"]),
        predictions=eraser_predictions(tables, annotations),
        slug=slug,
        title=newest.title,
        version=newest.version,
        created=datetime.now(UTC),
    )
