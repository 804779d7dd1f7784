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
  the unit nearer the target (:func:`contract.token_alignment.top_units`).
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

from analysis.agreement import overlap_from_counts
from analysis.bootstrap import task_bootstrap
from analysis.correction import adjust_pvalues
from analysis.ranking import ranking_metrics
from analysis.tidy import RESPONSE, response_grid
from analysis.wilcoxon import paired_wilcoxon
from contract.prepared_tasks import SET_EXPLAINERS

METRICS = ["auprc", "f1_topk", "iou_topk", "f1_set", "iou_set"]
GRID_UNITS = ["task_id", "unit_index", "selectable"]  # the unit columns the response grid needs


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
    return scored_responses(response_grid(selections, units[GRID_UNITS]), unit_scores(units, explainer_scores))


def unit_scores(units: pd.DataFrame, explainer_scores: pd.DataFrame) -> pd.DataFrame:
    """Every selectable unit under every explainer of its task: ``task_id, unit_index, category, explainer,
    score, in_rationale`` (score 0 and not in the set where the explainer has no row for the unit)."""
    selectable = units.loc[units["selectable"] == 1, ["task_id", "unit_index", "category"]]
    methods = explainer_scores[["task_id", "explainer"]].drop_duplicates()
    scored = selectable.merge(methods, on="task_id").merge(
        explainer_scores[["task_id", "explainer", "unit_index", "score", "in_rationale"]],
        on=["task_id", "explainer", "unit_index"],
        how="left",
    )
    scored["score"] = scored["score"].fillna(0.0).astype(float)
    scored["in_rationale"] = scored["in_rationale"].fillna(0).astype("int8")
    # categorical: joined onto millions of response rows, codes are copied instead of strings
    return scored.astype({"category": "category", "explainer": "category"})


