"""Read a study's instrument folder (study.toml, consent.md, questionnaire.toml, tasks) into plain data."""

from __future__ import annotations

import hashlib
import tomllib
from dataclasses import asdict, dataclass
from pathlib import Path

from codeq.contract import ContractError, Task, read_tasks

FILES = ("study.toml", "consent.md", "questionnaire.toml", "tasks.jsonl", "tutorial.jsonl")
STUDY_KEYS = ("id", "title", "researcher", "contact", "estimated_minutes", "description",
              "tasks_per_participant", "seed")
ANNOTATION_DEFAULTS = {"confidence": True, "would_predict": True, "second_phase": False, "explainer": "greedy",
                       "min_selected": 1, "question": "Click the code tokens you think mattered most "
                                                     "for the model to produce its next token."}
QUESTION_TYPES = ("choice", "number", "text")


class InstrumentError(ValueError):
    """The instrument folder is unusable; the message names the file and the problem."""


@dataclass
class Instrument:
    slug: str
    config: dict  # study.toml sections, plus "consent" (markdown) and "questions"
    tasks: list[Task]
    tutorial: list[Task]
    attention: list[Task]  # one per [[attention_checks]], code copied from its base task
    content_hash: str


def read_toml(path: Path) -> dict:
    """Parse a TOML file, naming the file in any error."""
    if not path.exists():
        raise InstrumentError(f"{path}: no such file")
    try:
        return tomllib.loads(path.read_text(encoding="utf-8"))
    except tomllib.TOMLDecodeError as err:
        raise InstrumentError(f"{path}: {err}") from None


def content_hash(folder: Path) -> str:
    """Hash every instrument file, so any change makes a new study version."""
    h = hashlib.sha256()
    for name in FILES:
        path = folder / name
        if path.exists():
            h.update(name.encode() + b"\0" + path.read_bytes() + b"\0")
    return h.hexdigest()


def study_section(path: Path, config: dict) -> dict:
    """Return [study] with its keys checked."""
    study = config.get("study")
    if not isinstance(study, dict):
        raise InstrumentError(f"{path}: missing [study] section")
    for key in STUDY_KEYS:
        if key not in study:
            raise InstrumentError(f"{path}: [study] is missing key '{key}'")
    n = study["tasks_per_participant"]
    if not isinstance(n, int) or n < 1:
        raise InstrumentError(f"{path}: [study] tasks_per_participant must be a positive integer")
    return study


def questions(path: Path) -> list[dict]:
    """Return the questionnaire's questions, each with an id, a text and a known type."""
    items = read_toml(path).get("questions", [])
    for i, q in enumerate(items):
        if not {"id", "text"} <= q.keys():
            raise InstrumentError(f"{path}: questions[{i}] needs 'id' and 'text'")
        if q.get("type", "choice") not in QUESTION_TYPES:
            raise InstrumentError(f"{path}: questions[{i}] type must be one of {', '.join(QUESTION_TYPES)}")
        if q.get("type", "choice") == "choice" and not q.get("options"):
            raise InstrumentError(f"{path}: questions[{i}] ('{q['id']}') is a choice without options")
    return items


def attention_tasks(path: Path, checks: list[dict], tasks: list[Task]) -> list[Task]:
    """Build one task per attention check and store its expected units in the check."""
    by_id = {t.task_id: t for t in tasks}
    out = []
    for i, check in enumerate(checks):
        for key in ("id", "instruction", "select_text", "after"):
            if key not in check:
                raise InstrumentError(f"{path}: attention_checks[{i}] is missing key '{key}'")
        base = by_id.get(check.get("base_task", tasks[0].task_id))
        if base is None:
            raise InstrumentError(f"{path}: attention_checks[{i}] base_task '{check['base_task']}' is not in tasks.jsonl")
        expected = [k for k in base.selectable if base.units[k].text == check["select_text"]]
        if not expected:
            raise InstrumentError(f"{path}: attention_checks[{i}]: no selectable unit reads {check['select_text']!r}")
        check["expected"] = expected
        out.append(renamed(base, check["id"]))
    return out


def renamed(task: Task, task_id: str) -> Task:
    """Return a copy of ``task`` under another id (the same code serving another purpose)."""
    return Task.from_dict({**asdict(task), "task_id": task_id})


def load_instrument(folder: str | Path) -> Instrument:
    """Read and check an instrument folder; raise InstrumentError with a one-line reason."""
    folder = Path(folder)
    if not folder.is_dir():
        raise InstrumentError(f"{folder}: no such study folder")
    toml_path = folder / "study.toml"
    config = read_toml(toml_path)
    study = study_section(toml_path, config)
    consent = folder / "consent.md"
    if not consent.exists():
        raise InstrumentError(f"{consent}: no such file")
    try:
        tasks = read_tasks(folder / "tasks.jsonl")
        tutorial_path = folder / "tutorial.jsonl"
        tutorial = (read_tasks(tutorial_path) if tutorial_path.exists()
                    else [renamed(tasks[0], f"tutorial-{tasks[0].task_id}")])
    except ContractError as err:
        raise InstrumentError(str(err)) from None
    if len(tasks) < study["tasks_per_participant"]:
        raise InstrumentError(f"{toml_path}: tasks_per_participant = {study['tasks_per_participant']} "
                              f"but tasks.jsonl has only {len(tasks)} tasks")
    config["annotation"] = {**ANNOTATION_DEFAULTS, **config.get("annotation", {})}
    shown = config["annotation"]["explainer"]
    try:  # phase 2 and the tutorial's feedback show this explainer's set: every task must carry it
        for task in tutorial + tasks:
            task.explanation(shown)
    except ContractError as err:
        raise InstrumentError(f"{toml_path}: [annotation] explainer = {shown!r}: {err}") from None
    config["tutorial"] = config.get("tutorial", {})
    checks = config.setdefault("attention_checks", [])
    attention = attention_tasks(toml_path, checks, tasks)
    ids = [t.task_id for t in tutorial + tasks + attention]
    if len(set(ids)) != len(ids):
        duplicate = next(i for i in ids if ids.count(i) > 1)
        raise InstrumentError(f"{folder}: task id '{duplicate}' is used twice (tutorial, tasks and attention checks share ids)")
    config["consent"] = consent.read_text(encoding="utf-8")
    config["questions"] = questions(folder / "questionnaire.toml")
    return Instrument(slug=str(study["id"]), config=config, tasks=tasks, tutorial=tutorial,
                      attention=attention, content_hash=content_hash(folder))
