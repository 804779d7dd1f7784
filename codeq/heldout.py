"""Top-level functions of the held-out standard-library modules (``codeq.tiny.HELDOUT_MODULES``), for benchmarks.

codeq-tiny never trained on them, so a benchmark on them sees the model as a study does.
"""

from __future__ import annotations

import ast

from codeq.tiny_corpus import stdlib_files
from codeq.training import read_sources


def heldout_functions(count: int, min_lines: int = 6) -> list[str]:
    """Source of ``count`` top-level functions of at least ``min_lines`` lines, round robin over the modules."""
    per_file = []
    for text in read_sources(stdlib_files()[1]):
        funcs = [
            ast.get_source_segment(text, node)
            for node in ast.parse(text).body
            if isinstance(node, ast.FunctionDef) and node.end_lineno - node.lineno + 1 >= min_lines
        ]
        per_file.append(funcs)
    snippets = []
    for depth in range(max(map(len, per_file))):  # round robin: variety across modules first
        snippets += [funcs[depth] for funcs in per_file if depth < len(funcs)]
    return snippets[:count]
