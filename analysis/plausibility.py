"""Plausibility of explainers: how well each explainer's unit scores find what a participant selected.

Notebook API, tidy DataFrames in and out (pingouin style):

>>> import analysis.plausibility as pl
>>> export = analysis.load_export("exports/pilot")                                    # doctest: +SKIP
>>> data = pl.explainer_units(export.selections, export.units, export.explainer_scores)  # doctest: +SKIP
>>> scores, excluded = pl.plausibility(data)                                           # doctest: +SKIP
>>> table = pl.explainer_table(scores, export.faithfulness)                            # doctest: +SKIP
>>> tests = pl.explainer_tests(scores)                                                 # doctest: +SKIP

Definitions (docs/explainers.md): per response (participant x task) and explainer, over the task's
selectable units, the participant's selection (0/1) is the reference and the explainer's unit
scores the prediction.

- ``auprc``: ``sklearn.metrics.average_precision_score(selected, score)``: the area under the
  precision-recall curve of the ranking by score (ties share a threshold). Chance level is the
  share of units selected (``prevalence``).
- ``f1_topk``, ``iou_topk``: F1 and Jaccard overlap of the explainer's k highest-scoring units with
  the selection, k = the participant's own selection size (so precision = recall = F1). Ties go to
  the unit nearer the target (:func:`codeq.token_alignment.top_units`).
- ``f1_set``, ``iou_set``: for set-valued explainers (greedy), the same for the explainer's own set
  (its size, not the participant's); NaN for score explainers.

Responses with no selected unit have no positives: every metric is undefined there, so they are
left out and counted. Light: pandas, numpy, scikit-learn, matplotlib; no torch.
"""

from __future__ import annotations

from itertools import combinations

import numpy as np
import pandas as pd
from matplotlib.figure import Figure
from sklearn.metrics import average_precision_score

from analysis.agreement import overlap_from_counts
from analysis.bootstrap import task_bootstrap
from analysis.correction import adjust_pvalues
from analysis.wilcoxon import paired_wilcoxon
from codeq.contract import SET_EXPLAINERS
from codeq.token_alignment import top_units

METRICS = ["auprc", "f1_topk", "iou_topk", "f1_set", "iou_set"]
RESPONSE = ["participant_id", "task_id"]


def explainer_units(selections: pd.DataFrame, units: pd.DataFrame, explainer_scores: pd.DataFrame) -> pd.DataFrame:
    """One row per response, explainer and selectable unit: the human's choice beside the explainer's score.

    Parameters
    ----------
    selections : pandas.DataFrame
        ``participant_id, task_id, unit_index, selected``; a response is a (participant, task) pair here.
    units : pandas.DataFrame
        ``task_id, unit_index, category, selectable``.
    explainer_scores : pandas.DataFrame
        ``task_id, explainer, unit_index, score, in_rationale`` (:attr:`analysis.io.Export.explainer_scores`).

    Returns
    -------
    pandas.DataFrame
        ``participant_id, task_id, explainer, unit_index, category, selected, score, in_rationale``.
        A selectable unit without a selections row counts as not selected; one without a score row
        gets score 0 and is not in the set.
    """
    selectable = units.loc[units["selectable"] == 1, ["task_id", "unit_index", "category"]]
    methods = explainer_scores[["task_id", "explainer"]].drop_duplicates()
    grid = selectable.merge(methods, on="task_id").merge(
        explainer_scores[["task_id", "explainer", "unit_index", "score", "in_rationale"]],
        on=["task_id", "explainer", "unit_index"],
        how="left",
    )
    responses = selections[RESPONSE].drop_duplicates()
    data = responses.merge(grid, on="task_id").merge(
        selections[RESPONSE + ["unit_index", "selected"]], on=RESPONSE + ["unit_index"], how="left"
    )
    data["selected"] = data["selected"].fillna(0).astype("int8")
    data["score"] = data["score"].fillna(0.0).astype(float)
    data["in_rationale"] = data["in_rationale"].fillna(0).astype("int8")
    for c in RESPONSE:
        data[c] = data[c].astype(str)
    return data[RESPONSE + ["explainer", "unit_index", "category", "selected", "score", "in_rationale"]]


