"""Tell degenerate completions apart: text that does not parse, and completion lines that repeat.

One definition serves ``codeq prepare`` (a target is eligible only where the code a participant
reads up to it is sound) and ``bench/model_quality.py`` (how often the model writes such code).

- **parses**: tree-sitter finds no ERROR and no MISSING node in the text.
- **repeated line**: among the lines the completion writes on, a non-blank line (compared with its
  indentation, trailing whitespace ignored) equals an earlier one. The line the completion starts
  in counts as one of them, whole, when the completion adds visible text to it.
"""

from __future__ import annotations

from codeq.units import parser_for

PARSE_ERROR = "parse_error"
REPEATED_LINE = "repeated_line"


def parses(code: str, language: str) -> bool:
    """True when tree-sitter parses ``code`` without an error or a missing node."""
    return not parser_for(language).parse(code.encode("utf-8", "surrogatepass")).root_node.has_error


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
