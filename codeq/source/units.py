"""Split source code into code units: tree-sitter leaves plus newline and indentation units.

The rules (docs/units-and-categories.md):

- Every non-whitespace character belongs to exactly one unit. Units never overlap.
- A leaf of the syntax tree is one unit, except the node types a taxonomy lists as ``atomic``
  (string literals, f-strings, template strings): those are one unit each, however many leaves
  they hold.
- Natural language is split into words: a unit whose category is ``comments`` or ``docstrings``
  (a comment, Javadoc and block comments included; a Python string literal that is a statement of
  its own) becomes one unit per maximal run of non-whitespace, so a person can pick single words.
  Each word keeps the comment's or docstring's node type, path and category. Line breaks inside a
  multi-line comment or docstring are ``newline`` units and the whitespace starting a line inside
  it is an ``indent`` unit, as in code; spaces between words are not units. Other string literals
  stay whole.
- Whitespace outside leaves: each line break (``\\n``, ``\\r\\n`` or ``\\r``) is a ``newline`` unit;
  the whitespace that starts a line with code on it is an ``indent`` unit. Spaces between tokens on
  a line and whitespace on blank lines are not units.
- Zero-width nodes (tree-sitter's MISSING insertions) are not units. Leaves inside an ERROR node
  keep their own node type; the taxonomy puts them in the ``errors`` category. Non-whitespace text
  no leaf covers (rare: some error recoveries) becomes a unit of node type ``gap``.

Offsets are *character* offsets into ``code``; tree-sitter's byte offsets are converted.
"""

from __future__ import annotations

import re
from functools import cache

import tree_sitter

from contract.errors import UserError
from contract.prepared_tasks import Unit
from contract.taxonomy import load_taxonomy

_LINE_BREAK = re.compile(r"\r\n|\r|\n")
_GAP_TEXT = re.compile(r"\r\n|\r|\n|[^\S\r\n]+|\S+")
# Categories whose units are natural language, split into words (see the module docstring).
_WORD_CATEGORIES = frozenset({"comments", "docstrings"})


@cache
def parser_for(language: str) -> tree_sitter.Parser:
    """Return a tree-sitter parser for ``language`` (grammar from its PyPI wheel)."""
    if language == "python":
        import tree_sitter_python as grammar
    elif language == "java":
        import tree_sitter_java as grammar
    elif language == "javascript":
        import tree_sitter_javascript as grammar
    else:
        raise UserError(f"unsupported language {language!r}: use python, java or javascript")
    return tree_sitter.Parser(tree_sitter.Language(grammar.language()))


def byte_to_char(code: str) -> list[int] | None:
    """Map every UTF-8 byte offset of ``code`` (0..len(bytes)) to a character offset.

    Returns None when the code is ASCII: then the two coincide.
    """
    if code.isascii():
        return None
    table = []
    for i, ch in enumerate(code):
        table.extend([i] * len(ch.encode("utf-8", "surrogatepass")))
    table.append(len(code))
    return table


def _leaves(root, atomic: frozenset[str]):
    """Yield (node, ancestor types root first) for each unit-forming node, in document order."""
    stack = [(root, ())]
    while stack:
        node, path = stack.pop()
        if node.child_count == 0 or node.type in atomic:
            if node.end_byte > node.start_byte:
                yield node, path
            continue
        child_path = path + (node.type,)
        stack.extend((child, child_path) for child in reversed(node.children))


def _whitespace_units(code: str, start: int, end: int):
    """Yield (start, end, kind) for newline, indentation and stray text in ``code[start:end]``.

    ``kind`` is ``newline``, ``indent`` or ``gap`` (a run of non-whitespace).
    """
    for m in _GAP_TEXT.finditer(code, start, end):
        s, e = m.span()
        text = m.group()
        if _LINE_BREAK.fullmatch(text):
            yield s, e, "newline"
        elif text.isspace():
            at_line_start = s == 0 or code[s - 1] in "\r\n"
            followed_by_code = e < len(code) and code[e] not in "\r\n"
            if at_line_start and followed_by_code:
                yield s, e, "indent"
        else:
            yield s, e, "gap"


def code_units(code: str, language: str) -> list[Unit]:
    """Return the code units of ``code`` in order, each with span, text, category, group and path.

    ``node_path`` lists the ancestor node types from the root down, then the unit's own node type
    (``newline``, ``indent`` or ``gap`` for units no leaf produced).

    Examples
    --------
    >>> [(u.text, u.category) for u in code_units("x = 1\\n", "python")]
    [('x', 'identifiers'), ('=', 'operators'), ('1', 'numbers'), ('\\n', 'newline')]
    """
    taxonomy = load_taxonomy(language)
    tree = parser_for(language).parse(code.encode("utf-8", "surrogatepass"))
    table = byte_to_char(code)

    def char(offset: int) -> int:
        return offset if table is None else table[offset]

    units: list[Unit] = []

    def add(start: int, end: int, node_type: str, path: tuple[str, ...], categorized=None) -> None:
        """Append a unit; ``categorized`` is its (category, group) when known (a word takes its leaf's)."""
        text = code[start:end]
        category, group = categorized or taxonomy.categorize(node_type, text, path)
        units.append(
            Unit(
                index=len(units),
                start=start,
                end=end,
                text=text,
                category=category,
                group=group,
                node_path=[*path, node_type],
            )
        )

    cursor = 0
    for node, path in _leaves(tree.root_node, taxonomy.atomic):
        start, end = char(node.start_byte), char(node.end_byte)
        for s, e, kind in _whitespace_units(code, cursor, start):
            add(s, e, kind, ())
        categorized = taxonomy.categorize(node.type, code[start:end], path)
        if categorized[0] in _WORD_CATEGORIES:
            for s, e, kind in _whitespace_units(code, start, end):
                if kind == "gap":
                    add(s, e, node.type, path, categorized)
                else:
                    add(s, e, kind, ())
        else:
            add(start, end, node.type, path, categorized)
        cursor = end
    for s, e, kind in _whitespace_units(code, cursor, len(code)):
        add(s, e, kind, ())
    return units
