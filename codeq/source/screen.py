"""Tell degenerate completions apart: text that does not parse, and completion lines that repeat.

One definition serves ``codeq prepare`` (a target is eligible only where the code a participant
reads up to it is sound) and ``bench/model_quality.py`` (how often the model writes such code).

- **parses**: tree-sitter finds no ERROR and no MISSING node in the text once the brackets still
  open at its end are closed (a snippet or a target line that stops inside a function body, a call
  or a list is unfinished, not wrong). MISSING nodes after the text's end only stand for what the
  unfinished end lacks (a Java ``for`` header's body), so they do not count either. Python's open
  block at the end (``if a:``) needs no closing: tree-sitter accepts it as it is.
- **repeated line**: among the lines the completion writes on, a non-blank line (compared with its
  indentation, trailing whitespace ignored) equals an earlier one. The line the completion starts
  in counts as one of them, whole, when the completion adds visible text to it.
"""

from __future__ import annotations

from dataclasses import dataclass

from codeq.source.units import parser_for

PARSE_ERROR = "parse_error"
REPEATED_LINE = "repeated_line"

# Bracket leaves in every supported grammar; ``${`` opens a JavaScript template substitution.
CLOSER = {"(": ")", "[": "]", "{": "}", "${": "}"}


@dataclass(frozen=True)
class SyntaxProblem:
    """Where a text first fails to parse: its 1-based line number and that line's text."""

    line: int
    text: str


def _leaves(node, last_first: bool = False):
    """Yield the leaves under ``node`` in document order, or from the last one back."""
    stack = [node]
    while stack:
        node = stack.pop()
        if node.child_count == 0:
            yield node
        stack.extend(node.children if last_first else reversed(node.children))


def bracket_walk(tree):
    """Yield ``(leaf, open)`` for each bracket leaf of ``tree`` in document order, ``open`` being the
    brackets still open after it, outermost first.

    The parser's own leaves are used, so brackets inside strings and comments never count.
    """
    stack: list = []
    for leaf in _leaves(tree.root_node):
        if leaf.is_missing:
            continue
        if leaf.type in CLOSER:
            stack.append(leaf)
        elif stack and leaf.type == CLOSER[stack[-1].type]:
            stack.pop()
        else:
            continue
        yield leaf, stack


def open_brackets(tree) -> list:
    """The bracket leaves of ``tree`` left open at its end, outermost first."""
    still_open: list = []
    for _, still_open in bracket_walk(tree):  # noqa: B007 (the walk's last state is the answer)
        pass
    return list(still_open)


def closing(code: str, language: str) -> str:
    """The text that closes every bracket open at the end of ``code`` (innermost first), or ''."""
    tree = parser_for(language).parse(code.encode("utf-8", "surrogatepass"))
    closers = "".join(CLOSER[leaf.type] for leaf in reversed(open_brackets(tree)))
    return "\n" + closers if closers else ""  # on a line of its own: the code may end in a comment


def syntax_problem(code: str, language: str) -> SyntaxProblem | None:
    """The first syntax error in ``code`` judged with its open end closed, or None when it parses."""
    data = code.encode("utf-8", "surrogatepass")
    tree = parser_for(language).parse(data + closing(code, language).encode())
    if not tree.root_node.has_error:
        return None
    stack = [tree.root_node]
    while stack:
        node = stack.pop()
        if node.is_missing and node.start_byte >= len(data):
            continue  # what the unfinished end lacks
        if node.is_missing or node.is_error:
            # an ERROR node may start well before the mistake; its last leaf is where parsing gave up
            at = node if node.is_missing else next(_leaves(node, last_first=True), node)
            row = min(at.start_point.row, code.count("\n"))
            return SyntaxProblem(row + 1, code.split("\n")[row].strip())
        if node.has_error:
            stack.extend(reversed(node.children))
    return None


def parses(code: str, language: str) -> bool:
    """True when ``code`` parses with the brackets open at its end closed (see the module docstring)."""
    return syntax_problem(code, language) is None


def completion_lines(text: str, completion_start: int) -> list[str]:
    """The lines of ``text`` the completion (``text[completion_start:]``) writes on, in order."""
    line_start = text.rfind("\n", 0, completion_start) + 1
    first_end = text.find("\n", completion_start)
    first_end = len(text) if first_end < 0 else first_end
    start = line_start if text[completion_start:first_end].strip() else first_end + 1
    return text[start:].split("\n") if start <= len(text) else []


def first_repeated_line(text: str, completion_start: int) -> str | None:
    """The first completion line that repeats an earlier non-blank completion line, or None."""
    seen = set()
    for line in completion_lines(text, completion_start):
        line = line.rstrip()
        if not line.strip():
            continue
        if line in seen:
            return line
        seen.add(line)
    return None


def line_end(text: str, position: int) -> int:
    """Index of the line break ending the line that holds ``position`` (``len(text)`` on the last line)."""
    end = text.find("\n", position)
    return len(text) if end < 0 else end


def screen_reason(text: str, completion_start: int, position: int, language: str) -> str | None:
    """Why a target starting at character ``position`` is not eligible, or None when it is.

    The text up to the end of the target's line must parse, and no completion line up to there may
    repeat an earlier one.
    """
    head = text[: line_end(text, position)]
    if not parses(head, language):
        return PARSE_ERROR
    if first_repeated_line(head, completion_start) is not None:
        return REPEATED_LINE
    return None
