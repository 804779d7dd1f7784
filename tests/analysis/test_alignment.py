"""Per-response alignment against a brute-force scikit-learn loop and the hand-built export."""

import math
import warnings

import numpy as np
import pandas as pd
import pytest
from sklearn.metrics import cohen_kappa_score, f1_score, jaccard_score, precision_score, recall_score

from analysis import alignment_scores, alignment_summary, response_units


def _oracle(tables):
    """Score each response with scikit-learn, one response at a time, straight from the raw tables."""
    units, sel, rat = tables["units"], tables["selections"], tables["model_rationales"]
    rows = []
    for (pid, task), chosen in sel.groupby(["participant_id", "task_id"]):
        idx = units.loc[(units.task_id == task) & (units.selectable == 1), "unit_index"].tolist()
        picked = set(chosen.loc[chosen.selected == 1, "unit_index"])
        modelled = set(rat.loc[(rat.task_id == task) & (rat.in_rationale == 1), "unit_index"])
        h = np.array([int(u in picked) for u in idx])
        m = np.array([int(u in modelled) for u in idx])
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            kappa = cohen_kappa_score(h, m) if len(idx) and (h.std() or m.std()) else math.nan
            row = {
                "participant_id": pid,
                "task_id": task,
                "n_units": len(idx),
                "n_human": h.sum(),
                "n_model": m.sum(),
                "kappa": kappa,
                "precision": precision_score(h, m, zero_division=np.nan) if m.sum() else math.nan,
                "recall": recall_score(h, m, zero_division=np.nan) if h.sum() else math.nan,
                "f1": f1_score(h, m) if h.sum() + m.sum() else math.nan,
                "jaccard": jaccard_score(h, m) if h.sum() + m.sum() else math.nan,
            }
        rows.append(row)
    return pd.DataFrame(rows)


def test_alignment_matches_sklearn_loop(random_tables):
    got = alignment_scores(
        response_units(random_tables["selections"], random_tables["units"], random_tables["model_rationales"])
    )
    want = _oracle(random_tables)
    assert len(got) == len(want) == 48
    for column in want.columns[2:]:
        np.testing.assert_allclose(
            got[column].to_numpy(float), want[column].to_numpy(float), atol=1e-12, err_msg=column
        )
    assert got["kappa"].notna().sum() > 30


def test_hand_built_export(hand_tables):
    t = hand_tables
    got = alignment_scores(response_units(t["selections"], t["units"], t["model_rationales"])).set_index(
        ["participant_id", "task_id"]
    )
    # p1/t1: selectable 1-4, human {2, 3}, model {2, 4} (unit 0 not selectable): a=1 b=1 c=1 d=1, kappa 0
    assert got.loc[("p1", "t1"), ["n_units", "n_human", "n_model", "n_both"]].tolist() == [4, 2, 2, 1]
    assert got.loc[("p1", "t1"), "kappa"] == 0.0 and pd.isna(got.loc[("p1", "t1"), "kappa_reason"])
    # p1/t2: human selected nothing: kappa is 0 and flagged, precision 0 / 1, recall undefined
    assert got.loc[("p1", "t2"), "kappa_reason"] == "human rater constant"
    assert got.loc[("p1", "t2"), "precision"] == 0.0 and math.isnan(got.loc[("p1", "t2"), "recall"])
    # p2/t1: only the selected rows were exported; missing rows count as not selected: perfect agreement
    assert got.loc[("p2", "t1"), ["n_units", "n_human", "kappa", "jaccard"]].tolist() == [4, 2, 1.0, 1.0]
    # p2/t3: no selectable unit at all: reported, not lost
    assert got.loc[("p2", "t3"), "n_units"] == 0
    assert math.isnan(got.loc[("p2", "t3"), "kappa"]) and got.loc[("p2", "t3"), "kappa_reason"] == "no selectable units"
    assert list(got.reset_index().columns) == [
        "participant_id",
        "task_id",
        "n_units",
        "n_human",
        "n_model",
        "n_both",
        "kappa",
        "kappa_reason",
        "ac1",
        "precision",
        "recall",
        "f1",
        "jaccard",
    ]


def test_nobody_selected_anything(random_tables):
    random_tables["selections"]["selected"] = 0
    got = alignment_scores(
        response_units(random_tables["selections"], random_tables["units"], random_tables["model_rationales"])
    )
    assert (got["n_human"] == 0).all()
    assert set(got["kappa_reason"]) <= {"human rater constant", "both raters constant"}
    assert got["recall"].isna().all() and (got["f1"].fillna(0) == 0).all()


def test_summary_mean_and_seeded_ci(random_tables):
    scores = alignment_scores(
        response_units(random_tables["selections"], random_tables["units"], random_tables["model_rationales"])
    )
    summary = alignment_summary(scores, n_boot=400, seed=3).set_index("metric")
    assert summary.loc["kappa", "mean"] == pytest.approx(scores["kappa"].mean())
    assert summary.loc["kappa", "n"] + summary.loc["kappa", "n_undefined"] == len(scores)
    assert (summary["ci_low"] <= summary["mean"]).all() and (summary["mean"] <= summary["ci_high"]).all()
    again = alignment_summary(scores, n_boot=400, seed=3).set_index("metric")
    pd.testing.assert_frame_equal(summary, again)
    assert not alignment_summary(scores, n_boot=400, seed=4).set_index("metric")["ci_low"].equals(summary["ci_low"])
