"""Read contract tasks for global explanations: a ``tasks.jsonl`` file, a study folder holding one,
or a folder of corpus Parquet shards.

A corpus run writes Parquet shards whose rows carry one contract task each, as JSON in a string
column ``task`` (the same text as a ``tasks.jsonl`` line). Both inputs give the same list of
:class:`contract.prepared_tasks.Task`, so every table and number built from them is the same.
"""

from __future__ import annotations

from pathlib import Path

import pyarrow.parquet as pq
from tqdm import tqdm

from contract.corpus_run import MANIFEST, RATIONALES, TASK_COLUMN
from contract.prepared_tasks import TASKS_FILE, ContractError, Task, parse_task, read_tasks


def read_task_input(path) -> list[Task]:
    """Return the validated tasks of a ``.jsonl`` file or of every ``*.parquet`` shard under a folder.

    Parameters
    ----------
    path : str or pathlib.Path
        A tasks JSON Lines file (:func:`contract.prepared_tasks.read_tasks`), or a folder searched
        recursively for ``*.parquet`` shards with a string column ``task``; shards are read in
        sorted path order, rows in file order. A corpus run's folder (``codeq corpus run --out``)
        may be given itself: its ``rationales/`` shards are read and its ``errors/`` table left out.
        A study folder (``instruments/<study>``, with ``tasks.jsonl``) gives its main tasks.

    Raises
    ------
    contract.prepared_tasks.ContractError
        No such file or folder, a folder without shards, a shard without a ``task`` column, a row
        that is not a valid task (the message names shard and row, counted from 1), or a task id
        that repeats.
    """
    path = Path(path)
    if path.is_file():
        return read_tasks(path)
    if not path.is_dir():
        raise ContractError(f"{path}: no such file or folder")
    if (path / TASKS_FILE).is_file():
        return read_tasks(path / TASKS_FILE)
    if (path / MANIFEST).is_file() and (path / RATIONALES).is_dir():
        path = path / RATIONALES
    shards = sorted(p for p in path.rglob("*.parquet") if p.is_file())
    if not shards:
        raise ContractError(f"{path}: no tasks file and no *.parquet shards in this folder")
    tasks = []
    for shard in tqdm(shards, desc="reading shards", unit="shard", disable=True if len(shards) < 2 else None):
        tasks.extend(_shard_tasks(shard, path))
    ids = [t.task_id for t in tasks]
    if len(set(ids)) != len(ids):
        raise ContractError(f"{path}: duplicate task_id across shards")
    return tasks


def _shard_tasks(shard: Path, root: Path) -> list[Task]:
    name = shard.relative_to(root)
    try:
        table = pq.read_table(shard, columns=[TASK_COLUMN])
    except (KeyError, ValueError, OSError) as err:
        if TASK_COLUMN not in _columns(shard):
            raise ContractError(f"{name}: no '{TASK_COLUMN}' column (not a corpus shard?)") from None
        raise ContractError(f"{name}: cannot be read ({str(err).splitlines()[0]})") from None
    return [parse_task(text, f"{name}: row {row}") for row, text in enumerate(table.column(TASK_COLUMN).to_pylist(), 1)]


def _columns(shard: Path) -> list[str]:
    try:
        return pq.read_schema(shard).names
    except (ValueError, OSError):
        return []
