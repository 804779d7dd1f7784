"""Database tables of a study: studies and their tasks, participants and everything they submit.

Times are naive UTC (``utcnow``): SQLite keeps no time zone, so both backends store the same thing.
"""

from __future__ import annotations

from datetime import UTC, datetime
from functools import cached_property
from typing import Any

from sqlalchemy import JSON, BigInteger, ForeignKey, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from contract.study_definition import StudyDefinition
from study_app.extensions import db
from study_app.stored_definition import expected_units, stored_definition


def utcnow() -> datetime:
    """Return the current time as naive UTC."""
    return datetime.now(UTC).replace(tzinfo=None)


class Study(db.Model):
    """One version of a study definition; a changed instrument folder becomes a new version."""

    __table_args__ = (UniqueConstraint("slug", "version"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    slug: Mapped[str] = mapped_column(String(64), index=True)
    version: Mapped[int]
    title: Mapped[str] = mapped_column(String(200))
    config: Mapped[dict[str, Any]] = mapped_column(JSON)  # parsed study.toml + consent + questionnaire
    content_hash: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    tasks: Mapped[list[StudyTask]] = relationship(back_populates="study", order_by="StudyTask.position")

    @cached_property
    def definition(self) -> StudyDefinition:
        """The typed study definition of ``config`` (a stored version's config does not change)."""
        return stored_definition(self.config)

    @cached_property
    def expected_units(self) -> dict[str, list[int]]:
        """The units that pass each attention check (computed by load-study), by check id."""
        return expected_units(self.config)


class StudyTask(db.Model):
    """A task of a study version: the contract Task as a dict, plus its kind."""

    __table_args__ = (UniqueConstraint("study_id", "task_id"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    study_id: Mapped[int] = mapped_column(ForeignKey("study.id"), index=True)
    task_id: Mapped[str] = mapped_column(String(200))
    kind: Mapped[str] = mapped_column(String(16))  # main | tutorial | attention
    payload: Mapped[dict[str, Any]] = mapped_column(JSON)
    position: Mapped[int]
    study: Mapped[Study] = relationship(back_populates="tasks")


class Participant(db.Model):
    """A person taking one version of a study; a recruiter id enrols at most once per version."""

    __table_args__ = (UniqueConstraint("study_id", "prolific_pid", name="uq_participant_study_prolific_pid"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    study_id: Mapped[int] = mapped_column(ForeignKey("study.id"), index=True)
    public_id: Mapped[str] = mapped_column(String(64), unique=True)
    resume_code: Mapped[str] = mapped_column(String(16), unique=True)
    prolific_pid: Mapped[str | None] = mapped_column(String(64))
    prolific_study_id: Mapped[str | None] = mapped_column(String(64))
    prolific_session_id: Mapped[str | None] = mapped_column(String(64))
    status: Mapped[str] = mapped_column(String(16), default="consented")
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    finished_at: Mapped[datetime | None]
    completion_code: Mapped[str | None] = mapped_column(String(32))  # the code the end page showed
    # How the study ended for them (contract.study_definition.OUTCOMES): completed | failed_attention |
    # screened_out; None while they are under way.
    outcome: Mapped[str | None] = mapped_column(String(32))
    # The last answer, questionnaire or telemetry: enrolment holds a participant's tasks while it is recent.
    last_active_at: Mapped[datetime] = mapped_column(default=utcnow, index=True)
    # A researcher trying the study: never counted for coverage, left out of exports by default.
    is_test: Mapped[bool] = mapped_column(default=False)
    # The consent form's one-time token: a consent POST retried after a lost reply finds this row
    # instead of enrolling the same person twice.
    enrol_token: Mapped[str | None] = mapped_column(String(32), unique=True)
    study: Mapped[Study] = relationship()
    assignments: Mapped[list[Assignment]] = relationship(back_populates="participant", order_by="Assignment.position")


class Assignment(db.Model):
    """A task placed at a position (1..N) of a participant's sequence."""

    __table_args__ = (UniqueConstraint("participant_id", "position"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    participant_id: Mapped[int] = mapped_column(ForeignKey("participant.id"), index=True)
    study_task_id: Mapped[int] = mapped_column(ForeignKey("study_task.id"), index=True)
    position: Mapped[int]
    kind: Mapped[str] = mapped_column(String(16))
    participant: Mapped[Participant] = relationship(back_populates="assignments")
    study_task: Mapped[StudyTask] = relationship()
    responses: Mapped[list[Response]] = relationship(back_populates="assignment", order_by="Response.phase")


class QuestionnaireAnswer(db.Model):
    __table_args__ = (UniqueConstraint("participant_id", "question_id"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    participant_id: Mapped[int] = mapped_column(ForeignKey("participant.id"), index=True)
    question_id: Mapped[str] = mapped_column(String(64))
    value: Mapped[str] = mapped_column(Text)


class Response(db.Model):
    """The answer to one phase of an assignment (1 = own selection, 2 = agreement with the model)."""

    __table_args__ = (UniqueConstraint("assignment_id", "phase"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    participant_id: Mapped[int] = mapped_column(ForeignKey("participant.id"), index=True)
    assignment_id: Mapped[int] = mapped_column(ForeignKey("assignment.id"), index=True)
    phase: Mapped[int]
    shown_at: Mapped[datetime]
    submitted_at: Mapped[datetime] = mapped_column(default=utcnow)
    active_ms: Mapped[int | None]
    confidence: Mapped[int | None]
    would_predict: Mapped[str | None] = mapped_column(String(16))
    agreement: Mapped[int | None]
    attention_passed: Mapped[bool | None]
    assignment: Mapped[Assignment] = relationship(back_populates="responses")
    selections: Mapped[list[Selection]] = relationship(order_by="Selection.unit_index")


class Selection(db.Model):
    __table_args__ = (UniqueConstraint("response_id", "unit_index"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    response_id: Mapped[int] = mapped_column(ForeignKey("response.id"), index=True)
    unit_index: Mapped[int]


class PageView(db.Model):
    """When a participant first saw a task phase: the server-side start of its timing."""

    __table_args__ = (UniqueConstraint("assignment_id", "phase"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    assignment_id: Mapped[int] = mapped_column(ForeignKey("assignment.id"), index=True)
    phase: Mapped[int]
    shown_at: Mapped[datetime] = mapped_column(default=utcnow)


class Event(db.Model):
    """A telemetry event (a toggle, focus, blur, ...), as the browser reported it."""

    id: Mapped[int] = mapped_column(primary_key=True)
    participant_id: Mapped[int] = mapped_column(ForeignKey("participant.id"), index=True)
    study_task_id: Mapped[int | None] = mapped_column(ForeignKey("study_task.id"))
    kind: Mapped[str] = mapped_column(String(32))
    payload: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    client_ts: Mapped[int | None] = mapped_column(BigInteger)
    server_ts: Mapped[datetime] = mapped_column(default=utcnow)
