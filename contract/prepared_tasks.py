"""The data contract: one prepared study task per line of ``tasks.jsonl``.

Written by ``codeq prepare``, read by ``study_app`` and ``analysis``. Light (no torch).
All spans are end-exclusive *character* offsets into ``Task.text`` (= prompt + completion),
so ``task.text[u.start:u.end] == u.text`` holds for every unit and token.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field
from pathlib import Path

from contract.errors import UserError

TASKS_FILE = "tasks.jsonl"  # a study folder's prepared tasks (codeq prepare writes it, the app loads it)
SCHEMA_VERSION = 2  # 2 adds Task.explanations; version 1 files are still read (greedy only)

# Explainer names (implemented in codeq.explainers); set-valued ones give a set, the others only scores.
EXPLAINERS = (
    "greedy",
    "attention",
    "attention_rollout",
    "saliency",
    "grad_x_input",
    "integrated_gradients",
    "occlusion",
)
SET_EXPLAINERS = ("greedy",)


def selectable_range(context_start: int, target_unit_index: int) -> range:
    """The units a participant may select: from ``context_start`` up to, not including, the target's unit."""
    return range(context_start, target_unit_index)


def selectable_of(task: dict) -> range:
    """``Task.selectable`` of a task kept as a plain dict (as the study app stores it)."""
    return selectable_range(task["context_start"], task["target"]["unit_index"])


class ContractError(UserError):
    """A tasks file does not follow the contract; the message names the file, line and field."""


@dataclass
class ModelInfo:
    name: str
    revision: str
    dtype: str


@dataclass
class Unit:
    """A code unit: a tree-sitter leaf or a whitespace unit (newline, indentation run)."""

    index: int
    start: int
    end: int
    text: str
    category: str
    group: str
    node_path: list[str] = field(default_factory=list)  # node types from the root down; last = the unit's own


@dataclass
class Token:
    """A model BPE token with its character span and the units it overlaps."""

    index: int
    start: int
    end: int
    id: int
    units: list[int]


@dataclass
class Target:
    token_index: int  # position t of the predicted token in ``tokens``
    token_id: int
    unit_index: int  # the unit the target token falls in (the boxed unit)
    text: str


@dataclass
class ModelRationale:
    positions: list[int]  # token positions in the order they were added; first is t-1
    probabilities: list[float]  # p(target | S) after each addition
    top_prediction: int  # the model's argmax token id under the final S
    converged: bool
    units: list[int]  # unit indices in the order they entered (first token reaching each unit)
    unit_gains: list[float]  # probability gain of the step that brought each unit in, same order


@dataclass
class Explanation:
    """One explainer's account of a task's target, over the units left of the target unit."""

    unit_scores: list[float]  # one per unit 0..target.unit_index-1; higher = more important
    units: list[int]  # its set, best (or first entered) first: see docs/explainers.md
    comprehensiveness: float | None = None  # p(target | x) - p(target | x without ``units``); None: undefined
    sufficiency: float | None = None  # p(target | x) - p(target | ``units`` only); None: undefined


