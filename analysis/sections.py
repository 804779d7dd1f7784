"""Building blocks of the report: sections of paragraphs, numbered tables and numbered figures.

Every section of the report is built from these, so one added later follows the same conventions:
a table scrolls inside its own box on screen and wraps on paper, has a one-line caption saying what
a row is, and carries units in its headers; a figure is saved as PNG and SVG and has a numbered
caption; an interval from too few tasks or of zero width gets a visible note.

>>> section = Section("Agreement", [Paragraph("Kappa per response."),
...                                 Table(pd.DataFrame({"kappa": [0.5]}), "One row per response.",
...                                       [Col("kappa", "Cohen's κ")])])
>>> [type(b).__name__ for b in section.blocks]
['Paragraph', 'Table']
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd
from markupsafe import Markup
from matplotlib.figure import Figure as MplFigure

MIN_TASKS = 5  # an interval resampling fewer tasks than this is flagged as unstable
MIN_PARTICIPANTS = 10  # fewer: the report warns that the tests across participants have little power
DAGGER = "†"


def number(value, decimals: int = 3) -> str:
    """Format a table cell: integers with thousands separators, other numbers with ``decimals`` decimals
    (so a column's digits line up); missing values as an en dash."""
    if value is None or value is pd.NA or (isinstance(value, float) and np.isnan(value)):
        return "–"
    if isinstance(value, (int, np.integer)):
        return f"{value:,}"
    return f"{float(value):.{decimals}f}".replace("-", "−")


def fixed(value, decimals: int = 3) -> str:
    """Format a number with a fixed number of decimals (for prose); missing values as "undefined"."""
    return "undefined" if value is None or pd.isna(value) else f"{float(value):.{decimals}f}"


def kind(block) -> str:
    """The template's name for a block: paragraph, table, figure or references (a list of Reference)."""
    return "references" if isinstance(block, list) else type(block).__name__.lower()


def pvalue(value) -> str:
    """Format a p-value: 3 significant digits, below 0.001 as ``< 0.001``."""
    if value is None or pd.isna(value):
        return "–"
    return "< 0.001" if value < 0.001 else f"{value:.3g}"


@dataclass
class Col:
    """One displayed column: the frame's column, its header, its unit and how a value is written."""

    name: str
    label: str
    unit: str = ""
    fmt: Callable[[object], str] = number
    text: bool = False  # left-aligned and free to wrap (ids, notes), else a right-aligned number


@dataclass
class Paragraph:
    """Prose; plain text is escaped, a :class:`markupsafe.Markup` is kept (for <code> and links)."""

    text: str
    kind: str = ""  # "" | "warning" | "small"


@dataclass
class Table:
    """A table with a one-line caption saying what a row is, and optional notes below it."""

    frame: pd.DataFrame
    caption: str
    columns: list[Col]
    notes: list[str] = field(default_factory=list)
    number: int = 0  # set by :func:`numbered`

    def cells(self) -> list[list[str]]:
        return [
            [
                c.fmt(v) if not c.text else ("" if v is None or (isinstance(v, float) and np.isnan(v)) else str(v))
                for c, v in zip(self.columns, row)
            ]
            for row in self.frame[[c.name for c in self.columns]].itertuples(index=False)
        ]


@dataclass
class Figure:
    """A figure saved as ``<stem>.png`` and ``<stem>.svg``; the report shows the SVG."""

    stem: str
    caption: str
    alt: str
    number: int = 0

    @property
    def src(self) -> str:
        return f"{self.stem}.svg"


@dataclass
class Reference:
    """One entry of the reference list."""

    text: str
    doi: str = ""


@dataclass
class Section:
    title: str
    blocks: list = field(default_factory=list)
    anchor: str = ""

    def __post_init__(self):
        self.anchor = self.anchor or "".join(ch if ch.isalnum() else "-" for ch in self.title.lower()).strip("-")


def numbered(sections: list[Section]) -> list[Section]:
    """Number the tables and the figures of ``sections`` in reading order (1, 2, ...)."""
    counts = {Table: 0, Figure: 0}
    for section in sections:
        for block in section.blocks:
            if type(block) in counts:
                counts[type(block)] += 1
                block.number = counts[type(block)]
    return sections


def save_figure(fig: MplFigure, out: Path, stem: str) -> dict[str, Path]:
    """Write ``fig`` as ``out/<stem>.png`` (120 dpi) and ``out/<stem>.svg``; return both paths."""
    paths = {"png": out / f"{stem}.png", "svg": out / f"{stem}.svg"}
    fig.savefig(paths["png"], dpi=120)
    fig.savefig(paths["svg"])
    return paths


def interval_notes(n_tasks, intervals: dict[str, tuple], min_tasks: int = MIN_TASKS) -> list[str]:
    """Why each row's intervals deserve caution: drawn from fewer than ``min_tasks`` tasks, or of zero width.

    Parameters
    ----------
    n_tasks : array_like of int
        Tasks each row's data come from (what the bootstrap resamples).
    intervals : dict
        ``name -> (low, high)`` arrays, one value per row; the name prefixes its zero-width note
        (use ``""`` for a table's only interval).

    Returns
    -------
    list of str
        One note per row, empty where there is nothing to say.

    Examples
    --------
    >>> interval_notes([8, 1, 3], {"": ([0.1, 0.2, 0.0], [0.3, 0.2, 0.5])})
    ['', 'from 1 task; zero width', 'from 3 tasks']
    >>> interval_notes([9], {"human": ([0.2], [0.2]), "model": ([0.1], [0.3])})
    ['human: zero width']
    """
    n_tasks = np.asarray(n_tasks)
    notes = [[f"from {n} task{'s' if n != 1 else ''}"] if n < min_tasks else [] for n in n_tasks]
    for name, (low, high) in intervals.items():
        low, high = np.asarray(low, float), np.asarray(high, float)
        zero = np.isfinite(low) & np.isfinite(high) & (high - low <= 1e-12)
        for row in np.flatnonzero(zero):
            notes[row].append(f"{name}: zero width" if name else "zero width")
    return ["; ".join(parts) for parts in notes]


INTERVAL_NOTE = (
    f"Notes (and {DAGGER} in a figure): an interval drawn from fewer than {MIN_TASKS} tasks, or of zero "
    "width (every resample of the tasks gives the same value, e.g. a category seen in one task only), "
    "does not show the uncertainty and should not be read as precise."
)


def markup(text: str) -> Markup:
    """Keep ``text`` as HTML (for a paragraph holding <code> or <a>); only for text written in this package."""
    return Markup(text)
