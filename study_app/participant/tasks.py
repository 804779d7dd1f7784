"""The annotation page and its JSON API: answers (one per assignment and phase) and telemetry."""

from __future__ import annotations

from flask import abort, jsonify, redirect, render_template, request, url_for
from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError

from contract.prepared_tasks import Task, selectable_of
from contract.study_definition import AttentionCheck
from study_app.extensions import db
from study_app.models import Assignment, Event, PageView, Participant, Response, Selection, Study, StudyTask, utcnow
from study_app.participant import bp
from study_app.participant.answers import (
    MAX_TASK_EVENTS,
    SELECTION_EVENTS,
    Answer,
    AnswerError,
    parse_answer,
    parse_events,
    read_json,
)
from study_app.participant.outcomes import failed_out, finish
from study_app.participant.progress import (
    TUTORIAL_POSITION,
    current_participant,
    next_step,
    next_url,
    phases,
    touch,
)
from study_app.participant.view import line_count, pieces


def saved_selection(assignment: Assignment, phase: int) -> list[int] | None:
    """Return the units stored with an answer, or None if that phase is unanswered."""
    for r in assignment.responses:
        if r.phase == phase:
            return [s.unit_index for s in r.selections]
    return None


def draft_selection(participant: Participant, assignment: Assignment) -> tuple[list, int]:
    """Return the selection the browser last reported for an unanswered phase (restored on reload)
    and its client time (0 if none); the page prefers a newer draft of its own local storage."""
    event = db.session.scalar(
        select(Event)
        .where(
            Event.participant_id == participant.id,
            Event.study_task_id == assignment.study_task_id,
            Event.kind.in_(SELECTION_EVENTS),
        )
        .order_by(Event.client_ts.desc(), Event.id.desc())
        .limit(1)
    )
    return (list(event.payload.get("selected", [])), event.client_ts or 0) if event is not None else ([], 0)


def attention_check(study: Study, study_task: StudyTask) -> AttentionCheck | None:
    if study_task.kind != "attention":
        return None
    return next(c for c in study.definition.attention_checks if c.id == study_task.task_id)


def shown_at(assignment: Assignment, phase: int):
    """Return when this phase was first served, recording it on the first view."""
    query = select(PageView).where(PageView.assignment_id == assignment.id, PageView.phase == phase)
    view = db.session.scalar(query)
    if view is None:
        db.session.add(PageView(assignment_id=assignment.id, phase=phase))
        try:
            db.session.commit()
        except IntegrityError:  # the page was opened twice at once: the other request recorded it first
            db.session.rollback()
        view = db.session.scalar(query)
    return view.shown_at


def task_page(
    study: Study,
    study_task: StudyTask,
    position: int,
    total: int,
    phase: int,
    mode: str,
    state: dict,
    participant: Participant | None = None,
):
    """Render the annotation page of one task; ``state`` adds the selection and the URLs to post to.

    ``mode``: select (the participant's choice), review (phase 2) or feedback (the tutorial's answer).
    ``participant``: whose resume code the page shows (None in the researcher's preview).
    """
    task = Task.from_dict(study_task.payload)
    shown = study.definition.annotation.explainer
    model = [k for k in task.explanation(shown).units if k in task.selectable]
    shown_pieces = pieces(task)
    reasons = [
        {"line": p.line, "label": p.label, "selected": p.unit in (state["selected"] or [])}
        for p in shown_pieces
        if p.unit in model and mode != "select"
    ]
    state = {
        "mode": mode,
        "phase": phase,
        "position": position,
        "selectable": list(task.selectable),
        "draftTs": 0,
        "model": model if mode != "select" else [],
        "minSelected": 0 if study_task.kind == "attention" else study.definition.annotation.min_selected,
        **state,
    }
    return render_template(
        "participant/task.html",
        study=study,
        participant=participant,
        task=task,
        position=position,
        pieces=shown_pieces,
        reasons=reasons,
        lines=line_count(task),
        state=state,
        total=total,
        annotation=study.definition.annotation,
        tutorial=study.definition.tutorial,
        check=attention_check(study, study_task),
    )


def render_task(participant: Participant, assignment: Assignment, phase: int, feedback: bool = False):
    """Render the annotation page for one phase of an assignment (or the tutorial's feedback)."""
    shown_at(assignment, phase)
    mode = "feedback" if feedback else ("review" if phase == 2 else "select")
    selectable = selectable_of(assignment.study_task.payload)
    if mode == "select":
        draft, draft_ts = draft_selection(participant, assignment)
        selected = [k for k in draft if k in selectable]
    else:
        selected, draft_ts = saved_selection(assignment, 1), 0
    numbered = [a for a in participant.assignments if a.position != TUTORIAL_POSITION]
    state = {
        "selected": selected,
        "draftTs": draft_ts,
        "answerUrl": url_for("participant.answer", position=assignment.position),
        "eventsUrl": url_for("participant.events", position=assignment.position),
        "storageKey": f"codeq:{participant.public_id}:{assignment.position}:{phase}",
    }
    return task_page(
        participant.study, assignment.study_task, assignment.position, len(numbered), phase, mode, state, participant
    )


@bp.get("/task/<int:position>")
def task(position: int):
    """Show the participant's current task; any other position goes to where they are."""
    participant = current_participant()
    if participant is None:
        return redirect(url_for("participant.index"))
    step = next_step(participant) if participant.status in ("tutorial", "tasks") else None
    if step is None or step[0] != position:
        return redirect(next_url(participant))
    return render_task(participant, participant.assignments[position - TUTORIAL_POSITION], step[1])


