"""The study definition: the one reader of ``study.toml`` and ``questionnaire.toml``.

``codeq prepare`` and the study app's ``load-study`` both read a study folder through
:func:`read_definition`, so a study one of them accepts the other accepts too, with the same errors.
Every table is a typed dataclass; a missing required key, a wrong type, a value out of range or an
unknown key (a typo) raises :class:`StudyError` with one line naming the file, the table and the
key, and for an unknown key the nearest valid one. Light: the standard library and
``contract.taxonomy`` only. The format is documented in docs/instruments.md.
"""

from __future__ import annotations

import difflib
import hashlib
import importlib.util
import json
import re
import tomllib
import types
import typing
from dataclasses import MISSING, dataclass, field, fields, replace
from pathlib import Path
from typing import Any

from contract.errors import UserError
from contract.prepared_tasks import EXPLAINERS
from contract.taxonomy import LANGUAGES, load_taxonomy

SUFFIXES = {"python": ".py", "java": ".java", "javascript": ".js"}
# Models that ship with codeq, by name; any other [model] name is a local folder or a hub id.
# The engine ships the bundled model as package data; finding its folder with find_spec runs no
# engine code, so a study definition is checked without the engine.
_ENGINE = importlib.util.find_spec("codeq")
assert _ENGINE is not None and _ENGINE.origin is not None  # one distribution installs both packages
BUNDLED = {"codeq-tiny": Path(_ENGINE.origin).parent / "models" / "codeq-tiny"}
# A model folder's files that decide what it writes: the weights, the tokenizer, the architecture.
MODEL_FILES = ("*.safetensors", "*.bin", "config.json", "tokenizer*.json", "vocab.json", "merges.txt", "*.model")
SELECTIONS = ("converged", "all")
DTYPES = ("fp32", "bf16", "fp16")
QUESTION_TYPES = ("choice", "number", "text")
ID = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]*$")


class StudyError(UserError):
    """A study folder is not usable; the message names the file, the table and the key."""


@dataclass(frozen=True)
class StudyInfo:
    """``[study]``: what participants are told and how many tasks each one gets."""

    id: str
    title: str
    researcher: str
    contact: str
    estimated_minutes: int
    description: str
    tasks_per_participant: int
    seed: int  # the study app's assignment seed
    answers_per_task: int | None = None  # usable answers each main task needs; then the study is full
    inactive_after: int = 60  # minutes without activity after which a participant's open tasks are released
    tasks_per_snippet: int = 1  # a snippet's tasks one participant may get (more reveal targets unless ordered)


@dataclass(frozen=True)
class ModelSettings:
    """``[model]``: the model ``codeq prepare`` uses."""

    name: str
    dtype: str = "fp32"


@dataclass(frozen=True)
class TargetRules:
    """How targets are chosen in the model's completions: by ``codeq prepare`` (the rules are
    ``[prepare]`` keys) and by the corpus commands (the rules are options, from each field's help)."""

    language: str = field(metadata={"help": "Language of the code."})
    targets_per_snippet: int = field(metadata={"help": "Targets per prompt (a snippet, a corpus item)."})
    selection: str = field(
        default="converged",
        metadata={"help": "converged: only targets whose rationale converged; all: every one tried."},
    )
    categories: list[str] | None = field(default=None, metadata={"help": "Unit categories a target may have."})
    min_context_units: int = field(default=10, metadata={"help": "Units a target needs before it."})
    max_new_tokens: int = field(default=64, metadata={"help": "Token budget of each completion."})
    # bounds the search when a target does not converge
    max_steps: int | None = field(default=50, metadata={"help": "Most positions a search adds after t-1."})
    seed: int = field(default=0, metadata={"help": "Seed of the order in which targets are tried."})


@dataclass(frozen=True)
class PrepareSettings(TargetRules):
    """``[prepare]``: the target rules, where the snippets are, and the explainers ``codeq prepare`` runs."""

    snippets: str = "snippets"
    tutorial: str = "tutorial"
    # explainers whose unit scores, sets and faithfulness are stored with each task (docs/explainers.md)
    explainers: list[str] = field(default_factory=lambda: ["greedy"])

    def target_rules(self) -> TargetRules:
        """The rules alone, as the tasks are built from them."""
        return TargetRules(**{f.name: getattr(self, f.name) for f in fields(TargetRules)})