def _score_response(
    selected: np.ndarray, scores: np.ndarray, in_set: np.ndarray, index: np.ndarray, set_valued: bool
) -> dict:
    n_selected = int(selected.sum())
    k_units = top_units(dict(zip(index, scores)), n_selected, among=index)
    top = np.isin(index, k_units)
    topk = overlap_from_counts(n_selected, n_selected, int((top & (selected == 1)).sum()))
    own = overlap_from_counts(n_selected, int(in_set.sum()), int(((in_set == 1) & (selected == 1)).sum()))
    return {
        "n_units": len(selected),
        "n_selected": n_selected,
        "set_size": int(in_set.sum()),
        "prevalence": n_selected / len(selected),
        "auprc": float(average_precision_score(selected, scores)),
        "f1_topk": float(topk["f1"]),
        "iou_topk": float(topk["jaccard"]),
        "f1_set": float(own["f1"]) if set_valued else np.nan,
        "iou_set": float(own["jaccard"]) if set_valued else np.nan,
    }


def plausibility(data: pd.DataFrame, by: str | None = None) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Score every response (and, with ``by``, every level of ``by`` within it) for every explainer.

    Parameters
    ----------
    data : pandas.DataFrame
        Output of :func:`explainer_units`.
    by : str, optional
        A unit column such as ``"category"``: score each response's units of one level on their own.

    Returns
    -------
    scores : pandas.DataFrame
        One row per response x explainer (x level): ``participant_id, task_id, explainer, [by,]
        n_units, n_selected, set_size, prevalence, auprc, f1_topk, iou_topk, f1_set, iou_set``.
    excluded : pandas.DataFrame
        The left-out (participant_id, task_id[, by]) with no selected unit, one row each.

    Examples
    --------
    >>> data = pd.DataFrame({"participant_id": "p", "task_id": "t", "explainer": "x", "category": "c",
    ...                      "unit_index": [0, 1, 2, 3], "selected": [0, 1, 0, 1],
    ...                      "score": [0.1, 0.4, 0.35, 0.8], "in_rationale": [0, 1, 0, 1]})
    >>> plausibility(data)[0][["auprc", "f1_topk", "iou_topk"]].round(3).to_dict("records")
    [{'auprc': 1.0, 'f1_topk': 1.0, 'iou_topk': 1.0}]
    """
    keys = RESPONSE + ([by] if by else [])
    # one pass over numpy slices: a pandas groupby builds a frame per group, 10x slower here
    group = data.groupby(keys + ["explainer"], sort=True, observed=True).ngroup().to_numpy()
    order = np.argsort(group, kind="stable")
    starts = np.flatnonzero(np.r_[True, np.diff(group[order]) != 0])
    ends = np.r_[starts[1:], len(order)]
    columns = {
        c: data[c].to_numpy()[order] for c in keys + ["explainer", "selected", "score", "in_rationale", "unit_index"]
    }
    rows, skipped = [], []
    for start, end in zip(starts, ends):
        key = tuple(columns[c][start] for c in keys + ["explainer"])
        selected = columns["selected"][start:end]
        if not selected.any():
            skipped.append(key[:-1])
            continue
        rows.append(
            {
                **dict(zip(keys + ["explainer"], key)),
                **_score_response(
                    selected,
                    columns["score"][start:end],
                    columns["in_rationale"][start:end],
                    columns["unit_index"][start:end],
                    key[-1] in SET_EXPLAINERS,
                ),
            }
        )
    names = keys + ["explainer", "n_units", "n_selected", "set_size", "prevalence"] + METRICS
    excluded = pd.DataFrame(sorted(set(skipped)), columns=keys)
    return pd.DataFrame(rows, columns=names), excluded


def _ci(scores: pd.DataFrame, metric: str, cluster: str, n_boot: int, ci: float, seed: int) -> tuple[float, float]:
    """Percentile CI of the mean of ``metric`` resampling whole ``cluster``s (participants or tasks)."""
    defined = scores[[cluster, metric]].dropna()
    sums = defined.groupby(cluster, observed=True)[metric].agg(["sum", "count"])
    low, high = task_bootstrap(sums["sum"].to_numpy(), sums["count"].to_numpy(), n_boot=n_boot, ci=ci, seed=seed)
    return float(low), float(high)


def explainer_table(
    scores: pd.DataFrame,
    faithfulness: pd.DataFrame | None = None,
    excluded: int = 0,
    n_boot: int = 2000,
    ci: float = 0.95,
    seed: int = 0,
    tests: pd.DataFrame | None = None,
) -> pd.DataFrame:
    """Rank explainers by mean AUPRC, with bootstrap CIs over participants and over tasks, beside faithfulness.

    Parameters
    ----------
    scores : pandas.DataFrame
        Response-level output of :func:`plausibility`.
    faithfulness : pandas.DataFrame, optional
        The export's ``explainers`` table (``task_id, explainer, comprehensiveness, sufficiency``);
        averaged over the tasks present in ``scores``.
    excluded : int
        Responses left out for having no selection (reported in every row).
    n_boot, ci, seed
        Bootstrap replicates, coverage and seed (:func:`analysis.bootstrap.task_bootstrap`).
    tests : pandas.DataFrame, optional
        Output of :func:`explainer_tests`: adds ``p_holm_vs_best``, the adjusted p-value of the
        paired test against the top-ranked explainer.

    Returns
    -------
    pandas.DataFrame
        One row per explainer, best first: ``rank, explainer, set_valued, n_responses,
        n_participants, n_tasks, n_excluded_no_selection, prevalence`` (the chance AUPRC), and per
        metric ``<m>``, ``<m>_ci_low_participants``, ``<m>_ci_high_participants``,
        ``<m>_ci_low_tasks``, ``<m>_ci_high_tasks``; then ``comprehensiveness``, ``sufficiency``
        (task means, NaN where not stored) and ``p_holm_vs_best``.

    Notes
    -----
    A participant-level CI resamples participants with all their responses; a task-level CI
    resamples tasks with all their responses. Responses of one participant (or one task) are not
    independent, so neither resamples responses or units.
    """
    rows = []
    for name, group in scores.groupby("explainer", sort=True):
        row = {
            "explainer": name,
            "set_valued": int(name in SET_EXPLAINERS),
            "n_responses": len(group),
            "n_participants": group["participant_id"].nunique(),
            "n_tasks": group["task_id"].nunique(),
            "n_excluded_no_selection": excluded,
            "prevalence": group["prevalence"].mean(),
        }
        for metric in METRICS:
            row[metric] = group[metric].mean()
            for cluster, label in (("participant_id", "participants"), ("task_id", "tasks")):
                low, high = _ci(group, metric, cluster, n_boot, ci, seed)
                row[f"{metric}_ci_low_{label}"], row[f"{metric}_ci_high_{label}"] = low, high
        if faithfulness is not None:
            f = faithfulness[
                (faithfulness["explainer"] == name) & faithfulness["task_id"].astype(str).isin(group["task_id"])
            ]
            row["comprehensiveness"] = f["comprehensiveness"].mean()
            row["sufficiency"] = f["sufficiency"].mean()
        else:
            row["comprehensiveness"] = row["sufficiency"] = np.nan
        rows.append(row)
    table = pd.DataFrame(rows).sort_values(["auprc", "explainer"], ascending=[False, True]).reset_index(drop=True)
    table.insert(0, "rank", np.arange(1, len(table) + 1))
    table["p_holm_vs_best"] = np.nan
    if tests is not None and len(table):
        best = table["explainer"].iloc[0]
        for i, name in enumerate(table["explainer"]):
            pair = tests[
                ((tests["explainer_a"] == best) & (tests["explainer_b"] == name))
                | ((tests["explainer_a"] == name) & (tests["explainer_b"] == best))
            ]
            if len(pair):
                table.loc[i, "p_holm_vs_best"] = pair["p_adjusted"].iloc[0]
    return table


def explainer_tests(
    scores: pd.DataFrame, metric: str = "auprc", correction: str = "holm", zero_method: str = "wilcox"
) -> pd.DataFrame:
    """Paired Wilcoxon signed-rank tests between every two explainers, across participants.

    Each participant contributes the mean ``metric`` of their responses under each explainer; pairs
    are the participants scored under both. P-values are adjusted over all pairs (Holm by default).

    Returns
    -------
    pandas.DataFrame
        ``explainer_a, explainer_b, metric, n, mean_a, mean_b, statistic, p, p_adjusted,
        rank_biserial`` (> 0: a scores higher), ``note`` (why a test is undefined), ``correction``.

    Notes
    -----
    The test and effect size are :func:`analysis.wilcoxon.paired_wilcoxon`; the adjustment is
    :func:`analysis.correction.adjust_pvalues`.
    """
    means = scores.pivot_table(index="participant_id", columns="explainer", values=metric, aggfunc="mean")
    rows = []
    for a, b in combinations(sorted(means.columns), 2):
        both = means[[a, b]].dropna()
        result = paired_wilcoxon(both[a], both[b], zero_method=zero_method)
        rows.append(
            {
                "explainer_a": a,
                "explainer_b": b,
                "metric": metric,
                "n": result["n"],
                "mean_a": both[a].mean(),
                "mean_b": both[b].mean(),
                "statistic": result["statistic"],
                "p": result["p"],
                "rank_biserial": result["rank_biserial"],
                "note": result["note"],
            }
        )
    tests = pd.DataFrame(
        rows,
        columns=[
            "explainer_a",
            "explainer_b",
            "metric",
            "n",
            "mean_a",
            "mean_b",
            "statistic",
            "p",
            "rank_biserial",
            "note",
        ],
    )
    tests.insert(8, "p_adjusted", adjust_pvalues(tests["p"].to_numpy(), method=correction) if len(tests) else [])
    tests["correction"] = correction
    return tests


def plot_explainers(table: pd.DataFrame, ci: float = 0.95) -> Figure:
    """Left: mean AUPRC per explainer with its participant CI and the chance level; right: AUPRC vs
    comprehensiveness, so plausible and faithful explainers stand apart."""
    table = table.sort_values("auprc")
    y = np.arange(len(table))
    fig = Figure(figsize=(9, 1.6 + 0.35 * len(table)), layout="constrained")
    left, right = fig.subplots(1, 2)
    err = np.abs(
        np.vstack(
            [table["auprc"] - table["auprc_ci_low_participants"], table["auprc_ci_high_participants"] - table["auprc"]]
        )
    )
    left.errorbar(
        table["auprc"],
        y,
        xerr=err,
        fmt="o",
        color="#0072B2",
        capsize=2,
        ms=4,
        label=f"mean AUPRC ({round(ci * 100)}% CI, participants)",
    )
    left.scatter(table["prevalence"], y, marker="|", color="#999999", s=80, label="chance (share selected)")
    left.set_yticks(y, table["explainer"])
    left.set_xlabel("AUPRC against participants' selections")
    right.scatter(table["comprehensiveness"], table["auprc"], color="#E69F00")
    for row in table.itertuples():
        if np.isfinite(row.comprehensiveness):
            right.annotate(
                row.explainer, (row.comprehensiveness, row.auprc), fontsize=7, xytext=(3, 3), textcoords="offset points"
            )
    right.set_xlabel("comprehensiveness (faithfulness, higher = more)")
    right.set_ylabel("AUPRC (plausibility)")
    fig.legend(loc="outside upper center", ncols=2, frameon=False, fontsize=9)
    return fig


def plausibility_tables(
    export, correction: str = "holm", zero_method: str = "wilcox", n_boot: int = 2000, ci: float = 0.95, seed: int = 0
) -> tuple[dict[str, pd.DataFrame], int]:
    """Every plausibility table of ``export``, and how many responses were left out for having no selection.

    Tables: ``explainer_scores`` (per response), ``explainer_categories`` (per response and
    category, averaged per explainer and category), ``explainers`` (ranked, beside faithfulness),
    ``explainer_tests`` (paired tests between explainers).
    """
    data = explainer_units(export.selections, export.units, export.explainer_scores)
    scores, excluded = plausibility(data)
    by_category, _ = plausibility(data, by="category")
    tests = explainer_tests(scores, correction=correction, zero_method=zero_method)
    table = explainer_table(
        scores, export.faithfulness, excluded=len(excluded), n_boot=n_boot, ci=ci, seed=seed, tests=tests
    )
    categories = (
        by_category.groupby(["explainer", "category"], sort=True)
        .agg(n_responses=("auprc", "size"), auprc=("auprc", "mean"), prevalence=("prevalence", "mean"))
        .reset_index()
    )
    return {
        "explainer_scores": scores,
        "explainer_categories": categories,
        "explainers": table,
        "explainer_tests": tests,
    }, len(excluded)
