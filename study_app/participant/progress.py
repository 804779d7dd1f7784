"""Where a participant stands: who they are (from the cookie), what comes next, and enrolling them."""

from __future__ import annotations

import secrets
from collections import Counter

from flask import session, url_for
from sqlalchemy import func, select

from study_app.extensions import db
from study_app.models import Assignment, Participant, Response, Study, StudyTask
from study_app.participant.randomization import (
    RESUME_CODE_CHARS,
    draw_tasks,
    participant_rng,
    short_code,
    with_attention_checks,
)

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
    return [1, 2] if kind == "main" and study.config["annotation"]["second_phase"] else [1]


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


def enroll(study: Study, prolific: dict[str, str | None], enrol_token: str | None = None) -> Participant:
    """Create a consenting participant with a balanced, seeded task sequence."""
    participant = Participant(
        study_id=study.id,
        public_id=secrets.token_urlsafe(16),
        enrol_token=enrol_token,
        resume_code=unique_resume_code(),
        status="consented",
        **prolific,
    )
    db.session.add(participant)
    db.session.flush()  # the participant's id numbers its random generator
    tasks = {t.task_id: t for t in study.tasks}
    main_ids = [t.task_id for t in study.tasks if t.kind == "main"]
    seen = Counter(
        dict(
            db.session.execute(
                select(StudyTask.task_id, func.count(Assignment.id))
                .join(Assignment.study_task)
                .where(StudyTask.study_id == study.id, StudyTask.kind == "main")
                .group_by(StudyTask.task_id)
            ).all()
        )
    )
    rng = participant_rng(study.config["study"]["seed"], participant.id)
    drawn = draw_tasks(main_ids, seen, study.config["study"]["tasks_per_participant"], rng)
    tutorial = next(t.task_id for t in study.tasks if t.kind == "tutorial")  # every study has one
    sequence = [(tutorial, "tutorial")] + with_attention_checks(drawn, study.config["attention_checks"])
    for position, (task_id, kind) in enumerate(sequence, TUTORIAL_POSITION):
        db.session.add(
            Assignment(participant_id=participant.id, study_task_id=tasks[task_id].id, position=position, kind=kind)
        )
    db.session.commit()
    return participant
