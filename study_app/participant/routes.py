"""The pages around the tasks: study link, consent, questionnaire, tutorial, end and resume."""

from __future__ import annotations

import hmac
import re
import secrets
from functools import wraps

from flask import abort, g, redirect, render_template, request, session, url_for
from markdown_it import MarkdownIt
from markupsafe import Markup
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from study_app.extensions import db
from study_app.limits import RESUME_LIMITS, RESUME_MESSAGE, limiter
from study_app.models import Participant, QuestionnaireAnswer, Study
from study_app.participant import bp
from study_app.participant.forms import field_name, questionnaire_form
from study_app.participant.outcomes import ending_page, finish, screened_out
from study_app.participant.progress import (
    StudyFullError,
    current_participant,
    enroll,
    is_full,
    next_step,
    next_url,
    remember,
    touch,
)
from study_app.participant.randomization import RESUME_CODE_CHARS, short_code
from study_app.participant.tasks import render_task, saved_selection
from study_app.studies import latest_study

PROLIFIC_PID = re.compile(r"[0-9a-f]{24}")
RECRUITER_ID = re.compile(r"[A-Za-z0-9_-]{1,64}")
PROLIFIC_PARAMS = {"PROLIFIC_PID": "prolific_pid", "STUDY_ID": "prolific_study_id", "SESSION_ID": "prolific_session_id"}
markdown = MarkdownIt("commonmark", {"html": False})  # instrument text may not inject HTML


def participant_required(stage: str | None = None):
    """Load the browser's participant into ``g``; send them to their current page if not at ``stage``."""

    def decorator(view):
        @wraps(view)
        def wrapped(*args, **kwargs):
            g.participant = current_participant()
            if g.participant is None:
                return render_template(
                    "participant/message.html",
                    title="No study in progress",
                    text="Open the study link you were given, or resume with your code.",
                ), 403
            if stage is not None and g.participant.status != stage:
                return redirect(next_url(g.participant))
            return view(*args, **kwargs)

        return wrapped

    return decorator


@bp.get("/")
def index():
    return render_template(
        "participant/message.html",
        title="Code study",
        text="Open the study link you were given, or resume with your code.",
    )


def recruiter_ids() -> dict[str, str | None] | str:
    """Return the recruiter parameters of the study link by column, or why they are invalid."""
    ids = {col: request.args.get(param) or None for param, col in PROLIFIC_PARAMS.items()}
    if ids["prolific_pid"] is not None and not PROLIFIC_PID.fullmatch(ids["prolific_pid"]):
        return "The PROLIFIC_PID in this link is not a Prolific ID (24 characters 0-9 and a-f)."
    if any(v is not None and not RECRUITER_ID.fullmatch(v) for v in ids.values()):
        return "STUDY_ID and SESSION_ID may hold only letters, digits, '-' and '_' (at most 64)."
    return ids


def enrolled_recruit(slug: str, prolific_pid: str | None) -> Participant | None:
    """Return the participant this recruiter id already has in any version of study ``slug``."""
    if prolific_pid is None:
        return None
    return db.session.scalar(
        select(Participant)
        .join(Participant.study)
        .where(Study.slug == slug, Participant.prolific_pid == prolific_pid)
        .order_by(Participant.id)
        .limit(1)
    )


def welcome_back(participant: Participant):
    """Resume a recruit who opened the study link again, or tell them they already took part."""
    if participant.status == "finished":
        session.clear()
        return render_template(
            "participant/message.html",
            title="You already took part",
            text="You have already completed this study, so you cannot take it again. Thank you for your help.",
        ), 409
    remember(participant)
    return redirect(next_url(participant))


@bp.get("/s/<slug>")
def study_link(slug: str):
    """Show the consent page of a study.

    Recruiter parameters are checked, kept in the session and taken out of the address bar (a
    redirect), so they reach neither access logs of later requests nor the next page's Referer. A
    recruit who already has a participant in the study continues it.
    """
    study = latest_study(slug) or abort(404)
    if request.args:
        ids = recruiter_ids()
        if isinstance(ids, str):
            return render_template(
                "participant/message.html",
                title="This study link is not valid",
                text=f"{ids} Open the study again from the recruiting site, or write to "
                f"{study.definition.study.contact}.",
            ), 400
        earlier = enrolled_recruit(slug, ids["prolific_pid"])
        if earlier is not None:
            return welcome_back(earlier)
        session["prolific"] = ids
        return redirect(url_for("participant.study_link", slug=slug))
    participant = current_participant()
    if participant is not None and participant.study.slug == slug and participant.status != "declined":
        return redirect(next_url(participant))
    if is_full(study):
        return ending_page(study, "full", None)
    consent = Markup(markdown.render(study.definition.consent))
    # the consent form's token is bound to this session: a token seen elsewhere enrols no one
    session["enrol_token"] = secrets.token_urlsafe(16)
    return render_template("participant/consent.html", study=study, consent=consent, enrol_token=session["enrol_token"])


