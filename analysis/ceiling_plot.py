"""The human-ceiling figure, on a bare matplotlib Figure (no pyplot: no global state, no GUI backend)."""

from __future__ import annotations

import numpy as np
import pandas as pd
from matplotlib.figure import Figure

HUMAN, MODEL = "#0072B2", "#E69F00"  # Okabe-Ito blue and orange, as the report's other figures


def plot_ceiling(agreement: pd.DataFrame) -> Figure:
    """Per task, human-human agreement (leave-one-out kappa) beside model-human agreement (model kappa)."""
    shown = agreement.dropna(subset=["human_loo_kappa", "model_kappa"], how="all").sort_values("human_loo_kappa")
    y = np.arange(len(shown))
    fig = Figure(figsize=(6.5, 1.4 + 0.25 * len(shown)), layout="constrained")
    ax = fig.subplots()
    ax.hlines(y, shown["human_loo_kappa"], shown["model_kappa"], color="#bbbbbb", lw=1)
    ax.plot(shown["human_loo_kappa"], y, "o", color=HUMAN, ms=5, label="human vs majority of the others")
    ax.plot(shown["model_kappa"], y, "s", color=MODEL, ms=5, label="model vs each human")
    ax.axvline(0, color="#888888", lw=0.8, ls=":")
    ax.set_yticks(y, shown["task_id"].astype(str))
    ax.set_xlabel("mean Cohen's kappa over the task's participants")
    fig.legend(loc="outside upper center", ncols=2, frameon=False, fontsize=9)
    return fig
