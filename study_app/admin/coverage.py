"""The coverage page: usable answers per task against the target, where people leave, outcomes.

Every figure comes from :mod:`analysis.coverage` on the export tables (test participants left out),
so the page and a script on an export agree.
"""

from __future__ import annotations

from flask import redirect, render_template, url_for

from analysis.coverage import dropouts_by_step, outcome_counts, task_coverage
from study_app.admin import bp
from study_app.admin.forms import ConfirmForm
from study_app.admin.routes import chosen_slug, records, study_tables
from study_app.models import utcnow
from study_app.studies import latest_study


@bp.get("/coverage")
def coverage():
    slug = chosen_slug()
    if slug is None:
        return redirect(url_for("admin.dashboard"))
    study = latest_study(slug)
    rows, tables = study_tables(slug)
    main_ids = [t.task_id for t in study.tasks if t.kind == "main"]
    target = study.definition.study.answers_per_task
    inactive = study.definition.study.inactive_after
    people, answers = tables["participants"], tables["responses"]
    return render_template(
        "admin/coverage.html",
        slug=slug,
        target=target,
        inactive=inactive,
        tasks=records(task_coverage(people, answers, main_ids, target)),
        dropouts=records(dropouts_by_step(people, answers, utcnow(), inactive)),
        outcomes=records(outcome_counts(people)),
        test_form=ConfirmForm(),
    )
