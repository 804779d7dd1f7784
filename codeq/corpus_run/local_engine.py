"""The local engine: one worker in this process (no Ray needed)."""

from __future__ import annotations

from collections.abc import Iterable, Iterator

import pandas as pd

from codeq.corpus_run.manifest import RunSettings
from codeq.corpus_run.worker import TOKENS_IN_FLIGHT, ItemRationalizer


def run_local(
    settings: RunSettings,
    batches: Iterable[pd.DataFrame],
    device: str = "auto",
    threads: int | None = None,
    tokens_in_flight: int = TOKENS_IN_FLIGHT,
) -> Iterator[pd.DataFrame]:
    """Yield one result frame (see :mod:`codeq.corpus_run.worker`) per batch of items, in order."""
    worker = ItemRationalizer(settings, device=device, threads=threads, tokens_in_flight=tokens_in_flight)
    for batch in batches:
        yield worker(batch)
