"""The report's figures, drawn on bare matplotlib Figures (no pyplot: no global state, no GUI backend).

Each function returns the Figure; :func:`analysis.sections.save_figure` writes it as PNG and SVG.
Legends sit outside the axes so they never cover data; every axis is labelled.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from matplotlib import colormaps
from matplotlib.figure import Figure
from matplotlib.lines import Line2D

from analysis.sections import DAGGER

HUMAN, MODEL = "#0072B2", "#E69F00"  # Okabe-Ito blue and orange: colour-blind safe
ROW_LABELS_MAX = 40  # more participants than this: heatmap rows are not labelled one by one


def plot_rates(pooled: pd.DataFrame, by: str, flagged=(), ci: float = 0.95) -> Figure:
    """Dot plot of the pooled human and model selection rate per level, with bootstrap CIs.

    Levels in ``flagged`` get a dagger after their name (an interval to read with caution).
    """
    pooled = pooled.sort_values("human_rate").reset_index(drop=True)
    y = np.arange(len(pooled))
    fig = Figure(figsize=(6.5, 1.6 + 0.32 * len(pooled)), layout="constrained")
    ax = fig.subplots()
    for rater, colour, shift, marker in (("human", HUMAN, 0.15, "o"), ("model", MODEL, -0.15, "s")):
        rate = pooled[f"{rater}_rate"].to_numpy()
        err = np.abs(np.vstack([rate - pooled[f"{rater}_ci_low"], pooled[f"{rater}_ci_high"] - rate]))
        ax.errorbar(
            rate,
            y + shift,
            xerr=err,
            fmt=marker,
            color=colour,
            label=f"{rater} (pooled rate, {ci:.0%} CI)",
            capsize=2,
            ms=4,
        )
    flagged = set(flagged)
    ax.set_yticks(y, [f"{level}{' ' + DAGGER if level in flagged else ''}" for level in pooled[by]])
    ax.set_ylim(-0.6, len(pooled) - 0.4)
    ax.set_xlim(left=0)
    ax.set_ylabel(by)
    ax.set_xlabel("selection rate (selected / selectable units)")
    ax.grid(axis="x", color="#ddd", lw=0.6)
    fig.legend(loc="outside upper center", ncols=2, frameon=False, fontsize=9)
    return fig


def plot_kappa(scores: pd.DataFrame) -> Figure:
    """Histograms of per-response Cohen's kappa and Gwet's AC1 (undefined kappas counted in the title),
    with zero (chance agreement) marked."""
    fig = Figure(figsize=(8, 3.4), layout="constrained")
    axes = fig.subplots(1, 2, sharey=True)
    names = {"kappa": "Cohen's κ", "ac1": "Gwet's AC1"}
    for ax, metric in zip(axes, ("kappa", "ac1")):
        values = scores[metric].dropna()
        ax.hist(values, bins=np.linspace(-1, 1, 21), color=HUMAN, edgecolor="white")
        ax.axvline(0, color="#555555", lw=1, ls=":")  # chance agreement: a ratio over it is meaningless
        if len(values):
            ax.axvline(values.mean(), color=MODEL, lw=2)
        ax.set_title(
            f"{names[metric]} (n = {len(values)}, undefined = {int(scores[metric].isna().sum())})", fontsize=10
        )
        ax.set_xlabel(f"{names[metric]} per response")
        ax.set_xticks([-1, -0.5, 0, 0.5, 1], ["−1", "−0.5", "0", "0.5", "1"])
        ax.set_xlim(-1.05, 1.05)
    axes[0].set_ylabel("responses")
    fig.legend(
        handles=[
            Line2D([], [], color=MODEL, lw=2, label="mean over responses"),
            Line2D([], [], color="#555555", lw=1, ls=":", label="0: what chance gives"),
        ],
        loc="outside upper center",
        ncols=2,
        frameon=False,
        fontsize=9,
    )
    return fig


def plot_heatmap(rates: pd.DataFrame, by: str) -> Figure:
    """Heatmap of human minus model selection rate, participants (rows) by level (columns).

    Grey cells: the participant's tasks had no selectable unit of that level.
    """
    diff = rates.assign(diff=rates["human_rate"] - rates["model_rate"]).pivot(
        index="participant_id", columns=by, values="diff"
    )
    diff = diff.loc[diff.mean(axis=1).sort_values().index]
    labelled = diff.shape[0] <= ROW_LABELS_MAX
    fig = Figure(
        figsize=(2.8 + 0.38 * diff.shape[1], min(1.8 + (0.26 if labelled else 0.05) * diff.shape[0], 9)),
        layout="constrained",
    )
    ax = fig.subplots()
    values = diff.to_numpy(dtype=float)
    # symmetric around 0, scaled to the data (99th percentile): real differences are far below 1
    limit = max(float(np.nanquantile(np.abs(values), 0.99)), 1e-6) if np.isfinite(values).any() else 1.0
    cmap = colormaps["RdBu_r"].with_extremes(bad="#cccccc")
    image = ax.imshow(
        np.ma.masked_invalid(values), aspect="auto", cmap=cmap, vmin=-limit, vmax=limit, interpolation="nearest"
    )
    ax.set_xticks(np.arange(diff.shape[1]), diff.columns, rotation=60, ha="right", fontsize=8)
    if labelled:
        ax.set_yticks(np.arange(diff.shape[0]), [str(p)[:10] for p in diff.index], fontsize=7)
        ax.set_ylabel("participant")
    else:
        ax.set_yticks([])
        ax.set_ylabel(f"participants (n = {diff.shape[0]})")
    ax.set_xlabel(by)
    fig.colorbar(image, ax=ax, label="human rate − model rate", shrink=0.9)
    return fig