OUTCOMES = ("completed", "failed_attention", "screened_out", "full")


@dataclass(frozen=True)
class OutcomeCode:
    """One outcome of ``[prolific]``: the code the end page shows and where it sends the participant."""

    code: str | None = None  # None: completed gets a code per participant, the others show none
    redirect: str = ""  # URL, may hold {code}


@dataclass(frozen=True)
class Prolific:
    """``[prolific]``: how a participant's study ends, and the code and redirect of each ending."""

    # Prolific allows a rejection only after two failed attention checks: that many end the study
    attention_failures: int = 2
    completed: OutcomeCode = field(default_factory=OutcomeCode)
    failed_attention: OutcomeCode = field(default_factory=OutcomeCode)
    screened_out: OutcomeCode = field(default_factory=OutcomeCode)
    full: OutcomeCode = field(default_factory=OutcomeCode)


@dataclass(frozen=True)
class Annotation:
    """``[annotation]``: the questions of the task page."""

    question: str = "Click the code tokens you think mattered most for the model to produce its next token."
    confidence: bool = True
    would_predict: bool = True
    second_phase: bool = False
    explainer: str = "greedy"  # whose set phase 2 and the tutorial's feedback show
    min_selected: int = 1


@dataclass(frozen=True)
class Tutorial:
    """``[tutorial]``: the practice task's text."""

    intro: str = ""


@dataclass(frozen=True)
class AttentionCheck:
    """One ``[[attention_checks]]``: select exactly the units reading ``select_text`` in ``base_task``."""

    id: str
    instruction: str
    select_text: str
    after: int  # comes after the after-th main task
    base_task: str | None = None  # default: the first task


@dataclass(frozen=True)
class Question:
    """One ``[[questions]]`` of questionnaire.toml (export column ``q_<id>``)."""

    id: str
    text: str
    type: str = "choice"
    options: list[str] | None = None
    min: int | None = None
    max: int | None = None
    required: bool = True
    screen_out: list[str] | None = None  # options that end the study with the screened_out outcome


@dataclass(frozen=True)
class StudyDefinition:
    """A study folder's settings, checked."""

    folder: Path
    study: StudyInfo
    model: ModelSettings | None  # None without [model]: the tasks come from elsewhere
    prepare: PrepareSettings | None
    annotation: Annotation = field(default_factory=Annotation)
    tutorial: Tutorial = field(default_factory=Tutorial)
    attention_checks: list[AttentionCheck] = field(default_factory=list)
    questions: list[Question] = field(default_factory=list)
    consent: str = ""
    prolific: Prolific = field(default_factory=Prolific)
    # the [model] and [prepare] tables as written: what tasks.jsonl is prepared from
    preparation: dict[str, Any] = field(default_factory=dict)

    @property
    def snippets_dir(self) -> Path:
        return self.folder / self.for_prepare()[1].snippets

    @property
    def tutorial_dir(self) -> Path:
        return self.folder / self.for_prepare()[1].tutorial

    def for_prepare(self) -> tuple[ModelSettings, PrepareSettings]:
        """Return [model] and [prepare]; raise StudyError when one is missing."""
        if self.model is None or self.prepare is None:
            missing = "[model]" if self.model is None else "[prepare]"
            raise StudyError(f"{self.folder / 'study.toml'}: missing table {missing} (needed by codeq prepare)")
        return self.model, self.prepare


def _kind_ok(value: Any, kind: Any) -> bool:
    """Whether ``value`` (from TOML) fits the annotation ``kind``."""
    if isinstance(kind, types.UnionType):
        return any(_kind_ok(value, k) for k in typing.get_args(kind))
    if kind is type(None):
        return value is None
    if typing.get_origin(kind) is list:
        (item,) = typing.get_args(kind)
        return isinstance(value, list) and all(_kind_ok(v, item) for v in value)
    if kind is int:
        return isinstance(value, int) and not isinstance(value, bool)
    return isinstance(value, kind)


