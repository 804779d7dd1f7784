"""The report's figures, drawn on bare matplotlib Figures (no pyplot: no global state, no GUI backend)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
from matplotlib.figure import Figure

HUMAN, MODEL = "#0072B2", "#E69F00"  # Okabe-Ito blue and orange: colour-blind safe


def plot_rates(pooled: pd.DataFrame, by: str, path: Path) -> Path:
    """Dot plot of the pooled human and model selection rate per level, with bootstrap CIs."""
    pooled = pooled.sort_values("human_rate")
    y = np.arange(len(pooled))
    fig = Figure(figsize=(6.5, 1.2 + 0.3 * len(pooled)), layout="constrained")
    ax = fig.subplots()
    for rater, colour, shift in (("human", HUMAN, 0.15), ("model", MODEL, -0.15)):
        rate = pooled[f"{rater}_rate"].to_numpy()
        err = np.abs(np.vstack([rate - pooled[f"{rater}_ci_low"], pooled[f"{rater}_ci_high"] - rate]))
        ax.errorbar(rate, y + shift, xerr=err, fmt="o", color=colour, label=rater, capsize=2, ms=4)
    ax.set_yticks(y, pooled[by])
    ax.set_xlabel("selection rate (selected / selectable units), 95% CI resampling tasks")
    ax.legend(loc="lower right")
    fig.savefig(path, dpi=120)
    return path


def plot_kappa(scores: pd.DataFrame, path: Path) -> Path:
    """Histograms of per-response Cohen's kappa and Gwet's AC1 (undefined kappas counted in the title)."""
    fig = Figure(figsize=(8, 3.2), layout="constrained")
    for ax, metric in zip(fig.subplots(1, 2, sharey=True), ("kappa", "ac1")):
        values = scores[metric].dropna()
        ax.hist(values, bins=np.linspace(-1, 1, 41), color=HUMAN)
        ax.axvline(values.mean() if len(values) else 0, color=MODEL, lw=2, label="mean")
        ax.set_title(f"{metric} per response\n(n={len(values)}, undefined={scores[metric].isna().sum()})", fontsize=10)
        ax.set_xlabel(metric)
    ax.legend()
    fig.savefig(path, dpi=120)
    return path


def plot_heatmap(rates: pd.DataFrame, by: str, path: Path) -> Path:
    """Heatmap of human minus model selection rate, participants (rows) by level (columns)."""
    diff = (rates.assign(diff=rates["human_rate"] - rates["model_rate"])
            .pivot(index="participant_id", columns=by, values="diff"))
    diff = diff.loc[diff.mean(axis=1).sort_values().index]
    fig = Figure(figsize=(1.5 + 0.35 * diff.shape[1], 5), layout="constrained")
    ax = fig.subplots()
    values = diff.to_numpy()
    # symmetric around 0, scaled to the data (99th percentile): real differences are far below 1
    limit = max(float(np.nanquantile(np.abs(values), 0.99)), 1e-6) if np.isfinite(values).any() else 1.0
    image = ax.imshow(values, aspect="auto", cmap="RdBu_r", vmin=-limit, vmax=limit, interpolation="nearest")
    ax.set_xticks(np.arange(diff.shape[1]), diff.columns, rotation=60, ha="right")
    ax.set_yticks([])
    ax.set_ylabel(f"participants (n={diff.shape[0]}), sorted by mean difference")
    fig.colorbar(image, ax=ax, label="human rate - model rate")
    fig.savefig(path, dpi=120)
    return path
