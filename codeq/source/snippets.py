"""Cut function snippets out of source files, for rationalizing a corpus (``codeq corpus run``).

Each function (or method) of ``min_lines`` to ``max_lines`` lines becomes one snippet: its first
half of lines, but at least through the first line of its body, dedented, is the prompt the model
completes. ``head_snippets`` cuts Python functions after their first statement instead (the model
quality benchmark's prompts).
"""

from __future__ import annotations

import textwrap
from collections import Counter
from pathlib import Path

from tqdm.auto import tqdm

from codeq.source.units import code_units, parser_for
from codeq.study.tasks import Snippet
from contract.errors import UserError
from contract.study_definition import SUFFIXES

FUNCTION_NODES = {
    "python": ("function_definition",),
    "java": ("method_declaration", "constructor_declaration"),
    "javascript": ("function_declaration", "method_definition"),
}


def _functions(root, kinds: tuple[str, ...]):
    stack = [root]
    while stack:
        node = stack.pop()
        if node.type in kinds:
            yield node
        stack.extend(reversed(node.children))


def function_snippets(
    path: Path, language: str, min_lines: int = 6, max_lines: int = 60, name: str | None = None
) -> list[Snippet]:
    """Return one snippet per function of ``path`` with ``min_lines``..``max_lines`` lines, in file order."""
    code = path.read_text(encoding="utf-8")
    data = code.encode("utf-8")
    lines = code.splitlines(keepends=True)
    name = name or path.stem
    snippets = []
    for node in _functions(parser_for(language).parse(data).root_node, FUNCTION_NODES[language]):
        first, last = node.start_point.row, node.end_point.row
        if not min_lines <= last - first + 1 <= max_lines:
            continue
        body = node.child_by_field_name("body")
        cut = max(first + (last - first + 1) // 2, (body.start_point.row if body else first) + 1)
        if cut > last:  # nothing left for the model to write
            continue
        prompt = textwrap.dedent("".join(lines[first:cut])).rstrip()  # as in instrument.read_snippets
        ident = node.child_by_field_name("name")
        label = ident.text.decode("utf-8") if ident is not None else "anonymous"
        snippet_id = f"{name}-{label}-L{first + 1}"
        snippets.append(Snippet(snippet_id=snippet_id, task_prefix=snippet_id, prompt=prompt))
    return snippets


def _is_docstring(node) -> bool:
    return (
        node.type == "expression_statement"
        and node.named_child_count == 1
        and node.named_children[0].type in ("string", "concatenated_string")
    )


def head_snippets(code: str, name: str) -> list[Snippet]:
    """One snippet per Python function (or method) of ``code`` with more to it than its first
    statement: the prompt is the header and the first statement after any docstring, whole lines,
    dedented, in file order."""
    lines = code.splitlines(keepends=True)
    snippets = []
    for node in _functions(parser_for("python").parse(code.encode("utf-8")).root_node, FUNCTION_NODES["python"]):
        body = node.child_by_field_name("body")
        statements = [c for c in body.named_children if c.type != "comment"] if body is not None else []
        if statements and _is_docstring(statements[0]):
            statements = statements[1:]
        if len(statements) < 2 or statements[0].start_point.row == node.start_point.row:
            continue  # nothing left to write, or a one-line function
        first = node.start_point.row
        prompt = textwrap.dedent("".join(lines[first : statements[0].end_point.row + 1])).rstrip()
        label = node.child_by_field_name("name").text.decode("utf-8")
        snippet_id = f"{name}-{label}-L{first + 1}"
        snippets.append(Snippet(snippet_id=snippet_id, task_prefix=snippet_id, prompt=prompt))
    return snippets


def source_files(paths: list[Path], language: str | None = None, suffixes: tuple[str, ...] = ()) -> list[Path]:
    """Expand folders to their source files, recursively and sorted so runs are reproducible; keep files as given.

    Source files are those ending in ``language``'s suffix or one of ``suffixes``. A path that does
    not exist, or a folder without any source file, is a ValueError naming it.
    """
    if language is not None:
        if language not in SUFFIXES:
            raise UserError(f"unsupported language {language!r}: use {', '.join(SUFFIXES)}")
        suffixes = (*suffixes, SUFFIXES[language])
    found = []
    for path in map(Path, paths):
        if not path.exists():
            raise UserError(f"{path} does not exist")
        if path.is_dir():
            files = sorted(p for p in path.rglob("*") if p.is_file() and p.suffix in suffixes)
            if not files:
                raise UserError(f"{path} holds no {' or '.join(suffixes)} files")
            found.extend(files)
        else:
            found.append(path)
    return found


def category_counts(paths: list[Path], language: str) -> Counter:
    """Count the units of each category over ``paths`` (files that are not UTF-8 are skipped)."""
    counts = Counter()
    for path in tqdm(paths, desc="categorizing", unit="file", disable=None):
        try:
            code = path.read_text(encoding="utf-8")
        except (UnicodeDecodeError, OSError):
            continue
        counts.update(u.category for u in code_units(code, language))
    return counts
