"""Where a participant stands: who they are (from the cookie), what comes next, and enrolling them.

Enrolment counts, per main task, the assignments that still stand for an answer: answered ones of
participants neither excluded, nor ended by a failed attention check or a screen-out, nor test
runs; and every assignment of a participant still active (heard from within ``[study]
inactive_after`` minutes). A participant who left releases the tasks they did not answer. With
``[study] answers_per_task = N`` a task that counts N takes no one more; when none is left the
study is full. Enrolments of a study are serialised by a row lock on the study (``SELECT ... FOR
UPDATE`` on PostgreSQL; SQLite serialises writers itself), so two arrivals at once never both take
a task's last slot.
"""

from __future__ import annotations

import secrets
from collections import Counter
from datetime import datetime, timedelta

from flask import session, url_for
from sqlalchemy import and_, exists, func, or_, select

from study_app.extensions import db
from study_app.models import Assignment, Participant, Response, Study, StudyTask, utcnow
from study_app.participant.randomization import (
    RESUME_CODE_CHARS,
    Slot,
    draw_tasks,
    participant_rng,
    short_code,
    with_attention_checks,
)

UNUSABLE_OUTCOMES = ("failed_attention", "screened_out")


class StudyFullError(Exception):
    """Every main task has its answers (or is held by an active participant): no one more is enrolled."""


TUTORIAL_POSITION = 0  # the tutorial task sits before the numbered tasks 1..N


def current_participant() -> Participant | None:
    """Return the participant this browser belongs to, if any."""
    public_id = session.get("participant")
    if public_id is None:
        return None
    return db.session.scalar(select(Participant).where(Participant.public_id == public_id))


def remember(participant: Participant) -> None:
    """Tie this browser to the participant, across browser restarts."""
    session.permanent = True
    session["participant"] = participant.public_id


def phases(study: Study, kind: str) -> list[int]:
    """Return the phases an assignment of ``kind`` has: phase 2 only for main tasks, if configured."""
    return [1, 2] if kind == "main" and study.definition.annotation.second_phase else [1]


def answered(participant: Participant) -> set[tuple[int, int]]:
    """Return the (position, phase) pairs the participant has answered."""
    rows = db.session.execute(
        select(Assignment.position, Response.phase)
        .join(Response.assignment)
        .where(Assignment.participant_id == participant.id)
    )
    return {(pos, phase) for pos, phase in rows}


def next_step(participant: Participant) -> tuple[int, int] | None:
    """Return the first unanswered (position, phase) of the numbered tasks, or None when all are done."""
    done = answered(participant)
    for a in participant.assignments:
        if a.position == TUTORIAL_POSITION:
            continue
        for phase in phases(participant.study, a.kind):
            if (a.position, phase) not in done:
                return a.position, phase
    return None


def next_url(participant: Participant) -> str:
    """Return the page the participant should be on now."""
    if participant.status == "declined":
        return url_for("participant.declined")
    if participant.status == "finished":
        return url_for("participant.end")
    if participant.status == "consented":
        return url_for("participant.questionnaire")
    if participant.status == "questionnaire":
        return url_for("participant.tutorial")
    step = next_step(participant)
    return url_for("participant.end") if step is None else url_for("participant.task", position=step[0])


def unique_resume_code() -> str:
    """Return a resume code no other participant has."""
    while True:
        code = short_code(RESUME_CODE_CHARS)
        if db.session.scalar(select(Participant.id).where(Participant.resume_code == code)) is None:
            return code


def touch(participant: Participant) -> None:
    """Record that the participant is active now (committed with the request's other changes)."""
    participant.last_active_at = utcnow()


def task_counts(study: Study, now: datetime) -> Counter:
    """Return, per main task id, the assignments that stand for an answer (see the module docstring)."""
    # imported here: the admin package's views import this module (test participants)
    from study_app.admin.models import Exclusion

    answered = exists().where(Response.assignment_id == Assignment.id, Response.phase == 1)
    excluded = exists().where(Exclusion.participant_id == Participant.id)
    active = and_(
        Participant.status.notin_(("finished", "declined")),
        Participant.last_active_at >= now - timedelta(minutes=study.definition.study.inactive_after),
    )
    rows = db.session.execute(
        select(StudyTask.task_id, func.count(Assignment.id))
        .join(Assignment.study_task)
        .join(Assignment.participant)
        .where(
            StudyTask.study_id == study.id,
            Assignment.kind == "main",
            Participant.is_test.is_(False),
            or_(Participant.outcome.is_(None), Participant.outcome.notin_(UNUSABLE_OUTCOMES)),
            ~excluded,
            or_(answered, active),
        )
        .group_by(StudyTask.task_id)
    )
    return Counter(dict(rows.all()))


def main_slots(study: Study) -> list[Slot]:
    return [
        Slot(t.task_id, t.payload["snippet_id"], t.payload["target"]["unit_index"])
        for t in study.tasks
        if t.kind == "main"
    ]


def is_full(study: Study) -> bool:
    """Tell whether every main task counts ``answers_per_task`` (always False without a target)."""
    cap = study.definition.study.answers_per_task
    if cap is None:
        return False
    counts = task_counts(study, utcnow())
    return all(counts[s.task_id] >= cap for s in main_slots(study))


def enroll(
    study: Study, prolific: dict[str, str | None], enrol_token: str | None = None, is_test: bool = False
) -> Participant:
    """Create a consenting participant with a balanced, seeded task sequence.

    Raises :class:`StudyFullError` (and stores nothing) when no main task has room. A test participant
    takes part however full the study is and counts for no task.
    """
    # the lock is held until the commit below: the counts read next stay true until this
    # participant's assignments are stored
    db.session.execute(select(Study.id).where(Study.id == study.id).with_for_update())
    participant = Participant(
        study_id=study.id,
        public_id=secrets.token_urlsafe(16),
        enrol_token=enrol_token,
        resume_code=unique_resume_code(),
        status="consented",
        is_test=is_test,
        **prolific,
    )
    db.session.add(participant)
    db.session.flush()  # the participant's id numbers its random generator
    tasks = {t.task_id: t for t in study.tasks}
    rng = participant_rng(study.definition.study.seed, participant.id)
    drawn = draw_tasks(
        main_slots(study),
        task_counts(study, utcnow()),
        study.definition.study.tasks_per_participant,
        rng,
        per_snippet=study.definition.study.tasks_per_snippet,
        cap=None if is_test else study.definition.study.answers_per_task,
    )
    if not drawn:
        db.session.rollback()
        raise StudyFullError(study.slug)
    tutorial = next(t.task_id for t in study.tasks if t.kind == "tutorial")  # every study has one
    snippet_of = {t.task_id: t.payload["snippet_id"] for t in study.tasks}
    sequence = [(tutorial, "tutorial")] + with_attention_checks(drawn, study.definition.attention_checks, snippet_of)
    for position, (task_id, kind) in enumerate(sequence, TUTORIAL_POSITION):
        db.session.add(
            Assignment(participant_id=participant.id, study_task_id=tasks[task_id].id, position=position, kind=kind)
        )
    db.session.commit()
    return participant
