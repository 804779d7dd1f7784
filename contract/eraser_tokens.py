"""Code units as ERASER tokens: one token per unit, no space or line break inside, reversibly.

ERASER's loaders (DeYoung et al., ACL 2020) read a document as lines split on single spaces, each
line stripped of surrounding whitespace. A code unit may hold spaces (indentation, string literals),
line breaks or be whitespace altogether, so each unit is written as one token:

- a space is ``␠`` (U+2420), a line end ``↵`` (U+21B5), a tab ``⇥`` (U+21E5), a carriage return
  ``␍`` (U+240D);
- any other whitespace character, and any of these four symbols or ``␛`` (U+241B) in the code
  itself, is ``␛`` followed by its code point as six hexadecimal digits (``␛0000A0`` for a
  no-break space);
- an empty unit is ``␛`` alone.

:func:`unit_text` undoes :func:`unit_token` exactly. Light: the standard library only.
"""

from __future__ import annotations

ESCAPE = "\u241b"
PICTURES = {" ": "\u2420", "\n": "\u21b5", "\t": "\u21e5", "\r": "\u240d"}
_TEXT = {picture: char for char, picture in PICTURES.items()}
_HEX = 6


def _encode(char: str) -> str:
    if char in PICTURES:
        return PICTURES[char]
    if char.isspace() or char in _TEXT or char == ESCAPE:
        return f"{ESCAPE}{ord(char):0{_HEX}X}"
    return char


def unit_token(text: str) -> str:
    """Return the ERASER token of a unit's text: no whitespace in it, never empty."""
    return "".join(_encode(c) for c in text) if text else ESCAPE


def unit_text(token: str) -> str:
    """Return the unit text that :func:`unit_token` wrote as ``token``."""
    if token == ESCAPE:
        return ""
    out, i = [], 0
    while i < len(token):
        char = token[i]
        if char == ESCAPE:
            out.append(chr(int(token[i + 1 : i + 1 + _HEX], 16)))
            i += 1 + _HEX
        else:
            out.append(_TEXT.get(char, char))
            i += 1
    return "".join(out)
