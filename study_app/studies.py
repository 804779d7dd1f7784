"""Study versions in the database: the newest version of a study, and storing an instrument as a new one."""

from __future__ import annotations

from dataclasses import asdict

from sqlalchemy import func, select

from study_app.extensions import db
from study_app.instrument import Instrument
from study_app.models import Study, StudyTask


def latest_study(slug: str) -> Study | None:
    """Return the newest version of a study, the one new participants get."""
    return db.session.scalar(select(Study).where(Study.slug == slug).order_by(Study.version.desc()).limit(1))


def import_study(inst: Instrument) -> tuple[Study, bool]:
    """Store an instrument as a study version; return it and whether it is new.

    An unchanged instrument is not stored again; a changed one becomes the next version, and
    participants already running keep the version they started.
    """
    current = latest_study(inst.slug)
    if current is not None and current.content_hash == inst.content_hash:
        return current, False
    version = db.session.scalar(select(func.coalesce(func.max(Study.version), 0)).where(Study.slug == inst.slug)) + 1
    study = Study(
        slug=inst.slug,
        version=version,
        title=inst.definition.study.title,
        config=inst.config,
        content_hash=inst.content_hash,
    )
    kinds = [("tutorial", inst.tutorial), ("main", inst.tasks), ("attention", inst.attention)]
    position = 0
    for kind, tasks in kinds:
        for task in tasks:
            study.tasks.append(StudyTask(task_id=task.task_id, kind=kind, payload=asdict(task), position=position))
            position += 1
    db.session.add(study)
    db.session.commit()
    return study, True
