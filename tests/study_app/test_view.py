"""The annotation page's pieces: spoken names of units and their line numbers."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from contract.prepared_tasks import Task
from study_app.participant.view import pieces, unit_label

FIXTURE_TASKS = Path(__file__).parent / "fixtures" / "pilot" / "tasks.jsonl"


@pytest.mark.parametrize(
    ("kind", "text", "label"),
    [
        ("indent", "    ", "indent, 4 spaces"),
        ("indent", " ", "indent, 1 space"),
        ("indent", "\t\t", "indent, 2 tabs"),
        ("indent", "\t  ", "indent, 2 spaces, 1 tab"),
        ("newline", "\n", "line end"),
        ("token", "def", "def"),
    ],
)
def test_unit_label(kind, text, label):
    assert unit_label(kind, text) == label


def test_pieces_name_every_unit_and_give_its_line():
    task = Task.from_dict(json.loads(FIXTURE_TASKS.read_text().splitlines()[0]))
    lines = task.text.split("\n")
    starts = [sum(len(s) + 1 for s in lines[:k]) for k in range(len(lines))]  # where each line begins
    units = [p for p in pieces(task) if p.unit is not None]
    assert units and all(p.label for p in units)
    for p in units:
        u = task.units[p.unit]
        assert starts[p.line - 1] <= u.start and (p.line == len(lines) or u.start < starts[p.line])
        if p.kind == "newline":
            assert p.label == "line end"
        elif p.kind == "token" and not p.target:
            assert p.label == u.text
