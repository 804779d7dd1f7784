"""Tidy export tables, built from the database rows of one study (all its versions).

``load_rows`` reads the database once; ``build_tables`` turns those rows into DataFrames whose
columns follow ``contract.export_schema.COLUMNS`` exactly (plus one ``q_<id>`` column per question).
"""

from __future__ import annotations

import json
from collections import defaultdict
from dataclasses import dataclass, field

import pandas as pd
from sqlalchemy import select

from contract.errors import UserError
from contract.export_schema import COLUMNS, question_column
from contract.prepared_tasks import SET_EXPLAINERS, Task, selectable_of
from contract.study_definition import Question
from study_app.admin.models import Exclusion
from study_app.export.pseudonym import pseudonym
from study_app.extensions import db
from study_app.models import Assignment, Event, Participant, QuestionnaireAnswer, Response, Selection, Study, StudyTask
from study_app.participant.outcomes import code_shown

DTYPES = {"string": "str", "json": "str", "integer": "Int64", "float": "float64"}


class ExportRequestError(UserError):
    """The export cannot be made as asked; the message says why."""


class ExportSchemaError(ValueError):
    """A row that does not match the export schema: a writer's bug, refused rather than written as NaN."""


@dataclass
class Rows:
    """The database rows of one study, read once.

    Assignments, responses, answers and events are plain rows carrying their model's column names.
    """

    studies: list[Study]
    tasks: dict[int, StudyTask]  # by StudyTask.id, every version
    participants: list[Participant]
    exclusions: dict[int, Exclusion]  # by participant id
    assignments: dict[int, Assignment]
    responses: list[Response]
    selections: dict[int, set[int]]  # response id -> selected unit indices
    answers: list[QuestionnaireAnswer]
    events: list[Event] = field(default_factory=list)

    @property
    def questions(self) -> list[Question]:
        """Return the questions of all versions, first occurrence of each id kept, in order."""
        seen: dict[str, Question] = {}
        for study in self.studies:
            for q in study.definition.questions:
                seen.setdefault(q.id, q)
        return list(seen.values())


def find_slug(slug: str | None) -> str:
    """Return ``slug``, or the only study's slug when none is given."""
    slugs = db.session.scalars(select(Study.slug).distinct()).all()
    if slug is None:
        if len(slugs) != 1:
            raise ExportRequestError(
                f"{len(slugs)} studies in the database: name one ({', '.join(sorted(slugs))})"
                if slugs
                else "no study in the database: load one with `load-study`"
            )
        return slugs[0]
    if slug not in slugs:
        raise ExportRequestError(f"no study '{slug}' in the database")
    return slug


def load_rows(
    slug: str, drop_excluded: bool = False, events: bool = True, only: int | None = None, include_test: bool = False
) -> Rows:
    """Read every row of study ``slug``.

    Leave excluded participants out if ``drop_excluded``, and test participants unless
    ``include_test``; keep only participant ``only`` (a database id) if given; skip the telemetry
    unless ``events``.
    """
    studies = db.session.scalars(select(Study).where(Study.slug == slug).order_by(Study.version)).all()
    study_ids = [s.id for s in studies]
    tasks = {t.id: t for t in db.session.scalars(select(StudyTask).where(StudyTask.study_id.in_(study_ids)))}
    participants = db.session.scalars(
        select(Participant).where(Participant.study_id.in_(study_ids)).order_by(Participant.id)
    ).all()
    exclusions = {
        e.participant_id: e
        for e in db.session.scalars(select(Exclusion).join(Participant).where(Participant.study_id.in_(study_ids)))
    }
    if drop_excluded:
        participants = [p for p in participants if p.id not in exclusions]
    if not include_test:
        participants = [p for p in participants if not p.is_test or p.id == only]
    if only is not None:
        participants = [p for p in participants if p.id == only]
    pids = [p.id for p in participants]

    def of_participants(model):
        # plain rows with the model's column names, not ORM objects: ten times faster for the
        # hundreds of thousands of events a large study has
        return db.session.execute(
            select(*model.__table__.columns).where(model.participant_id.in_(pids)).order_by(model.id)
        ).all()

    selections: dict[int, set[int]] = defaultdict(set)
    query = select(Selection.response_id, Selection.unit_index).join(Response).where(Response.participant_id.in_(pids))
    for response_id, unit_index in db.session.execute(query):
        selections[response_id].add(unit_index)
    return Rows(
        studies=list(studies),
        tasks=tasks,
        participants=list(participants),
        exclusions=exclusions,
        assignments={a.id: a for a in of_participants(Assignment)},
        responses=list(of_participants(Response)),
        selections=selections,
        answers=list(of_participants(QuestionnaireAnswer)),
        events=list(of_participants(Event)) if events else [],
    )


