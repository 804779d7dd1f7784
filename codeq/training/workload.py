"""The benchmarks' workload: whole functions of the held-out standard-library modules, and targets in them.

codeq-tiny never trained on the modules in ``codeq.training.tiny_corpus.HELDOUT_MODULES``, so its predictions
there are what a user would see on new code. The engine's benchmarks share these inputs.
"""

from __future__ import annotations

import ast

from codeq.training.loop import read_sources
from codeq.training.tiny_corpus import stdlib_files


def heldout_functions(count: int, min_lines: int = 6) -> list[str]:
    """Source of ``count`` top-level functions of at least ``min_lines`` lines from the held-out
    modules, taken round robin (each module's first, then each one's second, ...) for variety."""
    per_file = []
    for text in read_sources(stdlib_files()[1]):
        per_file.append(
            [
                ast.get_source_segment(text, node)
                for node in ast.parse(text).body
                if isinstance(node, ast.FunctionDef) and node.end_lineno - node.lineno + 1 >= min_lines
            ]
        )
    snippets = []
    for depth in range(max(map(len, per_file), default=0)):
        snippets += [funcs[depth] for funcs in per_file if depth < len(funcs)]
    return snippets[:count]


def pick_targets(predicted: list[int], length: int, count: int, top_up: bool) -> list[int]:
    """``count`` evenly spaced positions of ``predicted`` (those the model predicts itself, which a
    search can converge on); if there are fewer and ``top_up``, add the last other positions of a
    sequence of ``length`` (for untrained models, whose searches are capped)."""
    if len(predicted) >= count:
        return [predicted[round(i * (len(predicted) - 1) / max(1, count - 1))] for i in range(count)]
    others = [t for t in range(length - 1, 0, -1) if t not in predicted] if top_up else []
    return sorted(predicted + others[: count - len(predicted)])