def error(status: int, message: str, **extra):
    return jsonify(ok=False, error=message, **extra), status


def stale(participant: Participant, message: str):
    """Answer a tab that is behind: the step was answered elsewhere; ``next`` is where to go on."""
    return error(409, message, stale=True, next=next_url(participant))


def event_room(participant: Participant, assignment: Assignment) -> int:
    """Return how many more events this participant may store for this task."""
    stored = db.session.scalar(
        select(func.count(Event.id)).where(
            Event.participant_id == participant.id, Event.study_task_id == assignment.study_task_id
        )
    )
    return max(0, MAX_TASK_EVENTS - stored)


def store_events(participant: Participant, assignment: Assignment, items: list[dict]) -> None:
    for e in items:
        payload = {k: v for k, v in e.items() if k not in ("kind", "ts")}
        db.session.add(
            Event(
                participant_id=participant.id,
                study_task_id=assignment.study_task_id,
                kind=e["kind"],
                client_ts=e["ts"],
                payload=payload,
            )
        )


def same_answer(response: Response, answer: Answer) -> bool:
    """Tell whether a replayed answer equals the stored one (then it is acknowledged, not stored)."""
    return [s.unit_index for s in response.selections] == answer.selected and (
        response.confidence,
        response.would_predict,
        response.agreement,
    ) == (answer.confidence, answer.would_predict, answer.agreement)


def expected(participant: Participant, position: int, phase: int) -> bool:
    """Tell whether (position, phase) is what the participant has to answer now."""
    if position == TUTORIAL_POSITION:
        return participant.status == "questionnaire" and phase == 1
    return participant.status in ("tutorial", "tasks") and next_step(participant) == (position, phase)


def lookup(position: int) -> tuple[Participant, Assignment]:
    """Return this browser's participant and their assignment at ``position``, or abort with JSON 403/404."""
    participant = current_participant()
    if participant is None:
        abort(403, "no study in progress in this browser")
    assignment = next((a for a in participant.assignments if a.position == position), None)
    if assignment is None:
        abort(404, f"task {position} is not assigned to you")
    return participant, assignment


@bp.post("/api/task/<int:position>/answer")
def answer(position: int):
    """Store one phase of an answer; a replay of the same answer is acknowledged without storing."""
    participant, assignment = lookup(position)
    task = Task.from_dict(assignment.study_task.payload)
    try:
        ans = parse_answer(
            read_json(request.get_data()),
            task.selectable,
            participant.study.definition.annotation,
            needs_selection=assignment.kind != "attention",
            needs_ratings=assignment.kind == "main",
        )
    except AnswerError as err:
        return error(400, str(err))
    if ans.phase not in phases(participant.study, assignment.kind):
        return error(400, f"task {position} has no phase {ans.phase}")
    previous = next((r for r in assignment.responses if r.phase == ans.phase), None)
    if previous is not None:
        if same_answer(previous, ans):
            return jsonify(ok=True, duplicate=True, next=next_url(participant))
        return stale(participant, f"task {position} phase {ans.phase} is already answered")
    if not expected(participant, position, ans.phase):
        return stale(participant, f"task {position} phase {ans.phase} is not the current step")
    if ans.phase == 2 and ans.selected != saved_selection(assignment, 1):
        return error(400, "phase 2 must repeat the selection of phase 1")
    check = attention_check(participant.study, assignment.study_task)
    response = Response(
        participant_id=participant.id,
        assignment_id=assignment.id,
        phase=ans.phase,
        shown_at=shown_at(assignment, ans.phase),
        submitted_at=utcnow(),
        active_ms=ans.active_ms,
        confidence=ans.confidence,
        would_predict=ans.would_predict,
        agreement=ans.agreement,
        attention_passed=None if check is None else ans.selected == participant.study.expected_units[check.id],
    )
    response.selections = [Selection(unit_index=k) for k in ans.selected]
    db.session.add(response)
    # the answer is stored whatever happens to its telemetry: events beyond the cap are dropped
    store_events(participant, assignment, ans.events[: event_room(participant, assignment)])
    if position != TUTORIAL_POSITION:
        participant.status = "tasks"
    touch(participant)
    try:
        db.session.commit()
    except IntegrityError:  # a double submit raced this one and won: same outcome as a replay
        db.session.rollback()
        return jsonify(ok=True, duplicate=True, next=next_url(participant))
    if check is not None and failed_out(participant):
        finish(participant, "failed_attention")
    return jsonify(
        ok=True, next=url_for("participant.tutorial") if position == TUTORIAL_POSITION else next_url(participant)
    )


@bp.post("/api/task/<int:position>/events")
def events(position: int):
    """Store telemetry sent while a task is open (this also saves the selection in progress)."""
    participant, assignment = lookup(position)
    try:
        body = read_json(request.get_data())
        items = parse_events(body)
    except AnswerError as err:
        return error(400, str(err))
    phase = body.get("phase", 1)
    if not expected(participant, position, phase):
        return stale(participant, f"task {position} phase {phase} is not open")
    if len(items) > event_room(participant, assignment):
        return error(429, f"this task has reached its limit of {MAX_TASK_EVENTS} events; nothing more is recorded")
    store_events(participant, assignment, items)
    touch(participant)
    db.session.commit()
    return jsonify(ok=True)
