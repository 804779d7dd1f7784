"""The Ray engine: Ray Data ``map_batches`` over an actor pool; each actor loads the model once.

Connects to the cluster named by ``RAY_ADDRESS`` when it is set (``ray start --head`` on one
machine, ``ray start --address=...`` on the others), and otherwise starts a local one for this run.
Actors take ``num_gpus`` each when ``gpus_per_worker > 0`` (and then run on CUDA), else ``threads``
CPUs each. Ray Data restarts an actor that dies and retries its batch, and results come back to
this process, which alone writes shards: the run folder need only exist on the driver's machine.
"""

from __future__ import annotations

import logging
import math
import os
from collections.abc import Iterator

import pandas as pd

from codeq.corpus_run.manifest import RunSettings
from codeq.corpus_run.worker import TOKENS_IN_FLIGHT, ItemRationalizer
from contract.errors import UserError


class RayMissingError(UserError):
    """The optional ``ray`` extra is not installed."""


def import_ray():
    try:
        import ray
        import ray.data
    except ImportError:
        raise RayMissingError("--engine ray needs Ray: pip install 'codeq-study[ray]'") from None
    return ray


def run_ray(
    settings: RunSettings,
    items: pd.DataFrame,
    items_per_batch: int,
    workers: int = 1,
    gpus_per_worker: float = 0,
    threads: int | None = None,
    tokens_in_flight: int = TOKENS_IN_FLIGHT,
) -> Iterator[pd.DataFrame]:
    """Yield one result frame per batch of ``items`` as the actors finish them (in no fixed order)."""
    ray = import_ray()
    started_here = not ray.is_initialized()
    if started_here:
        _connect(ray, workers, gpus_per_worker, threads or 1)
    try:
        context = ray.data.DataContext.get_current()
        context.enable_progress_bars = False  # the driver shows one bar over items
        context.print_on_execution_start = False
        logging.getLogger("ray.data").setLevel(logging.WARNING)
        dataset = ray.data.from_items(
            items.to_dict("records"), override_num_blocks=max(1, math.ceil(len(items) / items_per_batch))
        )
        on_gpu = gpus_per_worker > 0
        resources = {"num_gpus": gpus_per_worker} if on_gpu else {"num_cpus": threads or 1}
        results = dataset.map_batches(
            ItemRationalizer,
            batch_size=items_per_batch,
            batch_format="pandas",
            compute=ray.data.ActorPoolStrategy(size=workers),
            fn_constructor_kwargs={
                "settings": settings,
                "device": "cuda" if on_gpu else "cpu",
                "threads": None if on_gpu else threads or 1,
                "tokens_in_flight": tokens_in_flight,
            },
            **resources,
        )
        yield from results.iter_batches(batch_size=None, batch_format="pandas")
    finally:
        if started_here:
            ray.shutdown()


def _connect(ray, workers: int, gpus_per_worker: float, threads: int) -> None:
    """Join the cluster at RAY_ADDRESS, or start a local one big enough for ``workers`` actors."""
    if os.environ.get("RAY_ADDRESS"):
        ray.init(address=os.environ["RAY_ADDRESS"], logging_level=logging.WARNING)
        return
    cpus = max(os.cpu_count() or 1, workers * (1 if gpus_per_worker else threads))
    ray.init(num_cpus=cpus, include_dashboard=False, logging_level=logging.WARNING)
