"""Trying a study before launch: a preview that stores nothing, and test participants.

The preview walks through every task of the newest version (tutorial, main tasks, attention
checks) on the participants' own page; its answers and telemetry go to endpoints that store
nothing. A test participant takes the study for real in the researcher's browser, counts for no
task and is left out of every export unless asked for.
"""

from __future__ import annotations

from flask import abort, jsonify, redirect, render_template, url_for

from study_app.admin import bp
from study_app.admin.forms import ConfirmForm
from study_app.admin.routes import chosen_slug
from study_app.models import Study
from study_app.participant.progress import enroll, next_url, remember
from study_app.participant.tasks import task_page
from study_app.studies import latest_study


def chosen_study() -> Study:
    return latest_study(chosen_slug() or "") or abort(404, "no study loaded")


@bp.get("/preview/<int:index>")
def preview(index: int):
    """Show task ``index`` of the study's tasks (0 is the tutorial) as a participant would see it."""
    study = chosen_study()
    if index >= len(study.tasks):
        return render_template(
            "participant/message.html",
            title="End of the preview",
            text=f"You have seen all {len(study.tasks)} tasks of {study.title}. Nothing was stored.",
        )
    state = {
        "selected": [],
        "answerUrl": url_for("admin.preview_answer", index=index),
        "eventsUrl": url_for("admin.preview_events"),
        "storageKey": f"codeq:preview:{study.id}:{index}",
    }
    return task_page(study, study.tasks[index], index, len(study.tasks) - 1, 1, "select", state)


@bp.post("/preview/<int:index>/answer")
def preview_answer(index: int):
    """Acknowledge a preview answer without storing it, pointing to the next task."""
    return jsonify(ok=True, next=url_for("admin.preview", index=index + 1))


@bp.post("/preview/events")
def preview_events():
    return jsonify(ok=True)


@bp.post("/test-participant")
def test_participant():
    """Enrol a test participant in this browser and send them to the questionnaire."""
    if not ConfirmForm().validate_on_submit():
        abort(400, "the form has expired; reload the page")
    participant = enroll(chosen_study(), {}, is_test=True)
    remember(participant)
    return redirect(next_url(participant))
