"""Read a study's instrument folder (study.toml, consent.md, questionnaire.toml, tasks) into plain data.

study.toml and questionnaire.toml are read by :mod:`contract.study_definition`, the reader
``codeq prepare`` uses too; this module adds the prepared tasks and the checks that need them.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import asdict, dataclass
from pathlib import Path

from contract.errors import UserError
from contract.prepared_tasks import TASKS_FILE, ContractError, Task, read_tasks
from contract.study_definition import (
    AttentionCheck,
    StudyDefinition,
    StudyError,
    changed_parts,
    preparation_hash,
    preparation_parts,
    read_definition,
)

FILES = ("study.toml", "consent.md", "questionnaire.toml", TASKS_FILE, "tutorial.jsonl")


class InstrumentError(UserError):
    """The instrument folder is unusable; the message names the file and the problem."""


@dataclass
class Instrument:
    slug: str
    definition: StudyDefinition
    config: dict  # the study definition as plain data (stored as Study.config), attention checks with "expected"
    tasks: list[Task]
    tutorial: list[Task]
    attention: list[Task]  # one per [[attention_checks]], code copied from its base task
    content_hash: str


def content_hash(folder: Path) -> str:
    """Hash every instrument file, so any change makes a new study version."""
    h = hashlib.sha256()
    for name in FILES:
        path = folder / name
        if path.exists():
            h.update(name.encode() + b"\0" + path.read_bytes() + b"\0")
    return h.hexdigest()


def check_fresh(definition: StudyDefinition) -> None:
    """Refuse tasks.jsonl when what `codeq prepare` read changed since: the [model]/[prepare]
    settings, a snippet, or a file of the local model folder; the error names what changed.

    model_card.json records what the tasks were prepared from; tasks written by other means (no
    model card, or no [prepare] table) are taken as they are. Model files are compared only when
    the model folder is here too.
    """
    card_path = definition.folder / "model_card.json"
    if definition.prepare is None or not card_path.is_file():
        return
    try:
        card = json.loads(card_path.read_text(encoding="utf-8"))
        recorded, parts = card.get("prepared_from"), card.get("prepared_from_parts")
    except (json.JSONDecodeError, AttributeError):
        raise InstrumentError(f"{card_path}: not a JSON object; run `codeq prepare {definition.folder}`") from None
    if recorded is None:
        return
    now = preparation_parts(definition)
    if isinstance(parts, dict) and preparation_hash(parts) == recorded:
        changed = changed_parts(parts, now)
    else:  # a card without its parts (or not matching them): only the whole can be compared
        changed = [] if preparation_hash(now) == recorded else ["the snippets, the settings or the model"]
    if changed:
        raise InstrumentError(
            f"{definition.folder / 'tasks.jsonl'} is stale: {'; '.join(changed)} since it was prepared; "
            f"run `codeq prepare {definition.folder}`"
        )


def attention_tasks(path: Path, checks: list[AttentionCheck], tasks: list[Task]) -> tuple[list[Task], list[dict]]:
    """Build one task per attention check; return them and the checks as dicts with their expected units."""
    by_id = {t.task_id: t for t in tasks}
    out, records = [], []
    for i, check in enumerate(checks):
        base = by_id.get(check.base_task or tasks[0].task_id)
        if base is None:
            raise InstrumentError(f"{path}: attention_checks[{i}] base_task '{check.base_task}' is not in tasks.jsonl")
        expected = [k for k in base.selectable if base.units[k].text == check.select_text]
        if not expected:
            raise InstrumentError(f"{path}: attention_checks[{i}]: no selectable unit reads {check.select_text!r}")
        records.append({**asdict(check), "expected": expected})
        out.append(renamed(base, check.id))
    return out, records


def renamed(task: Task, task_id: str) -> Task:
    """Return a copy of ``task`` under another id (the same code serving another purpose)."""
    return Task.from_dict({**asdict(task), "task_id": task_id})


def load_instrument(folder: str | Path) -> Instrument:
    """Read and check an instrument folder; raise InstrumentError with a one-line reason."""
    folder = Path(folder)
    try:
        definition = read_definition(folder)
    except StudyError as err:
        raise InstrumentError(str(err)) from None
    toml_path = folder / "study.toml"
    try:
        tasks = read_tasks(folder / TASKS_FILE)
        tutorial_path = folder / "tutorial.jsonl"
        if not tutorial_path.is_file():  # a main task must not double as the practice task
            raise InstrumentError(
                f"{tutorial_path}: no such file; every study needs a practice task (a tutorial snippet "
                f"prepared by `codeq prepare {folder}`)"
            )
        tutorial = read_tasks(tutorial_path)
    except ContractError as err:
        raise InstrumentError(str(err)) from None
    check_fresh(definition)
    n = definition.study.tasks_per_participant
    if len(tasks) < n:
        raise InstrumentError(f"{toml_path}: tasks_per_participant = {n} but tasks.jsonl has only {len(tasks)} tasks")
    attention, checks = attention_tasks(toml_path, definition.attention_checks, tasks)
    shown = definition.annotation.explainer
    try:  # phase 2 and the tutorial's feedback show this explainer's set: every task must carry it
        for task in tutorial + tasks:
            task.explanation(shown)
    except ContractError as err:
        raise InstrumentError(f"{toml_path}: [annotation] explainer = {shown!r}: {err}") from None
    ids = [t.task_id for t in tutorial + tasks + attention]
    if len(set(ids)) != len(ids):
        duplicate = next(i for i in ids if ids.count(i) > 1)
        raise InstrumentError(
            f"{folder}: task id '{duplicate}' is used twice (tutorial, tasks and attention checks share ids)"
        )
    config = {
        "study": asdict(definition.study),
        "annotation": asdict(definition.annotation),
        "tutorial": asdict(definition.tutorial),
        "attention_checks": checks,
        "consent": definition.consent,
        "questions": [asdict(q) for q in definition.questions],
        "prolific": asdict(definition.prolific),
    }
    if definition.model is not None:
        config["model"] = asdict(definition.model)
    if definition.prepare is not None:
        config["prepare"] = asdict(definition.prepare)
    return Instrument(
        slug=definition.study.id,
        definition=definition,
        config=config,
        tasks=tasks,
        tutorial=tutorial,
        attention=attention,
        content_hash=content_hash(folder),
    )