@dataclass
class Task:
    task_id: str
    language: str
    model: ModelInfo
    snippet_id: str
    prompt: str
    completion: str
    units: list[Unit]
    tokens: list[Token]
    target: Target
    rationale: ModelRationale
    context_start: int  # first selectable unit index; selectable = [context_start, target.unit_index)
    schema_version: int = SCHEMA_VERSION
    explanations: dict[str, Explanation] = field(default_factory=dict)  # by explainer name (EXPLAINERS)

    @property
    def text(self) -> str:
        return self.prompt + self.completion

    @property
    def selectable(self) -> range:
        return selectable_range(self.context_start, self.target.unit_index)

    def explainer_names(self) -> list[str]:
        """Return the explainers this task carries, in :data:`EXPLAINERS` order; greedy always."""
        return [name for name in EXPLAINERS if name in self.explanations or name == "greedy"]

    def explanation(self, name: str) -> Explanation:
        """Return explainer ``name``'s explanation; greedy's comes from ``rationale`` when not stored.

        Raises ContractError when the task has none by that name.
        """
        if name in self.explanations:
            return self.explanations[name]
        if name == "greedy":  # version 1 files, or a study whose [prepare] explainers leave greedy out
            chosen = set(self.rationale.units)
            return Explanation(
                unit_scores=[float(k in chosen) for k in range(self.target.unit_index)],
                units=list(self.rationale.units),
            )
        raise ContractError(
            f"task {self.task_id} has no {name!r} explanation "
            f"(has: {', '.join(self.explainer_names())}); add it to [prepare] explainers"
        )

    def to_json(self) -> str:
        d = asdict(self)
        if not d["explanations"]:  # a version 1 task round-trips byte for byte
            del d["explanations"]
        return json.dumps(d, ensure_ascii=False, sort_keys=True, separators=(",", ":"))

    @classmethod
    def from_dict(cls, d: dict) -> Task:
        """Build a task from its JSON object; a newer ``schema_version`` than this codeq reads is an error."""
        version = d.get("schema_version", SCHEMA_VERSION)
        if not isinstance(version, int) or isinstance(version, bool) or version < 1:
            raise ContractError(f"schema_version must be a positive integer, got {version!r}")
        if version > SCHEMA_VERSION:
            raise ContractError(
                f"schema_version {version} is newer than this codeq reads ({SCHEMA_VERSION}): upgrade codeq-study"
            )
        d = dict(d)
        d["model"] = ModelInfo(**d["model"])
        d["units"] = [Unit(**u) for u in d["units"]]
        d["tokens"] = [Token(**t) for t in d["tokens"]]
        d["target"] = Target(**d["target"])
        d["rationale"] = ModelRationale(**d["rationale"])
        version = d.get("schema_version", 1)
        if not isinstance(version, int) or version > SCHEMA_VERSION:
            raise ContractError(
                f"schema_version {version!r} is newer than this codeq reads ({SCHEMA_VERSION}): upgrade codeq-study"
            )
        d["explanations"] = {name: Explanation(**e) for name, e in d.get("explanations", {}).items()}
        return cls(**d)

    def validate(self) -> None:
        """Check the invariants every consumer relies on; raise ContractError naming the field."""
        text = self.text
        for u in self.units:
            if text[u.start : u.end] != u.text:
                raise ContractError(f"units[{u.index}]: text {u.text!r} != text[{u.start}:{u.end}]")
        for i, u in enumerate(self.units):
            if u.index != i:
                raise ContractError(f"units[{i}]: index is {u.index}")
        for t in self.tokens:
            if any(not 0 <= k < len(self.units) for k in t.units):
                raise ContractError(f"tokens[{t.index}]: unit index out of range")
        if not 0 <= self.target.token_index < len(self.tokens):
            raise ContractError("target.token_index out of range")
        if not 0 <= self.context_start <= self.target.unit_index < len(self.units):
            raise ContractError("context_start / target.unit_index out of range")
        if any(p >= self.target.token_index for p in self.rationale.positions):
            raise ContractError("rationale.positions must lie left of the target")
        if len(self.rationale.units) != len(self.rationale.unit_gains):
            raise ContractError("rationale.units and rationale.unit_gains differ in length")
        for name, e in self.explanations.items():
            if name not in EXPLAINERS:
                raise ContractError(f"explanations: unknown explainer {name!r}")
            if len(e.unit_scores) != self.target.unit_index:
                raise ContractError(
                    f"explanations.{name}: {len(e.unit_scores)} unit_scores for "
                    f"{self.target.unit_index} units left of the target"
                )
            if any(not 0 <= k < self.target.unit_index for k in e.units):
                raise ContractError(f"explanations.{name}: units must lie left of the target")


def parse_task(text: str, where: str) -> Task:
    """Parse and validate one task from its JSON text; a ContractError names ``where`` (file and line, or shard and row)."""
    try:
        task = Task.from_dict(json.loads(text))
        task.validate()
    except KeyError as err:
        raise ContractError(f"{where}: missing field {err} (not a codeq task?)") from None
    except (json.JSONDecodeError, TypeError, ContractError) as err:
        raise ContractError(f"{where}: {err}") from None
    return task


def read_tasks(path: str | Path) -> list[Task]:
    """Read and validate a tasks.jsonl file."""
    path = Path(path)
    if not path.exists():
        raise ContractError(f"{path}: no such file")
    tasks = []
    for lineno, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
        if not line.strip():
            continue
        tasks.append(parse_task(line, f"{path}:{lineno}"))
    ids = [t.task_id for t in tasks]
    if len(set(ids)) != len(ids):
        raise ContractError(f"{path}: duplicate task_id")
    return tasks


def write_tasks(tasks: list[Task], path: str | Path) -> None:
    """Write tasks one JSON object per line, keys sorted, so equal inputs give identical bytes."""
    Path(path).write_text("".join(t.to_json() + "\n" for t in tasks), encoding="utf-8")
