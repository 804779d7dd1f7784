"""Erase a participant who withdraws: every row of theirs, in every table, in one transaction.

A participant is named by their resume code (as typed: dashes and case do not matter), their public
id or their PROLIFIC_PID. Used by ``flask --app study_app delete-participant`` and the admin page.
"""

from __future__ import annotations

from sqlalchemy import delete, select

from contract.errors import UserError
from study_app.admin.models import Exclusion
from study_app.extensions import db
from study_app.models import Assignment, Event, PageView, Participant, QuestionnaireAnswer, Response, Selection


class EraseError(UserError):
    """No participant, or more than one, matches; the message says which."""


def find_participant(identifier: str) -> Participant:
    """Return the one participant named by ``identifier``; raise EraseError otherwise."""
    identifier = identifier.strip()
    code = identifier.upper().replace("-", "").replace(" ", "")
    matches = db.session.scalars(
        select(Participant)
        .where(
            (Participant.public_id == identifier)
            | (Participant.prolific_pid == identifier)
            | (Participant.resume_code == code)
        )
        .order_by(Participant.id)
    ).all()
    if not matches:
        raise EraseError(f"no participant has the resume code, public id or PROLIFIC_PID {identifier!r}")
    if len(matches) > 1:
        ids = ", ".join(p.public_id for p in matches)
        raise EraseError(f"{len(matches)} participants match {identifier!r} (public ids {ids}): name one by public id")
    return matches[0]


def rows_of(participant_id: int) -> list[tuple[str, object]]:
    """Return (table, DELETE statement) for every table holding rows of the participant, children first."""
    assignments = select(Assignment.id).where(Assignment.participant_id == participant_id)
    responses = select(Response.id).where(Response.participant_id == participant_id)
    return [
        ("selection", delete(Selection).where(Selection.response_id.in_(responses))),
        ("response", delete(Response).where(Response.participant_id == participant_id)),
        ("page_view", delete(PageView).where(PageView.assignment_id.in_(assignments))),
        ("event", delete(Event).where(Event.participant_id == participant_id)),
        (
            "questionnaire_answer",
            delete(QuestionnaireAnswer).where(QuestionnaireAnswer.participant_id == participant_id),
        ),
        ("exclusion", delete(Exclusion).where(Exclusion.participant_id == participant_id)),
        ("assignment", delete(Assignment).where(Assignment.participant_id == participant_id)),
        ("participant", delete(Participant).where(Participant.id == participant_id)),
    ]


def count_rows(participant: Participant) -> dict[str, int]:
    """Return how many rows of each table ``erase`` would delete."""
    counts = {}
    for table, stmt in rows_of(participant.id):
        model = stmt.table
        counts[table] = db.session.scalar(select(db.func.count()).select_from(model).where(stmt.whereclause))
    return counts


def erase(participant: Participant) -> dict[str, int]:
    """Delete every row of ``participant`` in one transaction; return the rows deleted per table."""
    participant_id = participant.id
    db.session.expunge(participant)  # the ORM must not try to save or refresh what is deleted below
    try:
        counts = {table: db.session.execute(stmt).rowcount for table, stmt in rows_of(participant_id)}
        db.session.commit()
    except Exception:
        db.session.rollback()
        raise
    return counts
