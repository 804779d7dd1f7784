"""Global explanations: aggregate many rationales into category-level statistics.

From contract tasks (``codeq prepare`` or ``codeq rationalize-corpus`` output):

- target category x rationale category matrices: how many rationale units of each category the
  targets of each category drew, and the mean probability gain those units brought;
- per-category frequencies with bootstrap CIs that resample snippets (or tasks), never units:
  ``share`` (fraction of all rationale units in the category) and ``rate`` (fraction of the
  category's context units that entered a rationale, which corrects for how common it is);
- normalized Shannon entropy of the rationale units' distribution at token level (by unit text) and
  at category level, and the relative reduction from the first to the second.

Light: numpy and pandas; matplotlib only for the heatmap.
"""

from __future__ import annotations

import json
import math
from pathlib import Path

import numpy as np
import pandas as pd

from codeq.contract import Task


def rationale_table(tasks: list[Task]) -> pd.DataFrame:
    """Return one row per (task, rationale unit): ids, target and unit categories, rank, gain, text."""
    rows = []
    for task in tasks:
        target = task.units[task.target.unit_index]
        for rank, (index, gain) in enumerate(zip(task.rationale.units, task.rationale.unit_gains), 1):
            unit = task.units[index]
            rows.append((task.task_id, task.snippet_id, target.category, index, unit.text, unit.category,
                         unit.group, rank, gain))
    return pd.DataFrame(rows, columns=["task_id", "snippet_id", "target_category", "unit", "text", "category",
                                       "group", "rank", "gain"])


def context_table(tasks: list[Task]) -> pd.DataFrame:
    """Return one row per (task, selectable unit) with its category and whether it is in the rationale."""
    rows = []
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
    frame = dict(index=pd.Index(rows, name="target_category"), columns=pd.Index(cols, name="category"))
    return pd.DataFrame(counts.astype(int), **frame), pd.DataFrame(mean, **frame)


def normalized_entropy(counts) -> float:
    """Shannon entropy of the distribution given by ``counts``, divided by log(number of nonzero counts).

    1 means uniform over the observed values, 0 means a single value; a single value gives 0.
    """
    p = np.asarray(counts, dtype=float)
    p = p[p > 0] / p.sum()
    if len(p) < 2:
        return 0.0
    return float(-(p * np.log(p)).sum() / math.log(len(p)))


def entropy_bits(counts) -> float:
    """Shannon entropy, in bits, of the distribution given by ``counts``."""
    p = np.asarray(counts, dtype=float)
    p = p[p > 0] / p.sum()
    return float(-(p * np.log2(p)).sum())


def entropy_summary(table: pd.DataFrame) -> dict:
    """Entropy of rationale units by text (token level) and by category, and the relative reductions.

    ``*_entropy`` are normalized (divided by the log of the number of distinct values observed, so
    1 = uniform); ``*_bits`` are plain Shannon entropies. ``reduction`` and ``reduction_bits`` are
    ``(token - category) / token`` for each.
    """
    text_counts = table["text"].value_counts().to_numpy()
    category_counts = table["category"].value_counts().to_numpy()
    token, category = normalized_entropy(text_counts), normalized_entropy(category_counts)
    token_bits, category_bits = entropy_bits(text_counts), entropy_bits(category_counts)
    return {"token_entropy": token, "category_entropy": category,
            "reduction": (token - category) / token if token > 0 else float("nan"),
            "token_bits": token_bits, "category_bits": category_bits,
            "reduction_bits": (token_bits - category_bits) / token_bits if token_bits > 0 else float("nan"),
            "distinct_tokens": int(len(text_counts)), "distinct_categories": int(len(category_counts))}


