"""The global explanation's figure, drawn on a bare matplotlib Figure (no pyplot: no global state)."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import seaborn as sns
from matplotlib.figure import Figure


def plot_category_matrix(counts: pd.DataFrame, path: Path) -> Path:
    """Save a heatmap of each target category's rationale units split by category (rows sum to 1)."""
    shares = counts.div(counts.sum(axis=1), axis=0)
    fig = Figure(figsize=(1.0 + 0.55 * shares.shape[1], 1.5 + 0.45 * shares.shape[0]), layout="constrained")
    ax = fig.subplots()
    sns.heatmap(
        shares,
        annot=True,
        fmt=".2f",
        cmap="viridis",
        vmin=0,
        vmax=max(shares.max().max(), 1e-9),
        cbar_kws={"label": "share of the rationale units"},
        annot_kws={"size": 7},
        ax=ax,
    )
    ax.set_xlabel("rationale unit category")
    ax.set_ylabel("target category")
    ax.set_title("What the model's rationales consist of, by target category")
    fig.savefig(path, dpi=150)
    return path
