"""The pages around the tasks: study link, consent, questionnaire, tutorial, end and resume."""

from __future__ import annotations

import secrets
from functools import wraps

from flask import abort, g, redirect, render_template, request, session, url_for
from markdown_it import MarkdownIt
from markupsafe import Markup
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from study_app.extensions import db
from study_app.models import Participant, QuestionnaireAnswer, utcnow
from study_app.participant import bp
from study_app.participant.forms import field_name, questionnaire_form
from study_app.participant.progress import current_participant, enroll, next_step, next_url, remember
from study_app.participant.randomization import short_code
from study_app.participant.tasks import render_task, saved_selection
from study_app.studies import latest_study

PROLIFIC_PARAMS = {"PROLIFIC_PID": "prolific_pid", "STUDY_ID": "prolific_study_id", "SESSION_ID": "prolific_session_id"}
markdown = MarkdownIt("commonmark", {"html": False})  # instrument text may not inject HTML


def participant_required(stage: str | None = None):
    """Load the browser's participant into ``g``; send them to their current page if not at ``stage``."""
    def decorator(view):
        @wraps(view)
        def wrapped(*args, **kwargs):
            g.participant = current_participant()
            if g.participant is None:
                return render_template("participant/message.html", title="No study in progress",
                                       text="Open the study link you were given, or resume with your code."), 403
            if stage is not None and g.participant.status != stage:
                return redirect(next_url(g.participant))
            return view(*args, **kwargs)
        return wrapped
    return decorator


@bp.get("/")
def index():
    return render_template("participant/message.html", title="Code study",
                           text="Open the study link you were given, or resume with your code.")


@bp.get("/s/<slug>")
def study_link(slug: str):
    """Show the consent page of a study, keeping any recruiter parameters for enrolment."""
    study = latest_study(slug) or abort(404)
    participant = current_participant()
    if participant is not None and participant.study.slug == slug and participant.status != "declined":
        return redirect(next_url(participant))
    session["prolific"] = {col: request.args.get(param, "")[:64] or None for param, col in PROLIFIC_PARAMS.items()}
    consent = Markup(markdown.render(study.config["consent"]))
    return render_template("participant/consent.html", study=study, consent=consent,
                           enrol_token=secrets.token_urlsafe(16))


def enrolled_with(study, token: str | None) -> Participant | None:
    if token is None:
        return None
    return db.session.scalar(select(Participant).where(Participant.study_id == study.id,
                                                       Participant.enrol_token == token))


def after_consent(participant: Participant):
    if participant.status == "declined":
        session.clear()
        return redirect(url_for("participant.declined"))
    remember(participant)
    return redirect(next_url(participant))


@bp.post("/s/<slug>/consent")
def consent(slug: str):
    """Enrol a participant who agrees; a decline stores only that someone declined.

    The form's ``enrol_token`` makes the POST idempotent: a browser that resends it (a lost reply,
    a double click) gets the participant the first POST created.
    """
    study = latest_study(slug) or abort(404)
    choice = request.form.get("choice")
    if choice not in ("agree", "decline"):
        abort(400, "choose 'agree' or 'decline'")
    token = request.form.get("enrol_token", "")[:32] or None
    earlier = enrolled_with(study, token)
    if earlier is not None:
        return after_consent(earlier)
    try:
        if choice == "decline":
            participant = Participant(study_id=study.id, public_id=short_code(24), resume_code=short_code(12),
                                      status="declined", enrol_token=token)
            db.session.add(participant)
            db.session.commit()
        else:
            participant = enroll(study, session.pop("prolific", None) or {}, enrol_token=token)
    except IntegrityError:
        db.session.rollback()  # the same form posted twice at once: the other request enrolled first
        participant = enrolled_with(study, token)
        if participant is None:
            raise
    return after_consent(participant)


@bp.get("/declined")
def declined():
    return render_template("participant/message.html", title="Thank you",
                           text="You chose not to take part. Nothing else was recorded. You can close this page.")


@bp.route("/questionnaire", methods=["GET", "POST"])
@participant_required("consented")
def questionnaire():
    """Ask the instrument's background questions."""
    p = g.participant
    questions = p.study.config["questions"]
    form = questionnaire_form(questions)
    if form.validate_on_submit():
        for q in questions:
            value = form[field_name(q["id"])].data
            db.session.add(QuestionnaireAnswer(participant_id=p.id, question_id=q["id"],
                                               value="" if value is None else str(value)))
        p.status = "questionnaire"
        db.session.commit()
        return redirect(next_url(p))
    return render_template("participant/questionnaire.html", form=form, questions=questions,
                           field_name=field_name, participant=p)


@bp.route("/tutorial", methods=["GET", "POST"])
@participant_required("questionnaire")
def tutorial():
    """Run the practice task, then show feedback with the model's own choice; POST starts the tasks."""
    p = g.participant
    assignment = p.assignments[0]
    if request.method == "POST":
        if saved_selection(assignment, 1) is None:
            return redirect(url_for("participant.tutorial"))
        p.status = "tutorial"
        db.session.commit()
        return redirect(next_url(p))
    if saved_selection(assignment, 1) is None:
        return render_task(p, assignment, phase=1)
    return render_task(p, assignment, phase=1, feedback=True)


@bp.get("/end")
@participant_required()
def end():
    """Thank the participant, give the completion code and the way back to the recruiter."""
    p = g.participant
    if p.status not in ("tutorial", "tasks", "finished") or next_step(p) is not None:
        return redirect(next_url(p))
    if p.status != "finished":
        p.status, p.finished_at = "finished", utcnow()
        p.completion_code = p.study.config["study"].get("completion_code") or short_code()
        db.session.commit()
    redirect_url = p.study.config["study"].get("completion_redirect", "").replace("{code}", p.completion_code)
    return render_template("participant/end.html", participant=p, redirect_url=redirect_url)


@bp.route("/resume", methods=["GET", "POST"])
def resume():
    """Continue on another device (or after clearing cookies) with the resume code."""
    error = None
    if request.method == "POST":
        code = request.form.get("code", "").upper().replace("-", "").replace(" ", "")
        participant = db.session.scalar(select(Participant).where(
            Participant.resume_code == code, Participant.status != "declined"))
        if participant is not None:
            remember(participant)
            return redirect(next_url(participant))
        error = "No study in progress has this code. Check it and try again."
    return render_template("participant/resume.html", error=error), 400 if error else 200