def enrolled_with(study, token: str | None) -> Participant | None:
    if token is None:
        return None
    return db.session.scalar(
        select(Participant).where(Participant.study_id == study.id, Participant.enrol_token == token)
    )


def after_consent(participant: Participant):
    if participant.status == "declined":
        session.clear()
        return redirect(url_for("participant.declined"))
    session.pop("prolific", None)
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
    if token is None or not hmac.compare_digest(token, session.get("enrol_token", "")):
        abort(400, "This consent form has expired. Open the study link again.")
    earlier = enrolled_with(study, token)
    if earlier is not None:
        return after_consent(earlier)
    prolific = session.get("prolific") or {}
    recruit = enrolled_recruit(slug, prolific.get("prolific_pid"))
    if recruit is not None:
        return welcome_back(recruit)
    try:
        if choice == "decline":
            participant = Participant(
                study_id=study.id,
                public_id=short_code(24),
                resume_code=short_code(RESUME_CODE_CHARS),
                status="declined",
                enrol_token=token,
            )
            db.session.add(participant)
            db.session.commit()
        else:
            participant = enroll(study, prolific, enrol_token=token)
    except StudyFullError:
        session.pop("prolific", None)
        return ending_page(study, "full", None)
    except IntegrityError:
        # the same form posted twice at once, or the same recruit in two browsers: the other won
        db.session.rollback()
        participant = enrolled_with(study, token) or enrolled_recruit(slug, prolific.get("prolific_pid"))
        if participant is None:
            raise
        if participant.enrol_token != token:
            return welcome_back(participant)
    return after_consent(participant)


@bp.get("/declined")
def declined():
    return render_template(
        "participant/message.html",
        title="Thank you",
        text="You chose not to take part. Nothing else was recorded. You can close this page.",
    )


@bp.route("/questionnaire", methods=["GET", "POST"])
@participant_required("consented")
def questionnaire():
    """Ask the instrument's background questions."""
    p = g.participant
    questions = p.study.definition.questions
    form = questionnaire_form(questions)
    if form.validate_on_submit():
        answers = {}
        for q in questions:
            value = form[field_name(q.id)].data
            answers[q.id] = "" if value is None else str(value)
            db.session.add(QuestionnaireAnswer(participant_id=p.id, question_id=q.id, value=answers[q.id]))
        p.status = "questionnaire"
        touch(p)
        try:
            db.session.commit()
        except IntegrityError:  # the form was sent twice at once: the other request stored the answers
            db.session.rollback()
            return redirect(next_url(p))
        if screened_out(questions, answers):
            finish(p, "screened_out")
        return redirect(next_url(p))
    return render_template(
        "participant/questionnaire.html", form=form, questions=questions, field_name=field_name, participant=p
    )


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
        touch(p)
        db.session.commit()
        return redirect(next_url(p))
    if saved_selection(assignment, 1) is None:
        return render_task(p, assignment, phase=1)
    return render_task(p, assignment, phase=1, feedback=True)


@bp.get("/end")
@participant_required()
def end():
    """Thank the participant, give their outcome's code and the way back to the recruiter."""
    p = g.participant
    if p.status != "finished":
        if p.status not in ("tutorial", "tasks") or next_step(p) is not None:
            return redirect(next_url(p))
        finish(p, "completed")
    return ending_page(p.study, p.outcome or "completed", p.completion_code)


@bp.route("/resume", methods=["GET", "POST"])
@limiter.limit(RESUME_LIMITS, methods=["POST"], error_message=RESUME_MESSAGE)
def resume():
    """Continue on another device (or after clearing cookies) with the resume code."""
    error = None
    if request.method == "POST":
        code = request.form.get("code", "").upper().replace("-", "").replace(" ", "")
        participant = db.session.scalar(
            select(Participant).where(Participant.resume_code == code, Participant.status != "declined")
        )
        if participant is not None:
            remember(participant)
            return redirect(next_url(participant))
        error = "No study in progress has this code. Check it and try again."
    return render_template("participant/resume.html", error=error), 400 if error else 200
