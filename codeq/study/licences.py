"""Decide from a distribution's metadata whether its licence is permissive (may train a bundled model).

Read in this order, the first that names a licence wins:

1. ``License-Expression`` (PEP 639): an SPDX expression, canonicalised by ``packaging.licenses``.
   ``A AND B`` is permissive when both are, ``A OR B`` when either is; ``X WITH exception`` is
   judged by X (exceptions only grant more).
2. ``License ::`` classifiers, other than the bare ``OSI Approved``: all must be permissive
   (several classifiers do not say whether they mean "and" or "or").
3. A short ``License`` field: an SPDX expression, or a common name (``Apache 2.0``, ``BSD``, ...).

Anything else (no licence, a licence text pasted into ``License`` without a classifier, copyleft,
MPL) is not permissive: left out, and recorded as such.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from packaging.licenses import InvalidLicenseExpression, canonicalize_license_expression

PERMISSIVE_SPDX = frozenset(
    {
        "0BSD",
        "Apache-2.0",
        "BSD-2-Clause",
        "BSD-3-Clause",
        "BSL-1.0",
        "CC0-1.0",
        "CNRI-Python",
        "HPND",
        "ISC",
        "MIT",
        "MIT-0",
        "MIT-CMU",
        "PSF-2.0",
        "Python-2.0",
        "Unlicense",
        "Zlib",
    }
)
# License :: classifier (last part) -> SPDX id, permissive ones only
PERMISSIVE_CLASSIFIERS = {
    "MIT License": "MIT",
    "MIT No Attribution License (MIT-0)": "MIT-0",
    "BSD License": "BSD",
    "Apache Software License": "Apache-2.0",
    "Python Software Foundation License": "PSF-2.0",
    "ISC License (ISCL)": "ISC",
    "The Unlicense (Unlicense)": "Unlicense",
    "zlib/libpng License": "Zlib",
    "Boost Software License 1.0 (BSL-1.0)": "BSL-1.0",
    "Historical Permission Notice and Disclaimer (HPND)": "HPND",
}
# short free-text License fields seen in the wild -> SPDX-like name
COMMON_NAMES = [
    (
        re.compile(r"^apache(\s+software)?(\s+license)?[\s,-]*(v(ersion)?\s*)?2(\.0)?(\s+license)?$", re.IGNORECASE),
        "Apache-2.0",
    ),
    (re.compile(r"^(new\s+|modified\s+|simplified\s+)?bsd(\s+license)?$", re.IGNORECASE), "BSD"),
    (
        re.compile(r"^(3|three)[\s-]*clause\s+bsd(\s+license)?$|^bsd[\s-]*3[\s-]*clause(\s+license)?$", re.IGNORECASE),
        "BSD-3-Clause",
    ),
    (
        re.compile(r"^(2|two)[\s-]*clause\s+bsd(\s+license)?$|^bsd[\s-]*2[\s-]*clause(\s+license)?$", re.IGNORECASE),
        "BSD-2-Clause",
    ),
    (re.compile(r"^(the\s+)?mit(\s+license)?$", re.IGNORECASE), "MIT"),
    (re.compile(r"^isc(\s+license)?$", re.IGNORECASE), "ISC"),
    (re.compile(r"^(psf|python software foundation)(\s+license)?$", re.IGNORECASE), "PSF-2.0"),
]
PERMISSIVE_NAMES = PERMISSIVE_SPDX | {"BSD"}


@dataclass(frozen=True)
class Licence:
    name: str  # the licence as read (SPDX expression, classifier names joined by " AND ", or a name)
    source: str  # License-Expression, classifiers, License or none
    permissive: bool


def spdx_permissive(expression: str) -> bool:
    """True when a canonical SPDX expression allows permissive use (AND: all, OR: any, WITH: its base)."""
    tokens = re.findall(r"\(|\)|[^\s()]+", expression)
    pos = 0

    def operand() -> bool:
        nonlocal pos
        token = tokens[pos]
        pos += 1
        if token == "(":
            value = disjunction()
            pos += 1  # the closing parenthesis
        else:
            value = token.removeprefix("LicenseRef-") in PERMISSIVE_SPDX
        if pos < len(tokens) and tokens[pos] == "WITH":
            pos += 2
        return value

    def conjunction() -> bool:
        nonlocal pos
        value = operand()
        while pos < len(tokens) and tokens[pos] == "AND":
            pos += 1
            value = operand() and value
        return value

    def disjunction() -> bool:
        nonlocal pos
        value = conjunction()
        while pos < len(tokens) and tokens[pos] == "OR":
            pos += 1
            value = conjunction() or value
        return value

    return disjunction()


def _spdx(text: str) -> str | None:
    try:
        return canonicalize_license_expression(text)
    except InvalidLicenseExpression:
        return None


def distribution_licence(metadata) -> Licence:
    """Read the licence of a distribution from its metadata (``importlib.metadata`` message)."""
    expression = (metadata.get("License-Expression") or "").strip()
    if expression:
        canonical = _spdx(expression)
        return Licence(
            canonical or expression, "License-Expression", canonical is not None and spdx_permissive(canonical)
        )
    classifiers = [
        c.split("::")[-1].strip()
        for c in metadata.get_all("Classifier") or []
        if c.startswith("License ::") and c.strip() != "License :: OSI Approved"
    ]
    if classifiers:
        return Licence(
            " AND ".join(PERMISSIVE_CLASSIFIERS.get(c, c) for c in classifiers),
            "classifiers",
            all(c in PERMISSIVE_CLASSIFIERS for c in classifiers),
        )
    field = (metadata.get("License") or "").strip()
    if field and "\n" not in field and len(field) <= 60:
        canonical = _spdx(field)
        if canonical is not None:
            return Licence(canonical, "License", spdx_permissive(canonical))
        for pattern, name in COMMON_NAMES:
            if pattern.match(field):
                return Licence(name, "License", name in PERMISSIVE_NAMES)
        return Licence(field, "License", False)
    return Licence("unknown", "none", False)
