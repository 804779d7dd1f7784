"""Mixed-model odds ratios against the plain 2 x 2 odds ratio when there is no participant or task effect,
and the degenerate levels."""

import math

import numpy as np
import pandas as pd
import pytest

from analysis.mixed import category_mixed_models


def _data(rng, p_human, p_model, participants=30, tasks=12, units=20, category="loops"):
    rationale = {(t, u): int(rng.random() < p_model) for t in range(tasks) for u in range(units)}
    rows = [
        (f"p{p}", f"t{t}", u, category, int(rng.random() < p_human), rationale[(t, u)])
        for p in range(participants)
        for t in rng.choice(tasks, 6, replace=False)
        for u in range(units)
    ]
    return pd.DataFrame(
        rows, columns=["participant_id", "task_id", "unit_index", "category", "selected", "in_rationale"]
    )


def test_odds_ratio_matches_the_two_by_two_table_without_random_effects():
    data = _data(np.random.default_rng(0), p_human=0.4, p_model=0.1)
    got = category_mixed_models(data).iloc[0]
    model = data.drop_duplicates(["task_id", "unit_index"])
    h, m = data["selected"].mean(), model["in_rationale"].mean()
    plain = (h / (1 - h)) / (m / (1 - m))  # about (0.4 / 0.6) / (0.1 / 0.9) = 6
    assert got.odds_ratio == pytest.approx(plain, rel=0.15)
    assert got.ci_low < got.odds_ratio < got.ci_high and got.ci_low > 3
    assert (got.n_rows, got.n_participants, got.n_tasks) == (len(data), 30, 12)
    assert got.participant_sd < 0.3 and got.task_sd < 0.3  # simulated without either effect
    assert got.human_rate == pytest.approx(h) and got.model_rate == pytest.approx(m)


def test_no_difference_gives_an_interval_around_one():
    got = category_mixed_models(_data(np.random.default_rng(1), p_human=0.2, p_model=0.2)).iloc[0]
    assert got.ci_low < 1 < got.ci_high


def test_degenerate_levels():
    data = _data(np.random.default_rng(2), 0.3, 0.3, participants=3, tasks=6)
    nobody = data.assign(category="strings", selected=0, in_rationale=0)
    got = category_mixed_models(pd.concat([data, nobody])).set_index("category")
    assert got.loc["strings", "note"] == "nobody selected these units" and math.isnan(got.loc["strings", "odds_ratio"])
    assert got.loc["loops", "ci_low"] < got.loc["loops", "odds_ratio"] < got.loc["loops", "ci_high"]


def test_participant_spread_is_recovered():
    # logit p = -1.5 + log 2 (humans) + participant effect (sd 1) + task effect (sd 0.7): conditional OR 2
    rng = np.random.default_rng(104)
    participant, task = rng.normal(0, 1.0, 40), rng.normal(0, 0.7, 12)

    def chance(x):
        return 1 / (1 + np.exp(-x))

    rows = [
        (f"p{p}", f"t{t}", u, "loops", int(rng.random() < chance(-1.5 + np.log(2) + participant[p] + task[t])), 0)
        for p in range(40)
        for t in rng.choice(12, 6, replace=False)
        for u in range(20)
    ]
    data = pd.DataFrame(
        rows, columns=["participant_id", "task_id", "unit_index", "category", "selected", "in_rationale"]
    )
    rationale = {(f"t{t}", u): int(rng.random() < chance(-1.5 + task[t])) for t in range(12) for u in range(20)}
    data["in_rationale"] = [rationale[(t, u)] for t, u in zip(data["task_id"], data["unit_index"])]
    got = category_mixed_models(data).iloc[0]
    assert 0.6 < got.participant_sd < 1.5 and 0.3 < got.task_sd < 1.2
    assert 1.2 < got.odds_ratio < 3.5