def scored_responses(grid: pd.DataFrame, scored: pd.DataFrame) -> pd.DataFrame:
    """Join :func:`response_grid` and :func:`unit_scores`: the rows :func:`plausibility` scores."""
    data = grid.merge(scored, on=["task_id", "unit_index"])
    return data[RESPONSE + ["explainer", "unit_index", "category", "selected", "score", "in_rationale"]]


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

    Notes
    -----
    Every metric of every group comes from one sort of all rows (:mod:`analysis.ranking`), so the
    cost is that of sorting ``data``, whatever the number of responses.

    Examples
    --------
    >>> data = pd.DataFrame({"participant_id": "p", "task_id": "t", "explainer": "x", "category": "c",
    ...                      "unit_index": [0, 1, 2, 3], "selected": [0, 1, 0, 1],
    ...                      "score": [0.1, 0.4, 0.35, 0.8], "in_rationale": [0, 1, 0, 1]})
    >>> plausibility(data)[0][["auprc", "f1_topk", "iou_topk"]].round(3).to_dict("records")
    [{'auprc': 1.0, 'f1_topk': 1.0, 'iou_topk': 1.0}]
    """
    keys = RESPONSE + ([by] if by else [])
    group, out = _groups(data, keys + ["explainer"])
    n_groups = len(out)
    selected = data["selected"].to_numpy(dtype=np.int64)
    in_set = data["in_rationale"].to_numpy(dtype=np.int64)
    score = data["score"].to_numpy(dtype=float)

    def per_group(values) -> np.ndarray:
        return np.bincount(group, weights=values, minlength=n_groups).astype(np.int64)

    n_units = np.bincount(group, minlength=n_groups)
    n_selected, set_size, set_hits = per_group(selected), per_group(in_set), per_group(selected * in_set)
    auprc, hits = ranking_metrics(group, score, data["unit_index"].to_numpy(), selected, n_selected, n_groups)
    topk = overlap_from_counts(n_selected, n_selected, hits)
    own = overlap_from_counts(n_selected, set_size, set_hits)
    set_valued = out["explainer"].isin(SET_EXPLAINERS).to_numpy()
    with np.errstate(divide="ignore", invalid="ignore"):
        out = out.assign(
            n_units=n_units,
            n_selected=n_selected,
            set_size=set_size,
            prevalence=n_selected / n_units,
            auprc=auprc,
            f1_topk=topk["f1"],
            iou_topk=topk["jaccard"],
            f1_set=np.where(set_valued, own["f1"], np.nan),
            iou_set=np.where(set_valued, own["jaccard"], np.nan),
        )
    chosen = n_selected > 0
    excluded = out.loc[~chosen, keys].drop_duplicates().sort_values(keys).reset_index(drop=True)
    return out[chosen].reset_index(drop=True), excluded


def _groups(data: pd.DataFrame, keys: list[str]) -> tuple[np.ndarray, pd.DataFrame]:
    """Group id of every row of ``data`` by ``keys``, numbered as ``groupby(keys, sort=True, observed=True)``
    numbers them, and the groups' keys as strings, one row per group.

    Integer codes (a categorical's own, else ``pd.factorize(sort=True)``) combined into one int64:
    string keys of millions of rows are neither hashed nor compared.
    """
    combined = np.zeros(len(data), dtype=np.int64)
    columns = {}
    for key in keys:
        column = data[key]
        if isinstance(column.dtype, pd.CategoricalDtype):
            code, level = column.cat.codes.to_numpy(np.int64), pd.Index(column.cat.categories)
        else:
            code, level = pd.factorize(column, sort=True)
        if len(combined) and (int(combined.max()) + 1) * len(level) >= 2**62:
            combined = np.unique(combined, return_inverse=True)[1].astype(np.int64)  # renumber, same order
        combined = combined * len(level) + code
        columns[key] = (code, pd.Index(level).astype(str))
    span = int(combined.max()) + 1 if len(combined) else 0
    if span <= 4 * len(combined) + 2**16:  # dense: a bincount instead of a sort
        present = np.flatnonzero(np.bincount(combined, minlength=span))
        rank = np.zeros(span, dtype=np.int64)
        rank[present] = np.arange(len(present))
        group = rank[combined]
    else:
        present, group = np.unique(combined, return_inverse=True)
    row = np.empty(len(present), dtype=np.int64)
    row[group] = np.arange(len(group))  # some row of each group: its keys are the group's
    return group, pd.DataFrame({key: level.take(code[row]) for key, (code, level) in columns.items()})


def _cis(scores: pd.DataFrame, cluster: str, n_boot: int, ci: float, seed: int) -> dict[tuple[str, str], tuple]:
    """Percentile CIs of the mean of every metric of every explainer, resampling whole ``cluster``s.

    Returns ``(metric, explainer) -> (low, high)``. One set of draws serves every column; a cluster
    without a defined value of a column (an explainer absent from a task) adds nothing to its replicates.
    """
    keys = [scores[cluster], scores["explainer"]]
    values = scores[METRICS]
    sums = values.fillna(0).groupby(keys, observed=True).sum().unstack("explainer", fill_value=0)
    counts = values.notna().groupby(keys, observed=True).sum().unstack("explainer", fill_value=0)
    low, high = task_bootstrap(sums.to_numpy(), counts.to_numpy(), n_boot=n_boot, ci=ci, seed=seed)
    return {column: (lo, hi) for column, lo, hi in zip(sums.columns, low, high)}


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
        Output of :func:`explainer_tests`: adds ``p_adjusted_vs_best``, the adjusted p-value of the
        paired test against the top-ranked explainer.

    Returns
    -------
    pandas.DataFrame
        One row per explainer, best first: ``rank, explainer, set_valued, n_responses,
        n_participants, n_tasks, n_excluded_no_selection, prevalence`` (the chance AUPRC), and per
        metric ``<m>``, ``<m>_ci_low_participants``, ``<m>_ci_high_participants``,
        ``<m>_ci_low_tasks``, ``<m>_ci_high_tasks``; then ``comprehensiveness``, ``sufficiency``
        (task means, NaN where not stored) and ``p_adjusted_vs_best``.

    Notes
    -----
    A participant-level CI resamples participants with all their responses; a task-level CI
    resamples tasks with all their responses. Responses of one participant (or one task) are not
    independent, so neither resamples responses or units.
    """
    clusters = {"participants": "participant_id", "tasks": "task_id"}
    intervals = {label: _cis(scores, cluster, n_boot, ci, seed) for label, cluster in clusters.items()}
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
            for label in clusters:
                row[f"{metric}_ci_low_{label}"], row[f"{metric}_ci_high_{label}"] = intervals[label][metric, name]
        if faithfulness is not None:
            f = faithfulness[
                (faithfulness["explainer"] == name)
                & faithfulness["task_id"].astype(str).isin(group["task_id"].unique())
            ]
            row["comprehensiveness"] = f["comprehensiveness"].mean()
            row["sufficiency"] = f["sufficiency"].mean()
        else:
            row["comprehensiveness"] = row["sufficiency"] = np.nan
        rows.append(row)
    table = pd.DataFrame(rows).sort_values(["auprc", "explainer"], ascending=[False, True]).reset_index(drop=True)
    table.insert(0, "rank", np.arange(1, len(table) + 1))
    table["p_adjusted_vs_best"] = np.nan
    if tests is not None and len(table):
        best = table["explainer"].iloc[0]
        for i, name in enumerate(table["explainer"]):
            pair = tests[
                ((tests["explainer_a"] == best) & (tests["explainer_b"] == name))
                | ((tests["explainer_a"] == name) & (tests["explainer_b"] == best))
            ]
            if len(pair):
                table.loc[i, "p_adjusted_vs_best"] = pair["p_adjusted"].iloc[0]
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
    parts = []
    # one explainer at a time: the response x unit grid of every explainer at once would not fit in memory
    grid = response_grid(export.selections, export.units[GRID_UNITS])
    methods = [rows for _, rows in export.explainer_scores.groupby("explainer", sort=True, observed=True)]
    for rows in methods or [export.explainer_scores]:
        data = scored_responses(grid, unit_scores(export.units, rows))
        parts.append((*plausibility(data), plausibility(data, by="category")[0]))
    scores = pd.concat([p[0] for p in parts], ignore_index=True)
    excluded = pd.concat([p[1] for p in parts], ignore_index=True).drop_duplicates()
    by_category = pd.concat([p[2] for p in parts], ignore_index=True)
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
