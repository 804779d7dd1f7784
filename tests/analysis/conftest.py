"""Small exports for the analysis tests: one hand-built, one random (for brute-force oracles)."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

CATEGORIES = ["identifiers", "punctuation", "none", "loops", "newline"]
GROUP = {
    "identifiers": "natural language",
    "punctuation": "non-semantic",
    "none": "semantic",
    "loops": "semantic",
    "newline": "non-semantic",
}


@pytest.fixture
def hand_tables() -> dict[str, pd.DataFrame]:
    """Three tasks: t1 (selectable units 1-4), t2 (0-3), t3 (none selectable); p3 is excluded.

    Model rationale: t1 {0, 2, 4} (unit 0 is not selectable, so it is ignored), t2 {3}.
    p1: t1 {2, 3}, t2 {} (rows present, all 0). p2: t1 {2, 4} (only the selected rows present),
    t2 {3}, t3 (one row for a non-selectable unit, selected 0). p3: t1 {1, 2, 3, 4}.
    """
    units = pd.DataFrame(
        {
            "task_id": ["t1"] * 6 + ["t2"] * 5 + ["t3"] * 2,
            "unit_index": [0, 1, 2, 3, 4, 5, 0, 1, 2, 3, 4, 0, 1],
            "text": ["def", "None", "(", "x", "\n", "for", "x", "None", ")", "for", "\n", "NA", "x"],
            "category": [
                "functions",
                "none",
                "punctuation",
                "identifiers",
                "newline",
                "loops",
                "identifiers",
                "none",
                "punctuation",
                "loops",
                "newline",
                "identifiers",
                "identifiers",
            ],
            "group": [
                "semantic",
                "semantic",
                "non-semantic",
                "natural language",
                "non-semantic",
                "semantic",
                "natural language",
                "semantic",
                "non-semantic",
                "semantic",
                "non-semantic",
                "natural language",
                "natural language",
            ],
            "selectable": [0, 1, 1, 1, 1, 0, 1, 1, 1, 1, 0, 0, 0],
        }
    )
    rationales = pd.DataFrame({"task_id": ["t1"] * 3 + ["t2"], "unit_index": [0, 2, 4, 3], "in_rationale": 1})
    rows = (
        [("p1", "t1", u, int(u in (2, 3))) for u in (1, 2, 3, 4)]
        + [("p1", "t2", u, 0) for u in (0, 1, 2, 3)]
        + [("p2", "t1", 2, 1), ("p2", "t1", 4, 1), ("p2", "t2", 3, 1), ("p2", "t3", 0, 0)]
        + [("p3", "t1", u, 1) for u in (1, 2, 3, 4)]
    )
    selections = pd.DataFrame(rows, columns=["participant_id", "task_id", "unit_index", "selected"])
    participants = pd.DataFrame(
        {
            "participant_id": ["p1", "p2", "p3"],
            "excluded": [0, 0, 1],
            "exclusion_reason": ["", "", "failed attention checks"],
        }
    )
    return {"units": units, "model_rationales": rationales, "selections": selections, "participants": participants}


@pytest.fixture
def random_tables() -> dict[str, pd.DataFrame]:
    """12 participants x 4 of 6 tasks x 15 units, rare selections: exercises every branch."""
    rng = np.random.default_rng(7)
    n_tasks, n_units = 6, 15
    units = pd.DataFrame(
        {
            "task_id": np.repeat([f"t{i}" for i in range(n_tasks)], n_units),
            "unit_index": np.tile(np.arange(n_units), n_tasks),
            "text": rng.choice(["x", "y", "(", ")", "for", "None", "\n", "'s'"], n_tasks * n_units),
            "category": rng.choice(CATEGORIES, n_tasks * n_units),
            "selectable": np.tile((np.arange(n_units) >= 2) & (np.arange(n_units) < 13), n_tasks).astype(int),
        }
    )
    units["group"] = units["category"].map(GROUP)
    rationale = (rng.random(len(units)) < 0.2).astype(int)
    rationales = pd.DataFrame(
        {"task_id": units["task_id"], "unit_index": units["unit_index"], "in_rationale": rationale}
    )
    rows = []
    for p in range(12):
        for t in rng.choice(n_tasks, 4, replace=False):
            for u in range(2, 13):
                rows.append((f"p{p:02d}", f"t{t}", u, int(rng.random() < 0.25)))
    selections = pd.DataFrame(rows, columns=["participant_id", "task_id", "unit_index", "selected"])
    return {"units": units, "model_rationales": rationales, "selections": selections}