_KIND_NAMES = {int: "an integer", str: "a string", bool: "true or false", list[str]: "a list of strings"}


def _kind_name(kind: Any) -> str:
    parts = [k for k in typing.get_args(kind) if k is not type(None)] if isinstance(kind, types.UnionType) else [kind]
    return " or ".join(_KIND_NAMES.get(k, getattr(k, "__name__", str(k))) for k in parts)


def unknown_key_error(where: str, key: str, valid: list[str]) -> StudyError:
    """The error for a key that is not in ``valid``, naming the nearest valid key."""
    near = difflib.get_close_matches(key, valid, n=1, cutoff=0.5)
    hint = f"did you mean '{near[0]}'?" if near else f"valid keys: {', '.join(valid)}"
    return StudyError(f"{where}: unknown key '{key}' ({hint})")


def parse_table(cls, table: Any, where: str):
    """Build dataclass ``cls`` from a TOML table, checking keys and types; raise StudyError naming ``where``."""
    if not isinstance(table, dict):
        raise StudyError(f"{where}: must be a table")
    hints = typing.get_type_hints(cls)
    known = [f.name for f in fields(cls)]
    for key in table:
        if key not in known:
            raise unknown_key_error(where, key, known)
    values = {}
    for f in fields(cls):
        if f.name not in table:
            if f.default is MISSING and f.default_factory is MISSING:
                raise StudyError(f"{where}: missing required key '{f.name}'")
            continue
        value = table[f.name]
        if not _kind_ok(value, hints[f.name]):
            raise StudyError(f"{where}: {f.name} must be {_kind_name(hints[f.name])}, got {value!r}")
        values[f.name] = value
    return cls(**values)


def _at_least(where: str, obj, least: dict[str, int]) -> None:
    for key, low in least.items():
        value = getattr(obj, key)
        if value is not None and value < low:
            raise StudyError(f"{where}: {key} must be at least {low}, got {value}")


def _one_of(where: str, key: str, value: str, allowed) -> None:
    if value not in allowed:
        raise StudyError(f"{where}: {key} must be one of {', '.join(allowed)}, got {value!r}")


def _check_id(where: str, value: str) -> None:
    if not ID.match(value):
        raise StudyError(f"{where}: id {value!r} must be letters, digits, '-', '_' or '.'")


def read_toml(path: Path) -> dict:
    """Parse a TOML file, naming the file in any error."""
    if not path.is_file():
        raise StudyError(f"{path}: no such file")
    try:
        return tomllib.loads(path.read_text(encoding="utf-8"))
    except tomllib.TOMLDecodeError as err:
        raise StudyError(f"{path}: not valid TOML ({err})") from None


TABLES = ("study", "model", "prepare", "annotation", "tutorial", "attention_checks", "prolific")
MOVED = {  # keys of earlier versions, and where they live now
    "completion_code": "[prolific] completed = { code = ... }",
    "completion_redirect": "[prolific] completed = { redirect = ... }",
}


def read_questions(path: Path) -> list[Question]:
    """Read questionnaire.toml: a list of ``[[questions]]``."""
    data = read_toml(path)
    for key in data:
        if key != "questions":
            raise unknown_key_error(str(path), key, ["questions"])
    items = data.get("questions", [])
    if not isinstance(items, list):
        raise StudyError(f"{path}: questions must be a list of [[questions]] tables")
    out = []
    for i, raw in enumerate(items):
        where = f"{path} questions[{i}]"
        q = parse_table(Question, raw, where)
        _one_of(where, "type", q.type, QUESTION_TYPES)
        if q.type == "choice" and not q.options:
            raise StudyError(f"{where} ('{q.id}'): a choice needs options")
        check_screen_out(where, q)
        out.append(q)
    ids = [q.id for q in out]
    if len(set(ids)) != len(ids):
        raise StudyError(f"{path}: question id '{next(i for i in ids if ids.count(i) > 1)}' is used twice")
    return out


