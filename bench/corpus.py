"""Benchmark ``codeq corpus run``: items per second, local engine vs Ray with 1 and 2 workers.

    python bench/corpus.py --model codeq-tiny --items 32
    python bench/corpus.py --model codeq-tiny --items 256 --setups ray:1,ray:2 --gpus-per-worker 1   # GPU machine

Items are held-out standard-library functions (codeq.tiny.HELDOUT_MODULES, never trained on), cut as
``codeq corpus run`` cuts a folder (first half of each function). Each setup runs the first ``--items``
items and then all ``2 x --items`` into fresh folders. Printed per setup: both wall times (start-up
included: model loading, Ray cluster and actors), items/s over the larger run, and the marginal
items/s, ``items / (wall(2 x items) - wall(items))``, which cancels the fixed start-up cost.
"""

from __future__ import annotations

import json
import tempfile
import time
from pathlib import Path

import click

from codeq.corpus import function_snippets
from codeq.corpus_run.manifest import RunSettings
from codeq.corpus_run.run import run_corpus
from codeq.tasks import TargetRules
from codeq.tiny import stdlib_files


def heldout_items(count: int) -> list[dict]:
    items = []
    for path in stdlib_files()[1]:
        items += [{"id": s.snippet_id, "code": s.prompt}
                  for s in function_snippets(path, "python", name=path.stem)]
        if len(items) >= count:
            break
    return items[:count]


@click.command()
@click.option("--model", default="codeq-tiny", show_default=True)
@click.option("--dtype", default="fp32", show_default=True)
@click.option("--items", "count", default=32, show_default=True)
@click.option("--setups", default="local,ray:1,ray:2", show_default=True,
              help="Comma-separated: local, or ray:<workers>.")
@click.option("--threads", default=1, show_default=True, help="CPU threads per worker (local too, for a fair split).")
@click.option("--gpus-per-worker", default=0.0, show_default=True)
@click.option("--device", default="auto", show_default=True, help="Device of the local engine.")
def bench(model, dtype, count, setups, threads, gpus_per_worker, device):
    items = heldout_items(2 * count)
    settings = RunSettings(model=model, dtype=dtype, rules=TargetRules(language="python", targets_per_snippet=4,
                                                                       selection="all"))
    with tempfile.TemporaryDirectory() as tmp:
        print(f"{count} and {len(items)} items, model {model} {dtype}, {threads} thread(s) per CPU worker")
        for setup in setups.split(","):
            engine, _, workers = setup.partition(":")
            walls = []
            for n in (count, len(items)):
                corpus = Path(tmp) / f"items-{n}.jsonl"
                corpus.write_text("".join(json.dumps(item) + "\n" for item in items[:n]), encoding="utf-8")
                start = time.perf_counter()
                summary = run_corpus(corpus, Path(tmp) / f"{engine}-{workers}-{n}", settings, engine=engine,
                                     workers=int(workers or 1), gpus_per_worker=gpus_per_worker if engine == "ray" else 0,
                                     device=device, threads=threads, items_per_shard=1, progress=False)
                walls.append(time.perf_counter() - start)
            print(f"{setup:<8} wall {walls[0]:6.1f} s / {walls[1]:6.1f} s  {len(items) / walls[1]:5.2f} items/s "
                  f"incl. start-up  marginal {count / (walls[1] - walls[0]):5.2f} items/s  "
                  f"rows {summary['rows']} errors {summary['errors']}", flush=True)


if __name__ == "__main__":
    bench()
