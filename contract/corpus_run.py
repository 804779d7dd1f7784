"""A corpus run's folder and tables, as data: file names, column names, Arrow types and what each
column means.

The engine writes them (``codeq corpus run``) and ``analysis`` reads them: a run folder holds
``manifest.json`` (its settings), ``rationales/`` (one row per item x target, whose ``task`` column
holds a full contract task, exactly one ``tasks.jsonl`` line) and ``errors/`` (one row per failed item).
"""

from __future__ import annotations

import pyarrow as pa

from contract.prepared_tasks import Task

MANIFEST = "manifest.json"
RATIONALES = "rationales"
ERRORS = "errors"
TASK_COLUMN = "task"

RATIONALE_COLUMNS = [
    ("item_id", pa.string(), "the input item (JSONL/Parquet id, or path-function-line for a folder)"),
    ("task_id", pa.string(), "<item_id>-t<n>, targets numbered in text order"),
    ("language", pa.string(), "python, java or javascript"),
    ("target_position", pa.int64(), "token index t of the target in the task's tokens"),
    ("target_token", pa.string(), "the target token's text"),
    ("target_token_id", pa.int64(), "the target token's vocabulary id"),
    ("target_unit", pa.int64(), "index of the unit the target token starts"),
    ("target_category", pa.string(), "that unit's category"),
    ("rationale_positions", pa.list_(pa.int64()), "token positions in the order the search added them"),
    ("rationale_probabilities", pa.list_(pa.float64()), "p(target | S) after each addition"),
    ("rationale_units", pa.list_(pa.int64()), "unit indices in the order they entered the rationale"),
    ("rationale_categories", pa.list_(pa.string()), "the category of each of those units"),
    ("converged", pa.bool_(), "whether the argmax test held (never dropped when false)"),
    ("model", pa.string(), "model name as given to --model"),
    ("model_revision", pa.string(), "hub commit hash, or 'local'"),
    ("dtype", pa.string(), "the model's dtype"),
    ("codeq_version", pa.string(), "engine version"),
    ("torch_version", pa.string(), "torch version of the worker"),
    ("transformers_version", pa.string(), "transformers version of the worker"),
    (TASK_COLUMN, pa.string(), "the contract task as JSON, exactly a tasks.jsonl line"),
]

REASONS = ("unreadable", "duplicate_id", "empty", "unparsable", "too_long", "no_target", "failed")

ERROR_COLUMNS = [
    ("item_id", pa.string(), "the item, or <input file>:<line> when the line gave no usable id"),
    ("reason", pa.string(), "why the item gave no rationale: one of REASONS"),
    ("message", pa.string(), "one line saying what is wrong"),
    ("codeq_version", pa.string(), "engine version"),
]

SCHEMAS = {
    RATIONALES: pa.schema([pa.field(name, kind) for name, kind, _ in RATIONALE_COLUMNS]),
    ERRORS: pa.schema([pa.field(name, kind) for name, kind, _ in ERROR_COLUMNS]),
}


def task_row(item_id: str, task: Task, versions: dict[str, str]) -> dict:
    """Return the ``rationales`` row of one task; ``versions`` gives the four version columns."""
    token = task.tokens[task.target.token_index]
    target_unit = task.units[task.target.unit_index]
    return {
        "item_id": item_id,
        "task_id": task.task_id,
        "language": task.language,
        "target_position": token.index,
        "target_token": task.text[token.start : token.end],
        "target_token_id": token.id,
        "target_unit": target_unit.index,
        "target_category": target_unit.category,
        "rationale_positions": task.rationale.positions,
        "rationale_probabilities": task.rationale.probabilities,
        "rationale_units": task.rationale.units,
        "rationale_categories": [task.units[u].category for u in task.rationale.units],
        "converged": task.rationale.converged,
        "model": task.model.name,
        "model_revision": task.model.revision,
        "dtype": task.model.dtype,
        **versions,
        TASK_COLUMN: task.to_json(),
    }


def error_row(item_id: str, reason: str, message: str) -> dict:
    """Return the ``errors`` row of an item that gave no rationale; ``reason`` is one of REASONS."""
    import codeq

    if reason not in REASONS:
        raise ValueError(f"unknown error reason {reason!r}")
    return {"item_id": item_id, "reason": reason, "message": message, "codeq_version": codeq.__version__}
