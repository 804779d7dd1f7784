"""Category rates and tests against brute-force loops, statsmodels and the hand-built export."""

import math

import numpy as np
import pandas as pd
import pytest
from statsmodels.stats.multitest import multipletests

from analysis import category_rates, category_tests, paired_wilcoxon, pooled_rates, response_units
from analysis.wilcoxon import wilcoxon_method


def _data(tables):
    return response_units(tables["selections"], tables["units"], tables["model_rationales"])


def test_rates_match_a_brute_force_loop(random_tables):
    units, sel, rat = random_tables["units"], random_tables["selections"], random_tables["model_rationales"]
    got = category_rates(_data(random_tables)).set_index(["participant_id", "category"])
    for pid, mine in sel.groupby("participant_id"):
        tasks = set(mine["task_id"])
        for category in units["category"].unique():
            pool = units[units.task_id.isin(tasks) & (units.category == category) & (units.selectable == 1)]
            if pool.empty:
                assert (pid, category) not in got.index
                continue
            keys = set(zip(pool.task_id, pool.unit_index))
            human = sum(1 for r in mine.itertuples() if r.selected and (r.task_id, r.unit_index) in keys)
            model = sum(1 for r in rat.itertuples() if r.in_rationale and (r.task_id, r.unit_index) in keys)
            row = got.loc[(pid, category)]
            assert row["n_units"] == len(keys)
            assert row["human_rate"] == pytest.approx(human / len(keys))
            assert row["model_rate"] == pytest.approx(model / len(keys))


def test_tests_per_category_and_holm(random_tables):
    rates = category_rates(_data(random_tables))
    tests = category_tests(rates)
    assert tests["category"].tolist() == sorted(rates["category"].unique())
    for row in tests.itertuples():
        part = rates[rates.category == row.category]
        assert row.p == pytest.approx(paired_wilcoxon(part.human_rate, part.model_rate)["p"])
        assert row.n == len(part) and row.human_median == pytest.approx(part.human_rate.median())
        if row.n_nonzero:  # the method column names what scipy's default picks for these rates
            assert row.method == wilcoxon_method(np.round(part.human_rate - part.model_rate, 12))
    ok = tests["p"].notna()
    np.testing.assert_allclose(tests.loc[ok, "p_adj"], multipletests(tests.loc[ok, "p"], method="holm")[1])
    bh = category_tests(rates, correction="fdr_bh")
    np.testing.assert_allclose(bh.loc[ok, "p_adj"], multipletests(tests.loc[ok, "p"], method="fdr_bh")[1])
    assert set(tests["method"].dropna()) <= {"exact", "permutation"} and set(tests["zero_method"]) == {"wilcox"}


def test_hand_built_export_by_group(hand_tables):
    # drop the excluded p3 as the loader would; p1 saw t1 + t2, p2 saw t1 + t2 + t3 (t3 has no selectable unit)
    sel = hand_tables["selections"]
    hand_tables["selections"] = sel[sel.participant_id != "p3"]
    rates = category_rates(_data(hand_tables), by="group").set_index(["participant_id", "group"])
    # non-semantic selectable units over t1, t2: t1/2 "(", t1/4 "\n", t2/2 ")" -> 3 units; model {t1/2, t1/4}
    assert rates.loc[("p1", "non-semantic"), ["n_units", "n_human", "n_model"]].tolist() == [3, 1, 2]
    assert rates.loc[("p2", "non-semantic"), ["n_units", "n_human", "n_model"]].tolist() == [3, 2, 2]
    tests = category_tests(rates.reset_index(), by="group").set_index("group")
    # semantic: t1/1 None, t2/1 None, t2/3 for; p1 chose none (0 vs 1/3), p2 chose t2/3 (1/3 vs 1/3): one nonzero pair
    assert tests.loc["semantic", ["n", "n_nonzero"]].tolist() == [2, 1]
    assert tests.loc["semantic", "rank_biserial"] == -1.0


def test_all_tied_category_is_left_out_of_correction():
    rates = pd.DataFrame(
        {
            "participant_id": ["a", "b", "c"] * 2,
            "category": ["loops"] * 3 + ["strings"] * 3,
            "human_rate": [0.2, 0.1, 0.0, 0.5, 0.6, 0.7],
            "model_rate": [0.2, 0.1, 0.0, 0.1, 0.1, 0.1],
        }
    )
    tests = category_tests(rates).set_index("category")
    assert tests.loc["loops", "note"] == "all differences zero" and math.isnan(tests.loc["loops", "p_adj"])
    assert tests.loc["strings", "p_adj"] == pytest.approx(tests.loc["strings", "p"])  # family of one


def test_one_participant(hand_tables):
    sel = hand_tables["selections"]
    hand_tables["selections"] = sel[sel.participant_id == "p1"]
    tests = category_tests(category_rates(_data(hand_tables)))
    assert (tests["n"] == 1).all()
    assert tests["p"].notna().sum() == (tests["n_nonzero"] == 1).sum()


def test_pooled_rates_and_task_ci(random_tables):
    data = _data(random_tables)
    pooled = pooled_rates(data, n_boot=300, seed=1).set_index("category")
    for category, part in data.groupby("category"):
        assert pooled.loc[category, "human_rate"] == pytest.approx(part["selected"].mean())
        assert pooled.loc[category, "model_rate"] == pytest.approx(part["in_rationale"].mean())
    for rater in ("human", "model"):
        assert (pooled[f"{rater}_ci_low"] <= pooled[f"{rater}_rate"] + 1e-12).all()
        assert (pooled[f"{rater}_rate"] <= pooled[f"{rater}_ci_high"] + 1e-12).all()
