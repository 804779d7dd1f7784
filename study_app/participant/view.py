"""Turn a contract task into the pieces the annotation page draws: units with highlighted segments.

Pygments colours the code; its token classes are mapped onto the units' character spans, so a unit
stays one clickable element however Pygments splits it. Nothing after the target token is shown.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from pygments.lexers import get_lexer_by_name
from pygments.token import STANDARD_TYPES
from pygments.util import ClassNotFound

from contract.prepared_tasks import Task


@dataclass
class Piece:
    """A run of code: one unit (``unit`` set) or the gap between two units."""

    unit: int | None
    kind: str  # token | newline | indent | gap
    segments: list[tuple[str, str, bool]] = field(default_factory=list)  # (css class, text, in completion)
    selectable: bool = False
    target: bool = False
    label: str = ""  # the unit's accessible name
    line: int = 0  # 1-based line of the unit's start


def token_class(ttype) -> str:
    """Return Pygments' short css class for a token type (its nearest standard ancestor)."""
    while ttype not in STANDARD_TYPES:
        ttype = ttype.parent
    return STANDARD_TYPES[ttype]


def char_classes(text: str, language: str) -> list[str]:
    """Return the Pygments css class of every character of ``text``."""
    try:
        lexer = get_lexer_by_name(language, stripnl=False, ensurenl=False)
    except ClassNotFound:
        return [""] * len(text)
    classes = [""] * len(text)
    for start, ttype, value in lexer.get_tokens_unprocessed(text):
        classes[start : start + len(value)] = [token_class(ttype)] * len(value)
    return classes[: len(text)]


def segments(text: str, classes: list[str], start: int, end: int, prompt_len: int) -> list[tuple[str, str, bool]]:
    """Split ``text[start:end]`` into runs of equal (css class, prompt/completion side)."""
    out: list[tuple[str, str, bool]] = []
    for i in range(start, end):
        key = (classes[i], i >= prompt_len)
        if out and (out[-1][0], out[-1][2]) == key:
            out[-1] = (key[0], out[-1][1] + text[i], key[1])
        else:
            out.append((key[0], text[i], key[1]))
    return out


def unit_kind(category: str, text: str) -> str:
    if category == "newline" or text == "\n":
        return "newline"
    if category == "indentation" or (text and not text.strip()):
        return "indent"
    return "token"


def unit_label(kind: str, text: str) -> str:
    """Return what a screen reader says for a unit: its text, or what a whitespace unit is."""
    if kind == "newline":
        return "line end"
    if kind == "indent":
        tabs, spaces = text.count("\t"), text.count(" ")
        parts = [f"{n} {word}{'s' if n != 1 else ''}" for n, word in ((spaces, "space"), (tabs, "tab")) if n]
        return "indent, " + ", ".join(parts)
    return text


def target_end(task: Task) -> int:
    """Return where the shown code ends: the end of the target token inside its unit."""
    unit = task.units[task.target.unit_index]
    token = task.tokens[task.target.token_index]
    return min(unit.end, token.end) if token.end > unit.start else unit.end


def pieces(task: Task) -> list[Piece]:
    """Return the code up to the target as pieces, in order."""
    text, end = task.text, target_end(task)
    classes = char_classes(text, task.language)
    selectable = set(task.selectable)
    out, pos = [], 0
    for u in task.units[: task.target.unit_index + 1]:
        if u.start > pos:
            out.append(Piece(None, "gap", segments(text, classes, pos, u.start, len(task.prompt))))
        is_target = u.index == task.target.unit_index
        stop = end if is_target else u.end
        kind = unit_kind(u.category, u.text)
        out.append(
            Piece(
                u.index,
                kind,
                segments(text, classes, u.start, stop, len(task.prompt)),
                selectable=u.index in selectable,
                target=is_target,
                label=unit_label(kind, text[u.start : stop]),
                line=text.count("\n", 0, u.start) + 1,
            )
        )
        pos = stop
    return out


def line_count(task: Task) -> int:
    """Return the number of lines shown (up to and including the target's line)."""
    return task.text[: target_end(task)].count("\n") + 1
