"""Parquet shards under a run folder: written atomically, named by their items, read back whole.

A shard of the ``rationales`` or ``errors`` table is written to a hidden temporary file and renamed
into place (``os.replace`` is atomic on one filesystem), so a reader never sees half a shard and a
killed writer leaves only a hidden ``.tmp`` file that readers skip (it neither ends in ``.parquet``
nor escapes pyarrow's dataset discovery, which ignores dot files). Its name
is a hash of the item ids it holds, so writing the same items again replaces the shard rather than
adding a second copy.
"""

from __future__ import annotations

import hashlib
import os
from pathlib import Path

import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq

from contract.corpus_run import ERRORS, RATIONALES, SCHEMAS


def shard_name(item_ids) -> str:
    """Return ``part-<hash of the sorted ids>.parquet``."""
    digest = hashlib.sha256("\n".join(sorted(item_ids)).encode("utf-8")).hexdigest()[:20]
    return f"part-{digest}.parquet"


def shard_files(out: Path, table: str) -> list[Path]:
    return sorted((Path(out) / table).glob("part-*.parquet"))


def write_shard(out: Path, table: str, rows: list[dict], item_ids) -> Path:
    """Write ``rows`` as one shard of ``table`` named after ``item_ids``, atomically."""
    folder = Path(out) / table
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / shard_name(item_ids)
    tmp = folder / f".{path.name}.{os.getpid()}.tmp"
    pq.write_table(pa.Table.from_pylist(rows, schema=SCHEMAS[table]), tmp)
    with tmp.open("rb") as handle:  # the data reaches the disk before the name does
        os.fsync(handle.fileno())
    tmp.replace(path)
    return path


def remove_temporaries(out: Path) -> int:
    """Delete the hidden files killed writers left; return how many there were."""
    stale = [p for table in SCHEMAS for p in (Path(out) / table).glob(".*.tmp")]
    for path in stale:
        path.unlink()
    return len(stale)


def done_items(out: Path) -> set[str]:
    """Return the ids of items that already have rows or an error under ``out``."""
    done = set()
    for table in (RATIONALES, ERRORS):
        for path in shard_files(out, table):
            done.update(pq.read_table(path, columns=["item_id"]).column("item_id").to_pylist())
    return done


def read_table(out: str | Path, table: str = RATIONALES, columns: list[str] | None = None) -> pd.DataFrame:
    """Return every row of ``table`` under ``out``, sorted by item and target (empty with the columns if none).

    Parameters
    ----------
    out : the run folder (``codeq corpus run --out``)
    table : ``"rationales"`` (one row per item x target) or ``"errors"`` (one row per failed item)
    columns : read only these (the sort keys are always read)

    Returns
    -------
    pandas.DataFrame with the columns of :mod:`contract.corpus_run`.
    """
    keys = ["item_id", "target_position"] if table == RATIONALES else ["item_id"]
    files = shard_files(Path(out), table)
    schema = SCHEMAS[table]
    if columns is not None:
        schema = pa.schema([schema.field(name) for name in schema.names if name in {*keys, *columns}])
    data = (
        pa.concat_tables([pq.read_table(p, schema=schema, columns=schema.names) for p in files])
        if files
        else schema.empty_table()
    )
    return data.to_pandas().sort_values(keys, kind="stable").reset_index(drop=True)
