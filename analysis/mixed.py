"""Logistic mixed models of selection by category: human vs model with participant and task random effects.

The per-category Wilcoxon tests compare each participant's human and model rates; they pool a
participant's tasks, which is exact only when every participant saw the same tasks. The mixed
model uses every selectable unit of every response: ``selected ~ source`` with a random intercept
per participant (for the human rows; the model is one fixed rater) and per task (all rows), fitted
with statsmodels' ``BinomialBayesMixedGLM`` by variational Bayes (``fit_vb`` with L-BFGS-B). The fixed effects
are coded as one intercept per source (cell means), and the log odds ratio is their difference:
with an intercept plus a "human" effect the mean-field posterior ignores their strong correlation
and the interval comes out several times too narrow. ``fit_map`` is not used: the joint posterior
mode of a hierarchical model sits at a zero variance (BFGS then runs for minutes). The
mean-field interval still ignores the correlation of the source means with the random effects, so
it is too narrow when participants differ a lot: read it as approximate (docs/analysis.md gives
its simulated coverage). It is the analysis to prefer when
participants see different tasks or different numbers of tasks.
"""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd
from scipy import sparse
from scipy.stats import norm
from statsmodels.genmod.bayes_mixed_glm import BinomialBayesMixedGLM
from statsmodels.tools.sm_exceptions import ConvergenceWarning

COLUMNS = [
    "n_rows",
    "n_participants",
    "n_tasks",
    "human_rate",
    "model_rate",
    "odds_ratio",
    "ci_low",
    "ci_high",
    "log_odds_ratio",
    "log_odds_sd",
    "participant_sd",
    "task_sd",
    "note",
]


def _indicators(codes: np.ndarray, rows: np.ndarray, n_rows: int, n_levels: int) -> sparse.csr_array:
    """Rows x levels 0/1 matrix with a one at (rows[i], codes[i])."""
    return sparse.csr_array((np.ones(len(rows)), (rows, codes)), shape=(n_rows, n_levels))


def fit_selection_model(human: pd.DataFrame, model: pd.DataFrame, ci: float = 0.95) -> dict:
    """Fit ``selected ~ source`` with participant and task random intercepts; return the human vs model odds ratio.

    Parameters
    ----------
    human : pandas.DataFrame
        One row per response and unit: ``participant_id, task_id, selected``.
    model : pandas.DataFrame
        One row per task and unit: ``task_id, in_rationale``.
    ci : float
        Nominal coverage of the interval: the variational posterior mean of the log odds ratio
        plus or minus ``z * sd``, exponentiated.

    Returns
    -------
    dict
        ``odds_ratio`` (> 1: people select these units more readily than the model, at the same
        participant and task), ``ci_low``, ``ci_high``, ``log_odds_ratio``, ``log_odds_sd``,
        ``participant_sd`` and ``task_sd`` (exp of the posterior means of the log standard
        deviations of the random intercepts, logit scale), ``note`` (why no model was fitted, or
        that the variational fit did not converge, else None).
    """
    y = np.concatenate([human["selected"].to_numpy(float), model["in_rationale"].to_numpy(float)])
    out = dict.fromkeys(
        ["odds_ratio", "ci_low", "ci_high", "log_odds_ratio", "log_odds_sd", "participant_sd", "task_sd"], np.nan
    ) | {"note": None}
    if len(human) == 0 or len(model) == 0:
        return out | {"note": "no rows"}
    if y.min() == y.max():
        return out | {"note": "nobody selected these units" if y.max() == 0 else "every unit selected"}
    n_h, n = len(human), len(y)
    participants = pd.Categorical(human["participant_id"].astype(str))
    tasks = pd.Categorical(np.concatenate([human["task_id"].astype(str), model["task_id"].astype(str)]))
    human_row = np.r_[np.ones(n_h), np.zeros(n - n_h)]
    exog = np.column_stack([human_row, 1 - human_row])
    exog_vc = sparse.hstack(
        [
            _indicators(participants.codes, np.arange(n_h), n, len(participants.categories)),
            _indicators(tasks.codes, np.arange(n), n, len(tasks.categories)),
        ]
    ).tocsr()
    ident = np.r_[np.zeros(len(participants.categories), int), np.ones(len(tasks.categories), int)]
    glmm = BinomialBayesMixedGLM(
        y, exog, exog_vc, ident, vcp_p=1, fe_p=2, fep_names=["human", "model"], vcp_names=["participant", "task"]
    )
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always", ConvergenceWarning)
        fit = glmm.fit_vb(fit_method="L-BFGS-B")  # same optimum as the default BFGS, 3x faster (measured)
    if any(issubclass(w.category, ConvergenceWarning) for w in caught):
        out["note"] = "variational fit did not converge: read the odds ratio with caution"
    beta = float(fit.fe_mean[0] - fit.fe_mean[1])
    sd = float(np.hypot(fit.fe_sd[0], fit.fe_sd[1]))
    z = norm.ppf(0.5 + ci / 2)
    return out | {
        "odds_ratio": np.exp(beta),
        "ci_low": np.exp(beta - z * sd),
        "ci_high": np.exp(beta + z * sd),
        "log_odds_ratio": beta,
        "log_odds_sd": sd,
        "participant_sd": float(np.exp(fit.vcp_mean[0])),
        "task_sd": float(np.exp(fit.vcp_mean[1])),
    }


def category_mixed_models(data: pd.DataFrame, by: str = "category", ci: float = 0.95) -> pd.DataFrame:
    """One logistic mixed model per level of ``by``: the human vs model odds ratio of selecting a unit.

    Parameters
    ----------
    data : pandas.DataFrame
        Long format from :func:`analysis.response_units`.
    by : str
        ``"category"`` or ``"group"``.
    ci : float
        Interval coverage (see :func:`fit_selection_model`).

    Returns
    -------
    pandas.DataFrame
        One row per level, sorted: ``<by>``, ``n_rows`` (human unit rows), ``n_participants``,
        ``n_tasks``, ``human_rate``, ``model_rate`` (raw shares of selected units), then the
        columns of :func:`fit_selection_model`.

    Notes
    -----
    The model's rationale enters once per task and unit (it is one rater), the people once per
    response and unit. Odds ratios above 1 mean participants select the level's units more
    often than the model, the sign convention of the Wilcoxon rank-biserial correlation.
    """
    units = data.dropna(subset=["unit_index"])
    rows = []
    for level, part in units.groupby(by, sort=True, observed=True):
        model = part.drop_duplicates(["task_id", "unit_index"])
        rows.append(
            {
                by: level,
                "n_rows": len(part),
                "n_participants": part["participant_id"].nunique(),
                "n_tasks": part["task_id"].nunique(),
                "human_rate": part["selected"].mean(),
                "model_rate": model["in_rationale"].mean(),
                **fit_selection_model(part, model, ci=ci),
            }
        )
    return pd.DataFrame(rows, columns=[by, *COLUMNS])
