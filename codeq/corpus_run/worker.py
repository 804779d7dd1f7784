"""Turn items into rows: load the model once, then complete items, choose targets, rationalize.

The same :class:`ItemRationalizer` serves the local engine (called in-process) and the Ray engine
(one actor per worker). Each item is checked alone (empty, unparsable, too long: an error row with
its reason); the others go to ``codeq.study.tasks.build_tasks`` in groups of one language holding at most
``tokens_in_flight`` tokens (prompt plus completion budget), so the rationalizer advances the
targets of many items in the same forward passes. An item's search never depends on the other
items of its group (each target's decisions come from its own rows), so any grouping, engine and
worker count gives the same rows (tested). A group that fails is retried one item at a time, so a
bad item still gets its own error row and the batch goes on.
"""

from __future__ import annotations

import json
import time
from collections import defaultdict
from dataclasses import replace

import pandas as pd
import torch
import transformers

import codeq
from codeq.corpus_run.manifest import RunSettings
from codeq.model.loading import load_model
from codeq.source.units import code_units
from codeq.study.tasks import Snippet, build_tasks
from contract.corpus_run import error_row, task_row

# rows: JSON list of rationale rows; error: JSON error row; seconds / cpu_seconds: the worker's wall
# and CPU (process) time for the item, for throughput reports (CPU time is unaffected by other jobs)
# (a group's time is shared evenly by its items)
RESULT_COLUMNS = ["item_id", "rows", "error", "seconds", "cpu_seconds"]

TOKENS_IN_FLIGHT = 4096  # default bound on the tokens of the items rationalized together


class ItemError(Exception):
    """An item that cannot give a rationale; ``reason`` is one of the errors table's reasons."""

    def __init__(self, reason: str, message: str):
        super().__init__(message)
        self.reason = reason


class ItemRationalizer:
    """Callable on a DataFrame of items (``id``, ``code``, ``language``); returns one result row per item."""

    def __init__(
        self,
        settings: RunSettings,
        device: str = "auto",
        threads: int | None = None,
        tokens_in_flight: int = TOKENS_IN_FLIGHT,
    ):
        if threads:
            torch.set_num_threads(threads)
        self.settings = settings
        self.tokens_in_flight = tokens_in_flight
        self.lm = load_model(settings.model, device=device, dtype=settings.dtype)
        self.context = getattr(self.lm.model.config, "max_position_embeddings", None)
        self.versions = {
            "codeq_version": codeq.__version__,
            "torch_version": torch.__version__,
            "transformers_version": transformers.__version__,
        }

    def __call__(self, batch: pd.DataFrame) -> pd.DataFrame:
        results, groups = {}, []
        for item_id, code, language in zip(batch["id"], batch["code"], batch["language"]):
            start, start_cpu = time.perf_counter(), time.process_time()
            try:
                prompt, cost = self.check(code, language)
            except Exception as err:  # noqa: BLE001 - a run never stops on one item
                results[item_id] = (item_id, "", _error_json(item_id, err), *_since(start, start_cpu))
                continue
            if not groups or groups[-1][0] != language or groups[-1][1] + cost > self.tokens_in_flight:
                groups.append([language, 0, []])
            groups[-1][1] += cost
            groups[-1][2].append((item_id, prompt, *_since(start, start_cpu)))
        for language, _, members in groups:
            results.update(self.rationalize_group(language, members))
        return pd.DataFrame([results[item_id] for item_id in batch["id"]], columns=RESULT_COLUMNS)

    def check(self, code: str, language: str) -> tuple[str, int]:
        """Return (prompt, its tokens plus the completion budget) of an item that can be rationalized,
        or raise ItemError."""
        prompt = code.rstrip()  # a prompt ends where its last line's text ends (see codeq.study.instrument)
        if not prompt:
            raise ItemError("empty", "the code is empty")
        _check_parsable(prompt, language)
        n = len(self.lm.tokenizer(prompt)["input_ids"])
        budget = self.settings.rules.max_new_tokens if self.settings.completion else 0
        if self.context is not None and n + budget > self.context:
            added = f" + max_new_tokens {budget}" if budget else ""
            raise ItemError("too_long", f"{n} tokens{added} exceed the model's context of {self.context}")
        return prompt, n + budget

    def rationalize_group(self, language: str, members: list[tuple]) -> dict[str, tuple]:
        """Return {item id: result row} for checked items (id, prompt, check seconds, check CPU seconds)."""
        start, start_cpu = time.perf_counter(), time.process_time()
        try:
            by_item = self.rows([(item_id, prompt) for item_id, prompt, *_ in members], language)
        except Exception as err:  # noqa: BLE001 - retried alone, so the item that broke is the one recorded
            if len(members) > 1:
                return {m[0]: r for m in members for r in self.rationalize_group(language, [m]).values()}
            item_id, _, check_seconds, check_cpu = members[0]
            seconds, cpu = _since(start, start_cpu)
            return {item_id: (item_id, "", _error_json(item_id, err), check_seconds + seconds, check_cpu + cpu)}
        seconds, cpu = (value / len(members) for value in _since(start, start_cpu))
        results = {}
        for item_id, _, check_seconds, check_cpu in members:
            rows = by_item.get(item_id)
            rows_json = json.dumps(rows) if rows else ""
            error = "" if rows else json.dumps(error_row(item_id, "no_target", self._no_target()))
            results[item_id] = (item_id, rows_json, error, check_seconds + seconds, check_cpu + cpu)
        return results

    def rows(self, items: list[tuple[str, str]], language: str) -> dict[str, list[dict]]:
        """Return {item id: its rationale rows} for checked (id, prompt) items of one language; items
        without an eligible target are absent."""
        rules = replace(self.settings.rules, language=language)
        tasks = build_tasks(
            self.lm,
            [Snippet(item_id, item_id, prompt) for item_id, prompt in items],
            rules,
            self.settings.dtype,
            progress=False,
            completion=self.settings.completion,
        )
        by_item = defaultdict(list)
        for task in tasks:
            by_item[task.snippet_id].append(task_row(task.snippet_id, task, self.versions))
        return dict(by_item)

    def _no_target(self) -> str:
        where = "the completion" if self.settings.completion else "the code that the model predicts"
        kept = " whose rationale converged" if self.settings.rules.selection == "converged" else ""
        return f"no token of {where} is an eligible target{kept}"


def _since(start: float, start_cpu: float) -> tuple[float, float]:
    return time.perf_counter() - start, time.process_time() - start_cpu


def _error_json(item_id: str, err: Exception) -> str:
    if isinstance(err, ItemError):
        return json.dumps(error_row(item_id, err.reason, str(err)))
    first_line = (str(err).splitlines() or [""])[0]
    return json.dumps(error_row(item_id, "failed", f"{type(err).__name__}: {first_line}"))


def _check_parsable(prompt: str, language: str) -> None:
    """Refuse text in which tree-sitter finds no syntax at all (prose, binary junk, another language).

    A prompt is usually a fragment (half a function), so parse errors alone are normal; only text
    whose every visible unit falls in the errors group is refused.
    """
    visible = [u for u in code_units(prompt, language) if u.category not in ("newline", "indent")]
    if visible and all(u.group == "errors" for u in visible):
        raise ItemError("unparsable", f"tree-sitter finds no {language} syntax in it")