def typed(rows: list[dict], table: str, extra: list[str] = ()) -> pd.DataFrame:
    """Return ``rows`` as a DataFrame with the codebook's columns, order and types.

    Every row must have exactly the schema's columns (and ``extra``): a misspelt or forgotten key
    is refused rather than written as an empty column.
    """
    cols = COLUMNS[table]
    names = [c.name for c in cols] + list(extra)
    expected = set(names)
    for i, row in enumerate(rows, 1):
        if row.keys() != expected:
            unknown, missing = sorted(row.keys() - expected), [n for n in names if n not in row]
            problem = f"unknown column {unknown[0]!r}" if unknown else f"no column {missing[0]!r}"
            raise ExportSchemaError(f"{table} row {i}: {problem} (the export schema has: {', '.join(names)})")
    df = pd.DataFrame(rows, columns=names)
    for c in cols:
        if c.type == "datetime":
            df[c.name] = pd.to_datetime(df[c.name], utc=True)  # stored naive UTC
        else:
            df[c.name] = df[c.name].astype(DTYPES[c.type])
    for name in extra:
        df[name] = df[name].astype("str")
    return df


def _ms(later, earlier) -> int | None:
    if later is None or earlier is None:
        return None
    return round((later - earlier).total_seconds() * 1000)


def _flag(value: bool | None) -> int | None:
    return None if value is None else int(value)


def latest_tasks(rows: Rows) -> dict[str, dict]:
    """Return each task's contract payload by task id, the newest study version winning."""
    version = {s.id: s.version for s in rows.studies}
    out: dict[str, dict] = {}
    for t in sorted(rows.tasks.values(), key=lambda t: version[t.study_id]):
        out[t.task_id] = t.payload
    return out


def participants_table(rows: Rows, names: dict[int, str]) -> pd.DataFrame:
    version = {s.id: (s.slug, s.version) for s in rows.studies}
    study = {s.id: s for s in rows.studies}
    answers: dict[int, dict[str, str]] = defaultdict(dict)
    for a in rows.answers:
        answers[a.participant_id][question_column(a.question_id)] = a.value
    qcols = [question_column(q.id) for q in rows.questions]
    out = []
    for p in rows.participants:
        excl = rows.exclusions.get(p.id)
        slug, ver = version[p.study_id]
        duration = _ms(p.finished_at, p.created_at)
        out.append(
            {
                "participant_id": names[p.id],
                "study": slug,
                "study_version": ver,
                "status": p.status,
                "excluded": int(excl is not None),
                "exclusion_reason": excl.reason if excl else None,
                "outcome": p.outcome,
                "code_shown": code_shown(study[p.study_id], p),
                "started_at": p.created_at,
                "finished_at": p.finished_at,
                "duration_s": None if duration is None else duration / 1000,
                "last_active_at": p.last_active_at,
                **{q: answers[p.id].get(q) for q in qcols},
            }
        )
    return typed(out, "participants", qcols)


def responses_table(rows: Rows, names: dict[int, str]) -> pd.DataFrame:
    out = []
    for r in rows.responses:
        a = rows.assignments[r.assignment_id]
        out.append(
            {
                "participant_id": names[r.participant_id],
                "task_id": rows.tasks[a.study_task_id].task_id,
                "kind": a.kind,
                "position": a.position,
                "phase": r.phase,
                "shown_at": r.shown_at,
                "submitted_at": r.submitted_at,
                "server_ms": _ms(r.submitted_at, r.shown_at),
                "active_ms": r.active_ms,
                "confidence": r.confidence,
                "would_predict": r.would_predict,
                "agreement": r.agreement,
                "attention_passed": _flag(r.attention_passed),
                "n_selected": len(rows.selections.get(r.id, ())),
            }
        )
    return typed(out, "responses")


def selections_table(rows: Rows, names: dict[int, str]) -> pd.DataFrame:
    """One row per selectable unit of every phase-1 response: the participant's own selection."""
    out = []
    for r in rows.responses:
        if r.phase != 1:
            continue
        task = rows.tasks[rows.assignments[r.assignment_id].study_task_id]
        chosen = rows.selections.get(r.id, set())
        out += [
            {
                "participant_id": names[r.participant_id],
                "task_id": task.task_id,
                "unit_index": k,
                "selected": int(k in chosen),
            }
            for k in selectable_of(task.payload)
        ]
    return typed(out, "selections")


