"""Power of the per-category Wilcoxon tests for planning a study, simulated from a pilot export.

For each category the pilot gives, per participant, the selectable units seen, the human rate and
the model's rate on the same tasks. A simulated participant is a pilot participant's units and model
rate (resampled with replacement) with a new selection propensity drawn from a beta distribution
whose mean is the pilot's mean human rate and whose variance is the pilot's between-participant
variance (the variance of the rates minus their mean binomial sampling variance, method of
moments); the selections are binomial given that propensity. Each simulated study reruns
:func:`analysis.categories.category_tests` (standard Wilcoxon p-values, the chosen correction)
on N participants; the power is the share of simulated studies whose adjusted p-value is below alpha.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from tqdm import tqdm

from analysis.categories import category_tests

COLUMNS = [
    "n_participants",
    "power",
    "n_sim",
    "alpha",
    "pilot_participants",
    "pilot_human_mean",
    "pilot_model_mean",
    "between_sd",
]


def beta_parameters(rates, units) -> tuple[float, float] | None:
    """Method-of-moments beta (a, b) for the propensities behind binomial ``rates`` over ``units``.

    The between-participant variance is the variance of the rates minus the mean binomial variance
    ``mean(r (1 - r) / n)``; None when it is not positive (no spread beyond sampling, or a mean of
    0 or 1): every simulated participant then has the pilot's mean propensity.

    Examples
    --------
    >>> a, b = beta_parameters([0.1, 0.5, 0.9, 0.5], [1000] * 4)
    >>> round(a / (a + b), 3)
    0.5
    """
    rates, units = np.asarray(rates, float), np.asarray(units, float)
    mean = rates.mean()
    between = rates.var(ddof=1) - np.mean(rates * (1 - rates) / units) if len(rates) > 1 else 0.0
    if not 0 < mean < 1 or not between > 0 or between >= mean * (1 - mean):
        return None
    common = mean * (1 - mean) / between - 1
    return float(mean * common), float((1 - mean) * common)


def simulate_rates(pilot: pd.DataFrame, n: int, by: str, rng: np.random.Generator) -> pd.DataFrame:
    """One simulated study: N participants' human and model rates for every level of ``by``."""
    frames = []
    for level, part in pilot.groupby(by, sort=True):
        pick = rng.integers(0, len(part), n)
        units = part["n_units"].to_numpy()[pick]
        shape = beta_parameters(part["human_rate"], part["n_units"])
        propensity = rng.beta(*shape, size=n) if shape else np.full(n, part["human_rate"].mean())
        frames.append(
            pd.DataFrame(
                {
                    "participant_id": np.arange(n),
                    by: level,
                    "human_rate": rng.binomial(units, propensity) / units,
                    "model_rate": part["model_rate"].to_numpy()[pick],
                }
            )
        )
    return pd.concat(frames, ignore_index=True)


def simulate_power(
    pilot: pd.DataFrame,
    participants=(10, 20, 40, 80),
    by: str = "category",
    n_sim: int = 200,
    alpha: float = 0.05,
    correction: str = "holm",
    zero_method: str = "wilcox",
    seed: int = 0,
) -> pd.DataFrame:
    """Power per level of ``by`` and number of participants, by simulation from the pilot's rates.

    Parameters
    ----------
    pilot : pandas.DataFrame
        :func:`analysis.category_rates` of the pilot (``participant_id, <by>, n_units,
        human_rate, model_rate``).
    participants : sequence of int
        Study sizes to simulate.
    by, correction, zero_method
        As in :func:`analysis.category_tests`.
    n_sim : int
        Simulated studies per size.
    alpha : float
        Level for the adjusted p-values.
    seed : int
        Seed of the simulation.

    Returns
    -------
    pandas.DataFrame
        One row per level and size: ``<by>``, ``n_participants``, ``power`` (share of simulated
        studies with ``p_adj < alpha``; undefined tests count as not significant), ``n_sim``,
        ``alpha``, ``pilot_participants``, ``pilot_human_mean``, ``pilot_model_mean``,
        ``between_sd`` (the standard deviation of the simulated propensities, 0 without spread).

    Notes
    -----
    Levels are simulated independently of each other (a participant's propensities for two
    categories are not correlated), which makes Holm's adjustment behave as for independent tests.
    """
    rng = np.random.default_rng(seed)
    pilot = pilot[pilot["n_units"] > 0]
    hits: dict[tuple, int] = {}
    with tqdm(total=len(participants) * n_sim, desc="power simulation", unit="study", disable=None) as bar:
        for n in participants:
            for _ in range(n_sim):
                tests = category_tests(
                    simulate_rates(pilot, n, by, rng), by, correction=correction, zero_method=zero_method
                )
                for level, p in zip(tests[by], tests["p_adj"]):
                    hits[(level, n)] = hits.get((level, n), 0) + bool(p < alpha)
                bar.update()
    rows: list[dict] = []
    for level, part in pilot.groupby(by, sort=True):
        shape = beta_parameters(part["human_rate"], part["n_units"])
        sd = (
            float(np.sqrt(shape[0] * shape[1] / ((shape[0] + shape[1]) ** 2 * (shape[0] + shape[1] + 1))))
            if shape
            else 0.0
        )
        rows.extend(
            {
                by: level,
                "n_participants": n,
                "power": hits.get((level, n), 0) / n_sim,
                "n_sim": n_sim,
                "alpha": alpha,
                "pilot_participants": len(part),
                "pilot_human_mean": part["human_rate"].mean(),
                "pilot_model_mean": part["model_rate"].mean(),
                "between_sd": sd,
            }
            for n in participants
        )
    return pd.DataFrame(rows, columns=[by, *COLUMNS])


def plot_power(power: pd.DataFrame, by: str, path) -> object:
    """Line plot of power against the number of participants, one line per level, 0.8 marked."""
    from matplotlib.figure import Figure

    fig = Figure(figsize=(6.5, 4), layout="constrained")
    ax = fig.subplots()
    for level, part in power.groupby(by, sort=True):
        ax.plot(part["n_participants"], part["power"], "o-", ms=3, label=str(level))
    ax.axhline(0.8, color="#888888", lw=0.8, ls=":")
    ax.set_xscale("log")
    ax.set_xticks(sorted(power["n_participants"].unique()), [str(n) for n in sorted(power["n_participants"].unique())])
    ax.set_ylim(-0.02, 1.02)
    ax.set_xlabel("participants")
    ax.set_ylabel(f"power (adjusted p < {power['alpha'].iloc[0]:g})")
    ax.legend(fontsize=7, ncol=2, loc="best")
    fig.savefig(path, dpi=120)
    return path
