"""Explainer plausibility: per-response metrics worked by hand, ranking, paired tests, report section."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from export_files import write_export
from statsmodels.stats.multitest import multipletests

from analysis.io import ExportError, load_export
from analysis.plausibility import explainer_table, explainer_tests, explainer_units, plausibility
from analysis.report import write_report
from analysis.report_tables import Options


def one_response(selected, scores_by_explainer, sets):
    """One participant, one task with units 0..n-1 all selectable, several explainers."""
    n = len(selected)
    units = pd.DataFrame(
        {"task_id": "t", "unit_index": range(n), "category": ["a", "b"] * (n // 2) + ["a"] * (n % 2), "selectable": 1}
    )
    selections = pd.DataFrame({"participant_id": "p", "task_id": "t", "unit_index": range(n), "selected": selected})
    scores = pd.concat(
        [
            pd.DataFrame(
                {
                    "task_id": "t",
                    "explainer": name,
                    "unit_index": range(n),
                    "score": s,
                    "in_rationale": [int(k in sets.get(name, ())) for k in range(n)],
                }
            )
            for name, s in scores_by_explainer.items()
        ]
    )
    return explainer_units(selections, units, scores)


def test_metrics_by_hand():
    data = one_response(
        [0, 1, 0, 1, 0],
        {"occlusion": [0.1, 0.9, 0.2, 0.5, 0.5], "greedy": [0, 0, 0, 1, 0]},
        {"greedy": {3}, "occlusion": {1, 4}},
    )
    scores, excluded = plausibility(data)
    got = scores.set_index("explainer")
    # occlusion: at 0.9 {1}: P 1, R 1/2; at 0.5 {1, 3, 4}: P 2/3, R 1 -> AP = 1/2 * 1 + 1/2 * 2/3
    assert got.loc["occlusion", "auprc"] == pytest.approx(5 / 6)
    # top-2: 1, then the 0.5 tie goes to unit 4 (nearer the target): one hit of two
    assert got.loc["occlusion", ["f1_topk", "iou_topk"]].tolist() == pytest.approx([1 / 2, 1 / 3])
    assert np.isnan(got.loc["occlusion", "f1_set"])  # a score explainer has no set of its own
    # greedy: at 1 {3}: P 1, R 1/2; at 0 all five: P 2/5, R 1 -> AP = 1/2 + 1/2 * 2/5
    assert got.loc["greedy", "auprc"] == pytest.approx(0.7)
    assert got.loc["greedy", "f1_topk"] == pytest.approx(1 / 2)  # {3, 4}
    # its own set {3} against {1, 3}: F1 = 2 * 1 / (2 + 1), IOU = 1 / 2
    assert got.loc["greedy", ["f1_set", "iou_set"]].tolist() == pytest.approx([2 / 3, 1 / 2])
    assert got.loc["greedy", "prevalence"] == pytest.approx(2 / 5) and excluded.empty


def test_responses_without_a_selection_are_left_out_and_counted():
    data = one_response([0, 0, 0, 0], {"attention": [0.1, 0.2, 0.3, 0.4]}, {})
    scores, excluded = plausibility(data)
    assert scores.empty and excluded.to_dict("records") == [{"participant_id": "p", "task_id": "t"}]
    # by category: "a" has units 0, 2 (selected: 2), "b" has 1, 3 (none selected: left out)
    data = one_response([0, 0, 1, 0], {"attention": [0.1, 0.2, 0.3, 0.4]}, {})
    by_cat, left_out = plausibility(data, by="category")
    assert by_cat["category"].tolist() == ["a"] and by_cat["auprc"].iloc[0] == 1.0
    assert left_out["category"].tolist() == ["b"]


def simulated(n_participants=10, n_tasks=6, n_units=12, seed=3):
    """Participants who select near one latent importance; 'close' sees it with little noise, 'far' with a lot."""
    rng = np.random.default_rng(seed)
    importance = rng.random((n_tasks, n_units))
    units = pd.DataFrame(
        {
            "task_id": np.repeat([f"t{i}" for i in range(n_tasks)], n_units),
            "unit_index": np.tile(np.arange(n_units), n_tasks),
            "text": "x",
            "category": rng.choice(["a", "b"], n_tasks * n_units),
            "group": "g",
            "selectable": 1,
        }
    )
    rows = []
    for p in range(n_participants):
        for t in range(n_tasks):
            noisy = importance[t] + rng.normal(0, 0.15, n_units)
            chosen = set(np.argsort(-noisy)[:3])
            rows += [(f"p{p}", f"t{t}", u, int(u in chosen)) for u in range(n_units)]
    selections = pd.DataFrame(rows, columns=["participant_id", "task_id", "unit_index", "selected"])
    scores = []
    for name, noise in (("close", 0.05), ("far", 1.0), ("greedy", 0.3)):
        s = importance + rng.normal(0, noise, importance.shape)
        for t in range(n_tasks):
            top = set(np.argsort(-s[t])[:3])
            in_set = [int(u in top) for u in range(n_units)]
            scores.append(
                pd.DataFrame(
                    {
                        "task_id": f"t{t}",
                        "explainer": name,
                        "unit_index": range(n_units),
                        "in_rationale": in_set,
                        "score": in_set if name == "greedy" else s[t],
                    }
                )
            )
    rationales = pd.concat(scores, ignore_index=True)
    faith = pd.DataFrame(
        [
            (f"t{t}", name, 3, 0.1 * i, 0.5 - 0.1 * i)
            for t in range(n_tasks)
            for i, name in enumerate(("close", "far", "greedy"))
        ],
        columns=["task_id", "explainer", "set_size", "comprehensiveness", "sufficiency"],
    )
    return {"units": units, "selections": selections, "model_rationales": rationales, "explainers": faith}


def test_ranking_cis_and_holm_adjusted_paired_tests():
    tables = simulated()
    scores, excluded = plausibility(explainer_units(tables["selections"], tables["units"], tables["model_rationales"]))
    tests = explainer_tests(scores)
    table = explainer_table(scores, tables["explainers"], excluded=len(excluded), n_boot=500, tests=tests)
    assert table["explainer"].tolist()[0] == "close" and table["explainer"].tolist()[-1] == "far"
    assert table["rank"].tolist() == [1, 2, 3]
    for label in ("participants", "tasks"):
        assert (table[f"auprc_ci_low_{label}"] <= table["auprc"]).all()
        assert (table["auprc"] <= table[f"auprc_ci_high_{label}"]).all()
    close = table.set_index("explainer").loc["close"]
    assert close["n_responses"] == 60 and close["n_participants"] == 10 and close["n_tasks"] == 6
    assert close["comprehensiveness"] == pytest.approx(0.0) and close["sufficiency"] == pytest.approx(0.5)
    assert np.isnan(close["f1_set"]) and not np.isnan(table.set_index("explainer").loc["greedy", "f1_set"])
    # statsmodels' Holm over the three pairs' raw p-values
    assert tests["p_adjusted"].to_numpy() == pytest.approx(multipletests(tests["p"], method="holm")[1])
    pair = tests[(tests["explainer_a"] == "close") & (tests["explainer_b"] == "far")].iloc[0]
    assert pair["n"] == 10 and pair["rank_biserial"] == 1.0 and pair["p_adjusted"] < 0.05
    assert table.set_index("explainer").loc["far", "p_adjusted_vs_best"] == pair["p_adjusted"]
    # the participant mean of 'close' by hand
    means = scores[scores["explainer"] == "close"].groupby("participant_id")["auprc"].mean()
    assert pair["mean_a"] == pytest.approx(means.mean())


def test_export_loads_every_explainer_and_keeps_greedy_for_alignment(tmp_path):
    folder = write_export(tmp_path / "e", simulated())
    export = load_export(folder)
    assert set(export.explainer_scores["explainer"]) == {"close", "far", "greedy"}
    assert "explainer" not in export.model_rationales.columns
    assert len(export.model_rationales) == 6 * 12 and export.model_rationales["in_rationale"].sum() == 18
    assert len(export.faithfulness) == 18
    tables = simulated()
    tables["model_rationales"] = pd.concat([tables["model_rationales"], tables["model_rationales"].iloc[:1]])
    with pytest.raises(ExportError, match="duplicate row for task_id, explainer, unit_index"):
        load_export(write_export(tmp_path / "dup", tables))


def test_an_export_without_explainer_column_is_greedy_only(tmp_path, hand_tables):
    export = load_export(write_export(tmp_path / "e", hand_tables))
    assert set(export.explainer_scores["explainer"]) == {"greedy"}
    assert export.explainer_scores["score"].tolist() == export.explainer_scores["in_rationale"].astype(float).tolist()


def test_report_has_the_explainer_section(tmp_path):
    files = write_report(write_export(tmp_path / "e", simulated()), tmp_path / "out", Options(n_boot=200))
    table = pd.read_csv(files["explainers"])
    assert table["explainer"].tolist()[0] == "close"
    assert files["explainers_png"].stat().st_size > 0 and files["explainers_svg"].stat().st_size > 0
    html = files["report"].read_text()
    assert "Which explainer agrees with the participants?" in html and "explainers.svg" in html
    assert "0 responses with no selected unit were left out" in html


@pytest.mark.parametrize("seed", range(4))
def test_vectorised_metrics_equal_sklearn_and_a_loop_on_random_responses_with_ties(seed):
    """Every response scored on its own by scikit-learn and codeq's top_units equals the one-sort version."""
    from sklearn.metrics import average_precision_score

    from contract.token_alignment import top_units

    rng = np.random.default_rng(seed)
    n_tasks, n_people = 7, 9
    lengths = rng.integers(1, 25, n_tasks)
    units = pd.DataFrame(
        [
            (f"t{t}", u, rng.choice(["a", "b", "c"]), int(rng.random() < 0.9))
            for t in range(n_tasks)
            for u in range(lengths[t])
        ],
        columns=["task_id", "unit_index", "category", "selectable"],
    )
    selections = pd.DataFrame(
        [
            (f"p{p}", t, u, int(rng.random() < 0.3))
            for p in range(n_people)
            for t, u, s in units[["task_id", "unit_index", "selectable"]].itertuples(index=False)
            if s and rng.random() < 0.95
        ],
        columns=["participant_id", "task_id", "unit_index", "selected"],
    )
    frames = []
    for name in ("greedy", "occlusion"):
        # scores on a coarse grid of 4 values: many ties inside a response
        score = rng.integers(0, 4, len(units)) / 3 if name == "occlusion" else (rng.random(len(units)) < 0.3) * 1.0
        frames.append(
            units[["task_id", "unit_index"]].assign(explainer=name, score=score, in_rationale=(score > 0.5) * 1)
        )
    data = explainer_units(selections, units, pd.concat(frames, ignore_index=True))
    for by in (None, "category"):
        got, excluded = plausibility(data, by=by)
        keys = ["participant_id", "task_id", "explainer"] + ([by] if by else [])
        expected, left_out = [], []
        for key, part in data.groupby(keys, sort=True):
            y, s, u = part["selected"].to_numpy(), part["score"].to_numpy(), part["unit_index"].to_numpy()
            if not y.any():
                left_out.append(key)
                continue
            k = int(y.sum())
            hits = int(y[np.isin(u, top_units(dict(zip(u, s)), k, among=u))].sum())
            own, both = int(part["in_rationale"].sum()), int((part["in_rationale"] & y).sum())
            expected.append(
                {
                    **dict(zip(keys, key)),
                    "auprc": average_precision_score(y, s),
                    "f1_topk": hits / k,
                    "iou_topk": hits / (2 * k - hits),
                    "f1_set": 2 * both / (k + own) if key[2] == "greedy" else np.nan,
                    "iou_set": both / (k + own - both) if key[2] == "greedy" else np.nan,
                }
            )
        expected = pd.DataFrame(expected)
        assert len(got) == len(expected) > 20 and len(excluded) == len({k[:2] + k[3:] for k in left_out})
        merged = expected.merge(got, on=keys, suffixes=("", "_got"))
        assert len(merged) == len(expected)
        for metric in ("auprc", "f1_topk", "iou_topk", "f1_set", "iou_set"):
            np.testing.assert_allclose(merged[f"{metric}_got"], merged[metric], rtol=0, atol=1e-12)