def units_table(tasks: dict[str, dict]) -> pd.DataFrame:
    out = []
    for task_id, t in tasks.items():
        text = t["prompt"] + t["completion"]
        can = selectable_of(t)
        out += [
            {
                "task_id": task_id,
                "unit_index": u["index"],
                "text": u["text"],
                "category": u["category"],
                "group": u["group"],
                "selectable": int(u["index"] in can),
                "is_target": int(u["index"] == t["target"]["unit_index"]),
                "start": u["start"],
                "end": u["end"],
                "line": text.count("\n", 0, u["start"]) + 1,
            }
            for u in t["units"]
        ]
    return typed(out, "units")


def model_rationales_table(tasks: dict[str, dict]) -> pd.DataFrame:
    """One row per explainer and selectable unit of every task: its score, is it in the set, when, with what gain.

    Tasks prepared before explainers existed (contract version 1) give greedy rows only.
    """
    out = []
    for task_id, t in tasks.items():
        task = Task.from_dict(t)
        rat = task.rationale
        gains = dict(zip(rat.units, rat.unit_gains))
        for name in task.explainer_names():
            e = task.explanation(name)
            rank = {k: r for r, k in enumerate(e.units, 1)}
            for k in task.selectable:
                out.append(
                    {
                        "task_id": task_id,
                        "explainer": name,
                        "unit_index": k,
                        "in_rationale": int(k in rank),
                        "rank": rank.get(k),
                        "score": e.unit_scores[k],
                        "probability_gain": gains.get(k) if name == "greedy" else None,
                    }
                )
    return typed(out, "model_rationales")


def explainers_table(tasks: dict[str, dict]) -> pd.DataFrame:
    """One row per task and explainer: the size of its set and the set's faithfulness on the model."""
    out = []
    for task_id, t in tasks.items():
        task = Task.from_dict(t)
        for name in task.explainer_names():
            e = task.explanation(name)
            out.append(
                {
                    "task_id": task_id,
                    "explainer": name,
                    "set_valued": int(name in SET_EXPLAINERS),
                    "set_size": len(e.units),
                    "comprehensiveness": e.comprehensiveness,
                    "sufficiency": e.sufficiency,
                }
            )
    return typed(out, "explainers")


def questionnaire_table(rows: Rows, names: dict[int, str]) -> pd.DataFrame:
    return typed(
        [
            {"participant_id": names[a.participant_id], "question_id": a.question_id, "value": a.value}
            for a in rows.answers
        ],
        "questionnaire",
    )


def events_table(rows: Rows, names: dict[int, str]) -> pd.DataFrame:
    return typed(
        [
            {
                "participant_id": names[e.participant_id],
                "task_id": rows.tasks[e.study_task_id].task_id if e.study_task_id else None,
                "kind": e.kind,
                "client_ts": e.client_ts,
                "server_ts": e.server_ts,
                "payload": json.dumps(e.payload, sort_keys=True, ensure_ascii=False),
            }
            for e in rows.events
        ],
        "events",
    )


def build_tables(rows: Rows, key: bytes) -> dict[str, pd.DataFrame]:
    """Return every export table, participants named by their keyed-hash pseudonym."""
    names = {p.id: pseudonym(p.public_id, key) for p in rows.participants}
    tasks = latest_tasks(rows)
    return {
        "participants": participants_table(rows, names),
        "responses": responses_table(rows, names),
        "selections": selections_table(rows, names),
        "units": units_table(tasks),
        "model_rationales": model_rationales_table(tasks),
        "explainers": explainers_table(tasks),
        "questionnaire": questionnaire_table(rows, names),
        "events": events_table(rows, names),
    }


def linkage_table(rows: Rows, key: bytes) -> pd.DataFrame:
    """Return pseudonym -> recruitment ids, for paying participants; never part of the research tables."""
    return pd.DataFrame(
        [
            {
                "participant_id": pseudonym(p.public_id, key),
                "public_id": p.public_id,
                "prolific_pid": p.prolific_pid,
                "prolific_study_id": p.prolific_study_id,
                "prolific_session_id": p.prolific_session_id,
                "completion_code": p.completion_code,
            }
            for p in rows.participants
        ],
        columns=[
            "participant_id",
            "public_id",
            "prolific_pid",
            "prolific_study_id",
            "prolific_session_id",
            "completion_code",
        ],
    )
