"""Human vs model selection rates by category (or group), tested across participants."""

from __future__ import annotations

import numpy as np
import pandas as pd

from analysis.bootstrap import task_bootstrap
from analysis.correction import adjust_pvalues
from analysis.wilcoxon import paired_wilcoxon


def category_rates(data: pd.DataFrame, by: str = "category") -> pd.DataFrame:
    """Each participant's human and model selection rate per category, over that participant's tasks.

    Parameters
    ----------
    data : pandas.DataFrame
        Long format from :func:`analysis.response_units`: ``participant_id, task_id, <by>,
        selected, in_rationale``.
    by : str
        The unit column to split by: ``"category"`` or ``"group"``.

    Returns
    -------
    pandas.DataFrame
        One row per participant and level of ``by`` the participant saw: ``participant_id``,
        ``<by>``, ``n_units`` (selectable units of that level over the participant's tasks),
        ``n_human``, ``n_model`` (of those, selected by the participant, by the model),
        ``human_rate = n_human / n_units``, ``model_rate = n_model / n_units``.
    """
    rates = (
        data.groupby(["participant_id", by], sort=True)
        .agg(n_units=("selected", "size"), n_human=("selected", "sum"), n_model=("in_rationale", "sum"))
        .astype("int64")
        .reset_index()
    )
    return rates.assign(human_rate=rates["n_human"] / rates["n_units"], model_rate=rates["n_model"] / rates["n_units"])


def category_tests(
    rates: pd.DataFrame, by: str = "category", correction: str = "holm", zero_method: str = "wilcox"
) -> pd.DataFrame:
    """Wilcoxon signed-rank test of human vs model selection rate, per level, across participants.

    Parameters
    ----------
    rates : pandas.DataFrame
        Output of :func:`category_rates` (``participant_id, <by>, human_rate, model_rate``).
    by : str
        The level column, ``"category"`` or ``"group"``.
    correction : {"holm", "fdr_bh"}
        Adjustment over the levels tested (see :func:`analysis.correction.adjust_pvalues`).
    zero_method : {"wilcox", "pratt"}
        Treatment of participants whose two rates are equal (see :func:`analysis.wilcoxon.paired_wilcoxon`).

    Returns
    -------
    pandas.DataFrame
        One row per level, sorted by it: ``<by>``, ``n`` (participants), ``n_nonzero`` (with
        unequal rates), ``human_median``, ``model_median``, ``human_mean``, ``model_mean``,
        ``statistic`` (W), ``p``, ``p_adj``, ``rank_biserial`` (> 0: humans select the level more
        often than the model), ``cles`` (share of participant pairs where the human rate exceeds
        the model rate), ``zero_method``, ``method`` (how ``p`` was computed: ``exact``,
        ``permutation`` or ``asymptotic``, see :func:`analysis.wilcoxon.wilcoxon_method`),
        ``correction``, ``note`` (why the test is undefined, else missing).

    Notes
    -----
    The model's rate for a participant is computed on exactly that participant's tasks, so the
    pairs differ only in who selected. Levels whose test is undefined (all differences zero) get
    NaN p-values and are not counted in the correction.

    References
    ----------
    Holm, S. (1979). A simple sequentially rejective multiple test procedure. Scandinavian
    Journal of Statistics, 6(2), 65-70.
    Wilcoxon, F. (1945). Individual comparisons by ranking methods. Biometrics Bulletin, 1(6),
    80-83. https://doi.org/10.2307/3001968

    Examples
    --------
    >>> rates = pd.DataFrame({"participant_id": ["a", "b", "c"], "category": "loops",
    ...                       "human_rate": [0.5, 0.4, 0.3], "model_rate": [0.1, 0.1, 0.1]})
    >>> category_tests(rates)[["category", "n", "statistic", "rank_biserial"]]
      category  n  statistic  rank_biserial
    0    loops  3        0.0            1.0
    """
    rows = []
    for level, part in rates.groupby(by, sort=True):
        human, model = part["human_rate"].to_numpy(), part["model_rate"].to_numpy()
        rows.append(
            {
                by: level,
                **paired_wilcoxon(human, model, zero_method=zero_method),
                "human_median": np.median(human),
                "model_median": np.median(model),
                "human_mean": human.mean(),
                "model_mean": model.mean(),
            }
        )
    columns = [
        by,
        "n",
        "n_nonzero",
        "human_median",
        "model_median",
        "human_mean",
        "model_mean",
        "statistic",
        "p",
        "p_adj",
        "rank_biserial",
        "cles",
        "zero_method",
        "method",
        "correction",
        "note",
    ]
    tests = pd.DataFrame(rows, columns=[c for c in columns if c not in ("p_adj", "zero_method", "correction")])
    tests = tests.assign(
        p_adj=adjust_pvalues(tests["p"].to_numpy(), correction), zero_method=zero_method, correction=correction
    )
    return tests[columns]


def pooled_rates(
    data: pd.DataFrame, by: str = "category", n_boot: int = 2000, ci: float = 0.95, seed: int = 0
) -> pd.DataFrame:
    """Pooled human and model selection rate per level, with CIs that resample tasks.

    Parameters
    ----------
    data : pandas.DataFrame
        Long format from :func:`analysis.response_units`.
    by : str
        ``"category"`` or ``"group"``.
    n_boot, ci, seed
        See :func:`analysis.bootstrap.task_bootstrap`. Human and model use the same seed, hence
        the same task draws.

    Returns
    -------
    pandas.DataFrame
        One row per level: ``<by>``, ``n_units`` (unit x response rows), ``human_rate`` (selected
        units / units over all responses), ``human_ci_low``, ``human_ci_high``, ``model_rate``
        (the model's rationale on the same responses' tasks), ``model_ci_low``, ``model_ci_high``.
    """
    per_task = (
        data.groupby(["task_id", by], sort=True)
        .agg(n=("selected", "size"), human=("selected", "sum"), model=("in_rationale", "sum"))
        .unstack(by, fill_value=0)
    )
    n = per_task["n"].to_numpy()
    out = pd.DataFrame({by: per_task["n"].columns, "n_units": n.sum(0)})
    for rater in ("human", "model"):
        low, high = task_bootstrap(per_task[rater].to_numpy(), n, n_boot=n_boot, ci=ci, seed=seed)
        out[f"{rater}_rate"] = per_task[rater].to_numpy().sum(0) / out["n_units"].to_numpy()
        out[f"{rater}_ci_low"], out[f"{rater}_ci_high"] = low, high
    return out