def read_study_info(table: Any, where: str) -> StudyInfo:
    """Read ``[study]``, naming the new place of a key that moved."""
    for key, now in MOVED.items():
        if isinstance(table, dict) and key in table:
            raise StudyError(f"{where}: {key} moved to {now}")
    study = parse_table(StudyInfo, table, where)
    _check_id(where, study.id)
    _at_least(
        where,
        study,
        {
            "tasks_per_participant": 1,
            "estimated_minutes": 1,
            "answers_per_task": 1,
            "inactive_after": 1,
            "tasks_per_snippet": 1,
        },
    )
    return study


def read_prolific(table: Any, where: str) -> Prolific:
    """Read ``[prolific]``: ``attention_failures`` and one ``{ code, redirect }`` table per outcome."""
    if not isinstance(table, dict):
        raise StudyError(f"{where}: must be a table")
    codes = {k: parse_table(OutcomeCode, v, f"{where} {k}") for k, v in table.items() if k in OUTCOMES}
    for name, outcome in codes.items():
        if outcome.redirect and not outcome.redirect.startswith(("https://", "http://")):
            raise StudyError(f"{where} {name}: redirect must be an http(s) URL, got {outcome.redirect!r}")
    settings = parse_table(Prolific, {k: v for k, v in table.items() if k not in OUTCOMES}, where)
    _at_least(where, settings, {"attention_failures": 1})
    return replace(settings, **codes)


def check_screen_out(where: str, question: Question) -> None:
    """A screen-out rule names options of a choice question."""
    if question.screen_out is None:
        return
    if question.type != "choice":
        raise StudyError(f"{where} ('{question.id}'): screen_out needs a choice question")
    unknown = [o for o in question.screen_out if o not in (question.options or ())]
    if unknown:
        raise StudyError(f"{where} ('{question.id}'): screen_out names {unknown[0]!r}, not one of its options")


def read_definition(folder: str | Path) -> StudyDefinition:
    """Read and check ``folder``'s study.toml, questionnaire.toml and consent.md."""
    folder = Path(folder)
    if not folder.is_dir():
        raise StudyError(f"{folder}: no such study folder")
    path = folder / "study.toml"
    if not path.is_file():
        raise StudyError(f"{path}: no such file (is {folder} a study folder?)")
    data = read_toml(path)
    for key in data:
        if key not in TABLES:
            raise unknown_key_error(str(path), key, list(TABLES))
    if "study" not in data:
        raise StudyError(f"{path}: missing table [study]")
    where = f"{path} [study]"
    study = read_study_info(data["study"], where)
    model = prep = None
    if "model" in data:
        where = f"{path} [model]"
        model = parse_table(ModelSettings, data["model"], where)
        _one_of(where, "dtype", model.dtype, DTYPES)
    if "prepare" in data:
        where = f"{path} [prepare]"
        prep = parse_table(PrepareSettings, data["prepare"], where)
        _one_of(where, "language", prep.language, LANGUAGES)
        _one_of(where, "selection", prep.selection, SELECTIONS)
        _at_least(
            where,
            prep,
            {"targets_per_snippet": 1, "min_context_units": 0, "max_new_tokens": 1, "seed": 0, "max_steps": 1},
        )
        valid = load_taxonomy(prep.language).categories
        unknown = sorted(set(prep.categories or ()) - set(valid))
        if unknown:
            near = difflib.get_close_matches(unknown[0], valid, n=1, cutoff=0.5)
            hint = f"did you mean '{near[0]}'? " if near else ""
            raise StudyError(
                f"{where}: categories has {unknown[0]!r}, not a {prep.language} category "
                f"({hint}valid: {', '.join(valid)})"
            )
        for name in prep.explainers:
            _one_of(where, "explainers", name, EXPLAINERS)
        if len(set(prep.explainers)) != len(prep.explainers):
            raise StudyError(f"{where}: explainers names one explainer twice")
    where = f"{path} [annotation]"
    annotation = parse_table(Annotation, data.get("annotation", {}), where)
    _at_least(where, annotation, {"min_selected": 0})
    _one_of(where, "explainer", annotation.explainer, EXPLAINERS)
    tutorial = parse_table(Tutorial, data.get("tutorial", {}), f"{path} [tutorial]")
    raw_checks = data.get("attention_checks", [])
    if not isinstance(raw_checks, list):
        raise StudyError(f"{path}: attention_checks must be a list of [[attention_checks]] tables")
    checks = [parse_table(AttentionCheck, c, f"{path} attention_checks[{i}]") for i, c in enumerate(raw_checks)]
    consent = folder / "consent.md"
    if not consent.is_file():
        raise StudyError(f"{consent}: no such file")
    return StudyDefinition(
        folder=folder,
        study=study,
        model=model,
        prepare=prep,
        annotation=annotation,
        tutorial=tutorial,
        attention_checks=checks,
        questions=read_questions(folder / "questionnaire.toml"),
        consent=consent.read_text(encoding="utf-8"),
        prolific=read_prolific(data.get("prolific", {}), f"{path} [prolific]"),
        preparation={k: data[k] for k in ("model", "prepare") if k in data},
    )


