"""Normalized entropy at token vs category level, worked by hand."""

import math

import pandas as pd
import pytest
from scipy.stats import entropy as scipy_entropy

from analysis import normalized_entropy, rationale_entropy


def test_normalized_entropy_against_scipy():
    counts = [5, 3, 0, 2]
    assert normalized_entropy(counts, 6) == pytest.approx(scipy_entropy(counts) / math.log(6))
    assert normalized_entropy([4], 3) == 0.0
    assert math.isnan(normalized_entropy([0, 0], 2)) and math.isnan(normalized_entropy([3], 1))


def test_token_vs_category_hand_worked():
    # one task, 4 selectable units: "x", "y" (identifiers), "(", ")" (punctuation)
    # human a picks x, y; human b picks x, (. Pooled: tokens x:2, y:1, (:1 over k_token = 4;
    # categories identifiers:3, punctuation:1 over k_category = 2. The model picks x and y.
    data = pd.DataFrame(
        {
            "participant_id": ["a"] * 4 + ["b"] * 4,
            "task_id": "t",
            "unit_index": [0, 1, 2, 3] * 2,
            "text": ["x", "y", "(", ")"] * 2,
            "category": ["identifiers", "identifiers", "punctuation", "punctuation"] * 2,
            "selected": [1, 1, 0, 0, 1, 0, 1, 0],
            "in_rationale": [1, 1, 0, 0] * 2,
        }
    )
    got = rationale_entropy(data).set_index("rater")
    h_token = -(0.5 * math.log(0.5) + 2 * 0.25 * math.log(0.25)) / math.log(4)  # = 0.75
    h_category = -(0.75 * math.log(0.75) + 0.25 * math.log(0.25)) / math.log(2)  # = 0.8113
    assert got.loc["human", "h_token"] == pytest.approx(h_token)
    assert got.loc["human", "h_category"] == pytest.approx(h_category)
    assert got.loc["human", "reduction"] == pytest.approx((h_token - h_category) / h_token)
    # model, counted once per task: tokens x:1, y:1 -> log 2 / log 4 = 0.5; one category -> 0; reduction 1
    assert got.loc["model", ["n_selected", "h_token", "h_category", "reduction"]].tolist() == [2, 0.5, 0.0, 1.0]
    assert got.loc["human", ["k_token", "k_category", "n_selected"]].tolist() == [4, 2, 4]


def test_nobody_selected_anything():
    data = pd.DataFrame(
        {
            "participant_id": "a",
            "task_id": "t",
            "unit_index": [0, 1],
            "text": ["x", "y"],
            "category": ["identifiers", "loops"],
            "selected": 0,
            "in_rationale": [1, 0],
        }
    )
    got = rationale_entropy(data).set_index("rater")
    assert got.loc["human", "n_selected"] == 0 and math.isnan(got.loc["human", "h_token"])
    assert math.isnan(got.loc["human", "reduction"])
