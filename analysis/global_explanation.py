"""Global explanations: aggregate many model rationales into category-level statistics.

From contract tasks (``codeq prepare`` output, a corpus run's tasks file or its Parquet shards):

- target category x rationale category matrices: how many rationale units of each category the
  targets of each category drew, and the mean probability gain those units brought;
- per-category frequencies with bootstrap CIs that resample snippets (or tasks), never units:
  ``share`` (fraction of all rationale units in the category) and ``rate`` (fraction of the
  category's context units that entered a rationale, which corrects for how common it is);
- Shannon entropy of the rationale units' distribution at token level (by unit text) and at
  category level, and the relative reduction from the first to the second
  (:func:`analysis.entropy.normalized_entropy` with the observed support, and plain bits).
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd

from analysis.bootstrap import task_bootstrap
from analysis.entropy import entropy_bits, normalized_entropy, reduction
from contract.errors import UserError
from contract.prepared_tasks import Task

CLUSTERS = {"snippets": "snippet_id", "tasks": "task_id"}


def rationale_table(tasks: list[Task]) -> pd.DataFrame:
    """Return one row per (task, rationale unit): ids, target and unit categories, rank, gain, text."""
    rows: list[tuple] = []
    for task in tasks:
        target = task.units[task.target.unit_index]
        for rank, (index, gain) in enumerate(zip(task.rationale.units, task.rationale.unit_gains), 1):
            unit = task.units[index]
            rows.append(
                (
                    task.task_id,
                    task.snippet_id,
                    target.category,
                    index,
                    unit.text,
                    unit.category,
                    unit.group,
                    rank,
                    gain,
                )
            )
    return pd.DataFrame(
        rows, columns=["task_id", "snippet_id", "target_category", "unit", "text", "category", "group", "rank", "gain"]
    )


def context_table(tasks: list[Task]) -> pd.DataFrame:
    """Return one row per (task, selectable unit) with its category and whether it is in the rationale."""
    rows: list[tuple] = []
    for task in tasks:
        chosen = set(task.rationale.units)
        rows.extend((task.task_id, task.snippet_id, task.units[i].category, i in chosen) for i in task.selectable)
    return pd.DataFrame(rows, columns=["task_id", "snippet_id", "category", "in_rationale"])


def category_matrices(table: pd.DataFrame) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Return (counts, mean gain), target categories as rows and rationale categories as columns.

    Cells with no units have count 0 and mean gain NaN.
    """
    rows = sorted(table["target_category"].unique())
    cols = sorted(table["category"].unique())
    r = pd.Categorical(table["target_category"], categories=rows).codes
    c = pd.Categorical(table["category"], categories=cols).codes
    counts = np.zeros((len(rows), len(cols)))
    gains = np.zeros((len(rows), len(cols)))
    np.add.at(counts, (r, c), 1)
    np.add.at(gains, (r, c), table["gain"].to_numpy(dtype=float))
    with np.errstate(invalid="ignore", divide="ignore"):
        mean = np.where(counts > 0, gains / counts, np.nan)
    frame = {"index": pd.Index(rows, name="target_category"), "columns": pd.Index(cols, name="category")}
    return pd.DataFrame(counts.astype(int), **frame), pd.DataFrame(mean, **frame)


def entropy_summary(table: pd.DataFrame) -> dict:
    """Entropy of rationale units by text (token level) and by category, and the relative reductions.

    ``*_entropy`` are :func:`analysis.entropy.normalized_entropy` with the observed support (divided
    by the log of the number of distinct values observed, so 1 = uniform; NaN with one value);
    ``*_bits`` are plain Shannon entropies. ``reduction`` and ``reduction_bits`` are
    ``(token - category) / token`` for each: normalising by the observed support can make the
    category level look *more* even than the token level although it carries fewer bits.
    """
    text_counts = table["text"].value_counts().to_numpy()
    category_counts = table["category"].value_counts().to_numpy()
    token, category = normalized_entropy(text_counts), normalized_entropy(category_counts)
    token_bits, category_bits = entropy_bits(text_counts), entropy_bits(category_counts)
    return {
        "token_entropy": token,
        "category_entropy": category,
        "reduction": reduction(token, category),
        "token_bits": token_bits,
        "category_bits": category_bits,
        "reduction_bits": reduction(token_bits, category_bits),
        "distinct_tokens": len(text_counts),
        "distinct_categories": len(category_counts),
    }