@pytest.mark.parametrize("categorical", [False, True])
def test_group_ids_are_those_of_a_sorted_groupby(categorical):
    """Codes combined into one key number groups as groupby(sort=True, observed=True) does, keys included."""
    from analysis.plausibility import _groups

    rng = np.random.default_rng(3)
    n = 2000
    data = pd.DataFrame(
        {
            "participant_id": rng.choice([f"p{i}" for i in range(40)], n),
            "task_id": rng.choice(["t10", "t2", "t1"], n),
            "category": rng.choice(["b", "a", "c", "d"], n),
            "explainer": rng.choice(["occlusion", "greedy"], n),
        }
    )
    if categorical:  # categories in a non-alphabetical order, one never used: groupby follows the category order
        data["category"] = pd.Categorical(data["category"], categories=["d", "z", "b", "a", "c"])
        data["explainer"] = data["explainer"].astype("category")
    keys = ["participant_id", "task_id", "category", "explainer"]
    group, levels = _groups(data, keys)
    grouped = data.groupby(keys, sort=True, observed=True)
    np.testing.assert_array_equal(group, grouped.ngroup().to_numpy())
    expected = grouped.size().reset_index()[keys].astype(str)
    assert list(levels.columns) == keys
    for key in keys:
        assert levels[key].tolist() == expected[key].tolist()


def test_one_sort_order_breaks_ties_as_a_lexsort_with_signed_zeros():
    """The int64 key sorts as np.lexsort((-index, -score, group)), with -0.0 and 0.0 one score."""
    from analysis.ranking import _order

    rng = np.random.default_rng(5)
    n = 5000
    group = rng.integers(0, 50, n)
    score = rng.choice([0.0, -0.0, 0.25, 1.0, 1 / 3], n)
    index = rng.permutation(n)  # distinct: the order is unique
    np.testing.assert_array_equal(_order(group, score, index), np.lexsort((-index, -score, group)))