def snippet_files(folder: Path, language: str) -> list[Path]:
    """The snippet files of ``folder`` for ``language``, sorted by name (none if the folder is absent)."""
    return sorted(folder.glob(f"*{SUFFIXES[language]}")) if folder.is_dir() else []


def ignored_files(folder: Path, language: str) -> list[Path]:
    """The files of ``folder`` that are not ``language`` snippets (another language, ``.JAVA``), sorted."""
    if not folder.is_dir():
        return []
    kept = set(snippet_files(folder, language))
    return sorted(p for p in folder.iterdir() if p.is_file() and not p.name.startswith(".") and p not in kept)


def model_folder(name: str) -> Path | None:
    """The local folder of a [model] name (bundled or a path), or None for a hub id or a missing folder."""
    folder = BUNDLED.get(name, Path(name).expanduser())
    return folder if (folder / "config.json").is_file() else None


def _digest(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def preparation_parts(definition: StudyDefinition) -> dict[str, str]:
    """A hash of each thing ``codeq prepare`` reads, by name: the [model] and [prepare] tables
    (``study.toml``), every snippet and tutorial file (by its path in the study folder) and, when the
    model is a local folder, its weight, tokenizer and config files (``model/<file>``)."""
    prep = definition.for_prepare()[1]
    parts = {"study.toml": _digest(json.dumps(definition.preparation, sort_keys=True).encode())}
    for folder in (definition.snippets_dir, definition.tutorial_dir):
        for path in snippet_files(folder, prep.language):
            parts[path.relative_to(definition.folder).as_posix()] = _digest(path.read_bytes())
    model = model_folder(definition.for_prepare()[0].name)
    if model is not None:
        for path in sorted({p for pattern in MODEL_FILES for p in model.glob(pattern) if p.is_file()}):
            parts[f"model/{path.name}"] = _digest(path.read_bytes())
    return parts


def preparation_hash(parts: dict[str, str]) -> str:
    """One hash of :func:`preparation_parts`: ``codeq prepare`` records it in model_card.json."""
    return _digest(json.dumps(parts, sort_keys=True).encode())


def changed_parts(recorded: dict[str, str], now: dict[str, str]) -> list[str]:
    """What differs between two :func:`preparation_parts`, one phrase each ("snippets/a.py changed").

    Model files count only where both sides have the model folder: a study app server need not
    hold the model its tasks were prepared with.
    """
    has_model = any(k.startswith("model/") for k in now) and any(k.startswith("model/") for k in recorded)
    out = []
    for name in sorted(recorded.keys() | now.keys()):
        if name.startswith("model/") and not has_model:
            continue
        if name not in now:
            out.append(f"{name} was removed")
        elif name not in recorded:
            out.append(f"{name} was added")
        elif recorded[name] != now[name]:
            out.append(f"{name} changed" if name != "study.toml" else "study.toml's [model] or [prepare] changed")
    return out