def category_frequencies(
    rationales: pd.DataFrame,
    context: pd.DataFrame,
    cluster: str = "snippet_id",
    n_boot: int = 2000,
    seed: int = 0,
    level: float = 0.95,
) -> pd.DataFrame:
    """Per-category share and rate of rationale units, with percentile bootstrap CIs over ``cluster``.

    Returns a frame indexed by category with columns ``units`` (rationale units), ``context_units``,
    ``share``, ``share_low``, ``share_high``, ``rate``, ``rate_low``, ``rate_high``, sorted by share.
    Both ratios are ratios of per-cluster sums, so the CIs come from
    :func:`analysis.bootstrap.task_bootstrap` with the clusters (snippets or tasks) as rows.
    """
    cats = sorted(set(rationales["category"]) | set(context["category"]))
    clusters = sorted(set(rationales[cluster]) | set(context[cluster]))

    def per_cluster(frame):  # (clusters, categories) counts
        table = pd.crosstab(frame[cluster], frame["category"])
        return table.reindex(index=clusters, columns=cats, fill_value=0).to_numpy(dtype=float)

    chosen = per_cluster(rationales)
    available = per_cluster(context)
    all_chosen = np.repeat(chosen.sum(axis=1, keepdims=True), len(cats), axis=1)
    share_low, share_high = task_bootstrap(chosen, all_chosen, n_boot=n_boot, ci=level, seed=seed)
    rate_low, rate_high = task_bootstrap(chosen, available, n_boot=n_boot, ci=level, seed=seed)
    out = pd.DataFrame(index=pd.Index(cats, name="category"))
    out["units"] = chosen.sum(axis=0).astype(int)
    out["context_units"] = available.sum(axis=0).astype(int)
    out["share"] = out["units"] / out["units"].sum()
    out["share_low"], out["share_high"] = share_low, share_high
    with np.errstate(invalid="ignore", divide="ignore"):
        out["rate"] = out["units"] / out["context_units"]
    out["rate_low"], out["rate_high"] = rate_low, rate_high
    return out.sort_values("share", ascending=False, kind="stable")


def explain_tasks(
    tasks: list[Task], out, converged_only: bool = True, cluster: str = "snippet_id", n_boot: int = 2000, seed: int = 0
) -> dict:
    """Write the global explanation of ``tasks`` to folder ``out``; return the summary.

    Files: ``rationale_units.csv`` (the long table), ``counts.csv`` and ``mean_gain.csv`` (the
    matrices), ``frequencies.csv``, ``heatmap.png`` and ``summary.json`` (entropy, convergence,
    top categories). Non-converged rationales are left out when ``converged_only``, and counted.
    Tasks are taken in task-id order, so the outputs do not depend on the order of the input.
    """
    from analysis.explanation_plot import plot_category_matrix  # matplotlib only when writing

    out = Path(out)
    used = sorted((t for t in tasks if t.rationale.converged or not converged_only), key=lambda t: t.task_id)
    if not used:
        raise UserError("no rationales to aggregate" + (" (none converged)" if tasks else ""))
    out.mkdir(parents=True, exist_ok=True)
    rationales, context = rationale_table(used), context_table(used)
    counts, gains = category_matrices(rationales)
    freqs = category_frequencies(rationales, context, cluster=cluster, n_boot=n_boot, seed=seed)
    rationales.to_csv(out / "rationale_units.csv", index=False)
    counts.to_csv(out / "counts.csv")
    gains.to_csv(out / "mean_gain.csv")
    freqs.to_csv(out / "frequencies.csv")
    plot_category_matrix(counts, out / "heatmap.png")
    summary = {
        "tasks": len(tasks),
        "converged": sum(t.rationale.converged for t in tasks),
        "aggregated": len(used),
        "snippets": len({t.snippet_id for t in used}),
        "rationale_units": len(rationales),
        "mean_rationale_units": len(rationales) / len(used),
        "bootstrap": {"cluster": cluster, "n": n_boot, "seed": seed},
        "entropy": entropy_summary(rationales),
        "top_categories_by_share": freqs["share"].head(5).round(4).to_dict(),
        "top_categories_by_rate": freqs["rate"].dropna().sort_values(ascending=False).head(5).round(4).to_dict(),
    }
    (out / "summary.json").write_text(json.dumps(summary, indent=2) + "\n", encoding="utf-8")
    return summary
