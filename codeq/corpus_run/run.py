"""Drive a corpus run: check the manifest, skip finished items, feed an engine, write its shards.

Exactly once: an item is finished when its id appears in a ``rationales`` or ``errors`` shard;
a restart reads those ids and sends only the other items. Engines get calls of up to
``items_per_call`` items (the worker rationalizes them together, within ``tokens_in_flight``);
the results of a call are cut into groups of at most ``items_per_shard`` items, each written as one errors
shard and then one rationales shard, atomically and named by the group's items. Items already
written are dropped from a result before writing (so an engine that hands back a retried batch
twice cannot duplicate rows).
"""

from __future__ import annotations

import json
import math
import time
from collections import Counter
from pathlib import Path

import pandas as pd
from tqdm.auto import tqdm

from codeq.corpus_run.items import read_items
from codeq.corpus_run.manifest import RunSettings, check_manifest
from codeq.corpus_run.shards import (
    done_items,
    read_table,
    remove_temporaries,
    write_shard,
)
from codeq.corpus_run.worker import TOKENS_IN_FLIGHT
from codeq.model.loading import model_config
from contract.corpus_run import ERRORS, RATIONALES
from contract.errors import UserError

ENGINES = ("local", "ray")
ITEMS_PER_CALL = 64  # default most items of an engine call; a killed run redoes at most this many per worker


def run_corpus(
    input_path: str | Path,
    out: str | Path,
    settings: RunSettings,
    engine: str = "local",
    workers: int = 1,
    gpus_per_worker: float = 0,
    device: str = "auto",
    threads: int | None = None,
    items_per_shard: int = 16,
    progress: bool = True,
    tokens_in_flight: int = TOKENS_IN_FLIGHT,
    items_per_call: int = ITEMS_PER_CALL,
) -> dict:
    """Rationalize every item of ``input_path`` into shards under ``out``; return a summary.

    The summary counts what ``out`` holds (:func:`summarize`) and, under ``"this_run"``, the items
    this call finished, its wall time, and the workers' summed wall and CPU seconds on them.

    Restarting with the same arguments finishes a killed run; ``out`` written with other settings
    is refused (UserError, one line). See docs/scale.md.
    """
    if engine not in ENGINES:
        raise UserError(f"unknown engine {engine!r}: use {' or '.join(ENGINES)}")
    if engine == "local" and (workers != 1 or gpus_per_worker):
        raise UserError("--workers and --gpus-per-worker need --engine ray (the local engine is one worker)")
    if min(workers, items_per_shard, tokens_in_flight, items_per_call) < 1:
        raise UserError("--workers, --items-per-shard, --items-per-call and --tokens-in-flight must be at least 1")
    model_config(settings.model)  # a model that cannot load is reported here, not by every worker
    out = Path(out)
    items, input_errors = read_items(input_path, settings.rules.language)
    if engine == "ray":
        from codeq.corpus_run.ray_engine import import_ray

        import_ray()  # a missing extra is reported before the folder is touched
    check_manifest(out, settings)
    remove_temporaries(out)
    done = done_items(out)
    pending = pd.DataFrame([vars(item) for item in items if item.id not in done], columns=["id", "code", "language"])
    fresh_errors = [e for e in input_errors if e["item_id"] not in done]
    total = len(items) + len(input_errors)
    this_run = {"items": 0, "worker_seconds": 0.0, "worker_cpu_seconds": 0.0}
    start = time.perf_counter()
    with tqdm(
        total=total,
        initial=total - len(pending) - len(fresh_errors),
        unit="item",
        desc="corpus",
        disable=None if progress else True,  # None: a terminal only
        smoothing=0.1,
    ) as bar:
        if len(pending):
            # every worker gets work: a call holds at most a worker's share of the pending items
            per_call = min(items_per_call, math.ceil(len(pending) / workers))
            for result in _engine_results(
                engine, settings, pending, per_call, workers, gpus_per_worker, device, threads, tokens_in_flight
            ):
                finished = _write_results(out, result, done, items_per_shard)
                this_run["items"] += finished
                this_run["worker_seconds"] += float(result["seconds"].sum())
                this_run["worker_cpu_seconds"] += float(result["cpu_seconds"].sum())
                bar.update(finished)
        # input errors last, so a run that fails at start-up (a model that will not load) writes nothing
        if fresh_errors:
            write_shard(out, ERRORS, fresh_errors, [e["item_id"] for e in fresh_errors])
            bar.update(len(fresh_errors))
    this_run["wall_seconds"] = time.perf_counter() - start
    return {**summarize(out), "this_run": {key: round(value, 3) for key, value in this_run.items()}}


def _engine_results(engine, settings, pending, per_call, workers, gpus_per_worker, device, threads, tokens_in_flight):
    if engine == "ray":
        from codeq.corpus_run.ray_engine import run_ray

        return run_ray(
            settings,
            pending,
            per_call,
            workers=workers,
            gpus_per_worker=gpus_per_worker,
            threads=threads,
            tokens_in_flight=tokens_in_flight,
        )
    from codeq.corpus_run.local_engine import run_local

    batches = (pending.iloc[i : i + per_call] for i in range(0, len(pending), per_call))
    return run_local(settings, batches, device=device, threads=threads, tokens_in_flight=tokens_in_flight)


def _write_results(out: Path, result: pd.DataFrame, done: set[str], items_per_shard: int) -> int:
    """Write one result frame's errors and rows, ``items_per_shard`` items a shard; return how many
    new items it finished."""
    result = result[~result["item_id"].isin(done)]
    for start in range(0, len(result), items_per_shard):
        shard = result.iloc[start : start + items_per_shard]
        ids = list(shard["item_id"])
        errors = [json.loads(e) for e in shard["error"] if e]
        rows = [row for r in shard["rows"] if r for row in json.loads(r)]
        if errors:
            write_shard(out, ERRORS, errors, ids)
        if rows:
            write_shard(out, RATIONALES, rows, ids)
        done.update(ids)
    return len(result)


def summarize(out: str | Path) -> dict:
    """Count what ``out`` holds: items with rows, rows, converged rows, and errors by reason."""
    rationales, errors = read_table(out, RATIONALES, columns=["converged"]), read_table(out, ERRORS, columns=["reason"])
    return {
        "out": str(out),
        "items": int(rationales["item_id"].nunique()),
        "rows": len(rationales),
        "converged": int(rationales["converged"].sum()),
        "errors": len(errors),
        "errors_by_reason": dict(sorted(Counter(errors["reason"]).items())),
    }
