"""A stored study's typed definition, rebuilt from ``Study.config``.

``load-study`` stores the definition :func:`contract.study_definition.read_definition` checked as
plain data (see :func:`study_app.instrument.load_instrument`); the app reads it back here, the one
place that knows the stored layout. A study stored before a key existed gets that key's documented
default (the dataclass default), keys a study stored by an earlier version carries but the
definition no longer has are left out, and a ``[study]`` completion code and redirect from before
``[prolific]`` become ``[prolific] completed``. Stored data was checked when it was loaded, so it is
not checked again.
"""

from __future__ import annotations

from dataclasses import fields
from pathlib import Path
from typing import Any

from contract.study_definition import (
    OUTCOMES,
    Annotation,
    AttentionCheck,
    ModelSettings,
    OutcomeCode,
    PrepareSettings,
    Prolific,
    Question,
    StudyDefinition,
    StudyInfo,
    Tutorial,
)


def known(cls, table: dict[str, Any]):
    """Build dataclass ``cls`` from the keys of ``table`` it has; the others keep their defaults."""
    names = {f.name for f in fields(cls)}
    return cls(**{k: v for k, v in table.items() if k in names})


def stored_prolific(config: dict[str, Any]) -> Prolific:
    settings = config.get("prolific")
    if settings is None:  # stored before [prolific]: the [study] completion code and redirect
        old = config["study"]
        return Prolific(completed=OutcomeCode(old.get("completion_code"), old.get("completion_redirect", "")))
    codes = {k: known(OutcomeCode, v) for k, v in settings.items() if k in OUTCOMES}
    return known(Prolific, {**settings, **codes})


def stored_definition(config: dict[str, Any]) -> StudyDefinition:
    """The typed definition of a stored study config.

    A stored study has no folder (``Path()``) and no ``preparation``: the app serves its prepared
    tasks from the database.
    """
    return StudyDefinition(
        folder=Path(),
        study=known(StudyInfo, config["study"]),
        model=known(ModelSettings, config["model"]) if "model" in config else None,
        prepare=known(PrepareSettings, config["prepare"]) if "prepare" in config else None,
        annotation=known(Annotation, config.get("annotation", {})),
        tutorial=known(Tutorial, config.get("tutorial", {})),
        attention_checks=[known(AttentionCheck, c) for c in config.get("attention_checks", [])],
        questions=[known(Question, q) for q in config.get("questions", [])],
        consent=config.get("consent", ""),
        prolific=stored_prolific(config),
    )


def expected_units(config: dict[str, Any]) -> dict[str, list[int]]:
    """The units a participant must select to pass each attention check, by check id."""
    return {c["id"]: c["expected"] for c in config.get("attention_checks", [])}