def category_frequencies(rationales: pd.DataFrame, context: pd.DataFrame, cluster: str = "snippet_id",
                         n_boot: int = 2000, seed: int = 0, level: float = 0.95) -> pd.DataFrame:
    """Per-category share and rate of rationale units, with percentile bootstrap CIs over ``cluster``.

    Returns a frame indexed by category with columns ``units`` (rationale units), ``context_units``,
    ``share``, ``share_low``, ``share_high``, ``rate``, ``rate_low``, ``rate_high``, sorted by share.
    Each replicate draws clusters (snippets or tasks) with replacement and recomputes the ratios.
    """
    cats = sorted(set(rationales["category"]) | set(context["category"]))
    clusters = sorted(set(rationales[cluster]) | set(context[cluster]))

    def per_cluster(frame):  # (clusters, categories) counts
        table = pd.crosstab(frame[cluster], frame["category"])
        return table.reindex(index=clusters, columns=cats, fill_value=0).to_numpy(dtype=float)

    chosen = per_cluster(rationales)
    available = per_cluster(context)
    rng = np.random.default_rng(seed)
    draws = rng.integers(0, len(clusters), size=(n_boot, len(clusters)))
    weights = np.stack([np.bincount(d, minlength=len(clusters)) for d in draws])  # (B, clusters)
    boot_chosen = weights @ chosen  # (B, categories)
    boot_available = weights @ available
    with np.errstate(invalid="ignore", divide="ignore"):
        boot_share = boot_chosen / boot_chosen.sum(axis=1, keepdims=True)
        boot_rate = boot_chosen / boot_available
    tail = (1 - level) / 2 * 100
    out = pd.DataFrame(index=pd.Index(cats, name="category"))
    out["units"] = chosen.sum(axis=0).astype(int)
    out["context_units"] = available.sum(axis=0).astype(int)
    out["share"] = out["units"] / out["units"].sum()
    out["share_low"], out["share_high"] = np.nanpercentile(boot_share, [tail, 100 - tail], axis=0)
    with np.errstate(invalid="ignore", divide="ignore"):
        out["rate"] = out["units"] / out["context_units"]
    out["rate_low"], out["rate_high"] = np.nanpercentile(boot_rate, [tail, 100 - tail], axis=0)
    return out.sort_values("share", ascending=False)


def plot_heatmap(counts: pd.DataFrame, path) -> None:
    """Save a heatmap of each target category's rationale units split by category (rows sum to 1)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    import seaborn as sns

    shares = counts.div(counts.sum(axis=1), axis=0)
    fig, ax = plt.subplots(figsize=(1.0 + 0.55 * shares.shape[1], 1.5 + 0.45 * shares.shape[0]))
    sns.heatmap(shares, annot=True, fmt=".2f", cmap="viridis", vmin=0, vmax=max(shares.max().max(), 1e-9),
                cbar_kws={"label": "share of the rationale units"}, annot_kws={"size": 7}, ax=ax)
    ax.set_xlabel("rationale unit category")
    ax.set_ylabel("target category")
    ax.set_title("What the model's rationales consist of, by target category")
    fig.tight_layout()
    fig.savefig(path, dpi=150)
    plt.close(fig)


def aggregate(tasks: list[Task], out, converged_only: bool = True, cluster: str = "snippet_id",
              n_boot: int = 2000, seed: int = 0) -> dict:
    """Write the global explanation of ``tasks`` to folder ``out``; return the summary.

    Files: ``rationale_units.csv`` (the long table), ``counts.csv`` and ``mean_gain.csv`` (the
    matrices), ``frequencies.csv``, ``heatmap.png`` and ``summary.json`` (entropy, convergence,
    top categories). Non-converged rationales are left out when ``converged_only``, and counted.
    """
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    used = [t for t in tasks if t.rationale.converged or not converged_only]
    if not used:
        raise ValueError("no rationales to aggregate" + (" (none converged)" if tasks else ""))
    rationales, context = rationale_table(used), context_table(used)
    counts, gains = category_matrices(rationales)
    freqs = category_frequencies(rationales, context, cluster=cluster, n_boot=n_boot, seed=seed)
    rationales.to_csv(out / "rationale_units.csv", index=False)
    counts.to_csv(out / "counts.csv")
    gains.to_csv(out / "mean_gain.csv")
    freqs.to_csv(out / "frequencies.csv")
    plot_heatmap(counts, out / "heatmap.png")
    summary = {
        "tasks": len(tasks), "converged": sum(t.rationale.converged for t in tasks), "aggregated": len(used),
        "snippets": len({t.snippet_id for t in used}), "rationale_units": len(rationales),
        "mean_rationale_units": len(rationales) / len(used), "bootstrap": {"cluster": cluster, "n": n_boot,
                                                                          "seed": seed},
        "entropy": entropy_summary(rationales),
        "top_categories_by_share": freqs["share"].head(5).round(4).to_dict(),
        "top_categories_by_rate": freqs["rate"].dropna().sort_values(ascending=False).head(5).round(4).to_dict(),
    }
    (out / "summary.json").write_text(json.dumps(summary, indent=2) + "\n", encoding="utf-8")
    return summary
