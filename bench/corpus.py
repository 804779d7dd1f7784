"""Benchmark ``codeq corpus run``: items per second, local engine vs Ray with 1 and 2 workers.

    python bench/corpus.py --model codeq-tiny --items 32
    python bench/corpus.py --model codeq-tiny --items 256 --setups ray:1,ray:2 --gpus-per-worker 1   # GPU machine

A setup ending in ``/alone`` sends one item per call (``--items-per-call 1``), as the engine did
before it rationalized many items together: the default setups time the local engine both ways.

Items are held-out standard-library functions (codeq.training.tiny.HELDOUT_MODULES, never trained on), cut as
``codeq corpus run`` cuts a folder (first half of each function); every setup runs the same items into
a fresh folder. Printed per setup: wall time and items/s with start-up included (model loading, Ray
cluster and actors), and from the workers' own clocks the wall and CPU seconds per item. On a shared
machine wall times depend on the other jobs; CPU seconds per item do not, so ``1 / CPU s per item``
is a worker's rate on a core of its own (one torch thread per worker).
"""

from __future__ import annotations

import json
import tempfile
import time
from pathlib import Path

import click

from codeq.corpus_run.manifest import RunSettings
from codeq.corpus_run.run import run_corpus
from codeq.corpus_run.shards import read_table
from codeq.source.snippets import function_snippets
from codeq.study.tasks import TargetRules
from codeq.training.tiny import stdlib_files


def heldout_items(count: int) -> list[dict]:
    items = []
    for path in stdlib_files()[1]:
        items += [{"id": s.snippet_id, "code": s.prompt} for s in function_snippets(path, "python", name=path.stem)]
        if len(items) >= count:
            break
    return items[:count]


@click.command()
@click.option("--model", default="codeq-tiny", show_default=True)
@click.option("--dtype", default="fp32", show_default=True)
@click.option("--items", "count", default=32, show_default=True)
@click.option(
    "--setups",
    default="local/alone,local,ray:1,ray:2",
    show_default=True,
    help="Comma-separated: local or ray:<workers>, each optionally ending in /alone (one item per call).",
)
@click.option("--tokens-in-flight", default=4096, show_default=True, help="The workers' tokens_in_flight.")
@click.option("--threads", default=1, show_default=True, help="CPU threads per worker (local too, for a fair split).")
@click.option("--gpus-per-worker", default=0.0, show_default=True)
@click.option("--device", default="auto", show_default=True, help="Device of the local engine.")
def bench(model, dtype, count, setups, tokens_in_flight, threads, gpus_per_worker, device):
    items = heldout_items(count)
    settings = RunSettings(
        model=model, dtype=dtype, rules=TargetRules(language="python", targets_per_snippet=4, selection="all")
    )
    with tempfile.TemporaryDirectory() as tmp:
        corpus = Path(tmp) / "items.jsonl"
        corpus.write_text("".join(json.dumps(item) + "\n" for item in items), encoding="utf-8")
        print(f"{len(items)} items, model {model} {dtype}, {threads} thread(s) per CPU worker", flush=True)
        first = None
        for setup in setups.split(","):
            where, _, alone = setup.partition("/")
            engine, _, workers = where.partition(":")
            start = time.perf_counter()
            out = Path(tmp) / setup.replace(":", "-").replace("/", "-")
            summary = run_corpus(
                corpus,
                out,
                settings,
                engine=engine,
                workers=int(workers or 1),
                gpus_per_worker=gpus_per_worker if engine == "ray" else 0,
                device=device,
                threads=threads,
                items_per_shard=1,
                progress=False,
                tokens_in_flight=tokens_in_flight,
                **({"items_per_call": 1} if alone else {}),
            )
            wall = time.perf_counter() - start
            run = summary["this_run"]
            cpu_per_item = run["worker_cpu_seconds"] / run["items"]
            rows = read_table(out)
            first = rows if first is None else first
            # decisions exactly; probabilities move in the last bits with the passes' row counts (docs/scale.md)
            exact = [c for c in rows.columns if c not in ("rationale_probabilities", "task")]
            same = rows[exact].equals(first[exact])
            diff = max(
                (
                    abs(a - b)
                    for x, y in zip(rows["rationale_probabilities"], first["rationale_probabilities"])
                    for a, b in zip(x, y)
                ),
                default=0.0,
            )
            print(
                f"{setup:<12} wall {wall:6.1f} s  {len(items) / wall:5.2f} items/s incl. start-up | per item in a "
                f"worker: {run['worker_seconds'] / run['items']:5.2f} s wall, {cpu_per_item:5.2f} s CPU "
                f"-> {1 / cpu_per_item:5.2f} items/s per worker on its own core | rows {summary['rows']} "
                f"errors {summary['errors']}; rows identical to {setups.split(',')[0]}'s but for probabilities: "
                f"{same}, largest probability difference {diff:.1e}",
                flush=True,
            )


if __name__ == "__main__":
    bench()
