"""Turn items into rows: load the model once, then per item complete, choose targets, rationalize.

The same :class:`ItemRationalizer` serves the local engine (called in-process) and the Ray engine
(one actor per worker). Items are rationalized one at a time, so an item's rows never depend on
which other items share its batch or worker: any engine and worker count gives identical rows.
Each bad item becomes one error row with its reason; the batch goes on.
"""

from __future__ import annotations

import json
import time
from dataclasses import replace

import pandas as pd
import torch
import transformers

import codeq
from codeq.corpus_run.manifest import RunSettings
from codeq.corpus_run.schema import error_row, task_row
from codeq.loading import load_model
from codeq.tasks import Snippet, build_tasks
from codeq.units import code_units

# rows: JSON list of rationale rows; error: JSON error row; seconds / cpu_seconds: the worker's wall
# and CPU (process) time for the item, for throughput reports (CPU time is unaffected by other jobs)
RESULT_COLUMNS = ["item_id", "rows", "error", "seconds", "cpu_seconds"]


class ItemError(Exception):
    """An item that cannot give a rationale; ``reason`` is one of the errors table's reasons."""

    def __init__(self, reason: str, message: str):
        super().__init__(message)
        self.reason = reason


class ItemRationalizer:
    """Callable on a DataFrame of items (``id``, ``code``, ``language``); returns one result row per item."""

    def __init__(self, settings: RunSettings, device: str = "auto", threads: int | None = None):
        if threads:
            torch.set_num_threads(threads)
        self.settings = settings
        self.lm = load_model(settings.model, device=device, dtype=settings.dtype)
        self.context = getattr(self.lm.model.config, "max_position_embeddings", None)
        self.versions = {
            "codeq_version": codeq.__version__,
            "torch_version": torch.__version__,
            "transformers_version": transformers.__version__,
        }

    def __call__(self, batch: pd.DataFrame) -> pd.DataFrame:
        results = []
        for item_id, code, language in zip(batch["id"], batch["code"], batch["language"]):
            start, start_cpu = time.perf_counter(), time.process_time()
            try:
                rows, error = json.dumps(self.rows(item_id, code, language)), ""
            except ItemError as err:
                rows, error = "", json.dumps(error_row(item_id, err.reason, str(err)))
            except Exception as err:  # noqa: BLE001 - a run never stops on one item: record what broke, go on
                first_line = (str(err).splitlines() or [""])[0]
                rows, error = "", json.dumps(error_row(item_id, "failed", f"{type(err).__name__}: {first_line}"))
            results.append((item_id, rows, error, time.perf_counter() - start, time.process_time() - start_cpu))
        return pd.DataFrame(results, columns=RESULT_COLUMNS)

    def rows(self, item_id: str, code: str, language: str) -> list[dict]:
        """Return the rationale rows of one item, or raise ItemError."""
        prompt = code.rstrip()  # a prompt ends where its last line's text ends (see codeq.instrument)
        if not prompt:
            raise ItemError("empty", "the code is empty")
        rules = replace(self.settings.rules, language=language)
        _check_parsable(prompt, language)
        n = len(self.lm.tokenizer(prompt)["input_ids"])
        budget = rules.max_new_tokens if self.settings.completion else 0
        if self.context is not None and n + budget > self.context:
            added = f" + max_new_tokens {budget}" if budget else ""
            raise ItemError("too_long", f"{n} tokens{added} exceed the model's context of {self.context}")
        tasks = build_tasks(
            self.lm,
            [Snippet(item_id, item_id, prompt)],
            rules,
            self.settings.dtype,
            progress=False,
            completion=self.settings.completion,
        )
        if not tasks:
            where = "the completion" if self.settings.completion else "the code that the model predicts"
            kept = " whose rationale converged" if rules.selection == "converged" else ""
            raise ItemError("no_target", f"no token of {where} is an eligible target{kept}")
        return [task_row(item_id, task, self.versions) for task in tasks]


def _check_parsable(prompt: str, language: str) -> None:
    """Refuse text in which tree-sitter finds no syntax at all (prose, binary junk, another language).

    A prompt is usually a fragment (half a function), so parse errors alone are normal; only text
    whose every visible unit falls in the errors group is refused.
    """
    visible = [u for u in code_units(prompt, language) if u.category not in ("newline", "indent")]
    if visible and all(u.group == "errors" for u in visible):
        raise ItemError("unparsable", f"tree-sitter finds no {language} syntax in it")
