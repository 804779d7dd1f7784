"""Logistic mixed models of selection by category: human vs model with participant and task random effects.

The per-category Wilcoxon tests compare each participant's human and model rates; they pool a
participant's tasks, which is exact only when every participant saw the same tasks. The mixed
model uses every selectable unit of every response: ``selected ~ source`` with a random intercept
per participant (for the human rows; the model is one fixed rater) and per task (all rows), fitted
with statsmodels' ``BinomialBayesMixedGLM`` by variational Bayes (``fit_vb`` with L-BFGS-B).
Every unit of one response shares its linear predictor (same source, participant and task), so
the fit runs on one binomial count per response (units selected of units shown) and per task for
the model: the same likelihood and evidence lower bound as one Bernoulli row per unit, on some
hundred times fewer rows (:class:`CountBinomialBayesMixedGLM`). The fixed effects
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
from scipy.special import expit
from scipy.stats import norm
from statsmodels.genmod import families
from statsmodels.genmod.bayes_mixed_glm import BinomialBayesMixedGLM, _BayesMixedGLM
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


class CountBinomialBayesMixedGLM(BinomialBayesMixedGLM):
    """``BinomialBayesMixedGLM`` on binomial counts: ``endog`` successes out of ``trials``.

    The Bernoulli evidence lower bound is ``sum(y * m + E[-log(1 + exp(m + s z))])`` over rows.
    Rows that share a linear predictor add up to ``k * m + n * E[...]`` for ``k`` successes of
    ``n``: the expectation term (and its gradient) is scaled by ``trials``, the ``endog`` term
    already is a sum. The binomial coefficient is a constant and left out, as statsmodels does.
    """

    def __init__(self, endog, trials, exog, exog_vc, ident, **kwargs) -> None:
        # skip BinomialBayesMixedGLM's check that endog is 0/1: here it is a count
        _BayesMixedGLM.__init__(self, endog, exog, exog_vc=exog_vc, ident=ident, family=families.Binomial(), **kwargs)
        self.trials = np.asarray(trials, float)

    def vb_elbo(self, vb_mean, vb_sd):
        fep_mean, vcp_mean, vc_mean = self._unpack(vb_mean)
        fep_sd, vcp_sd, vc_sd = self._unpack(vb_sd)
        tm, tv = self._lp_stats(fep_mean, fep_sd, vc_mean, vc_sd)

        def h(z):
            return -self.trials * np.logaddexp(0, tm + np.sqrt(tv) * z)

        return self.vb_elbo_base(h, tm, fep_mean, vcp_mean, vc_mean, fep_sd, vcp_sd, vc_sd)

    def vb_elbo_grad(self, vb_mean, vb_sd):
        fep_mean, vcp_mean, vc_mean = self._unpack(vb_mean)
        fep_sd, vcp_sd, vc_sd = self._unpack(vb_sd)
        tm, tv = self._lp_stats(fep_mean, fep_sd, vc_mean, vc_sd)

        def h(z):
            return -self.trials * expit(tm + np.sqrt(tv) * z)

        return self.vb_elbo_grad_base(h, tm, tv, fep_mean, vcp_mean, vc_mean, fep_sd, vcp_sd, vc_sd)


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
    out: dict[str, object] = dict.fromkeys(
        ["odds_ratio", "ci_low", "ci_high", "log_odds_ratio", "log_odds_sd", "participant_sd", "task_sd"], np.nan
    ) | {"note": None}
    if len(human) == 0 or len(model) == 0:
        return out | {"note": "no rows"}
    if y.min() == y.max():
        return out | {"note": "nobody selected these units" if y.max() == 0 else "every unit selected"}
    # one binomial count per participant and task (human) and per task (model): rows of a cell
    # share their linear predictor, so the counts carry the whole likelihood
    cells = human.groupby(["participant_id", "task_id"], sort=False, observed=True)["selected"].agg(["sum", "count"])
    rated = model.groupby("task_id", sort=False, observed=True)["in_rationale"].agg(["sum", "count"])
    successes = np.r_[cells["sum"].to_numpy(float), rated["sum"].to_numpy(float)]
    trials = np.r_[cells["count"].to_numpy(float), rated["count"].to_numpy(float)]
    n_h, n = len(cells), len(successes)
    participants = pd.Categorical(cells.index.get_level_values("participant_id").astype(str))
    tasks = pd.Categorical(
        np.concatenate([cells.index.get_level_values("task_id").astype(str), rated.index.astype(str)])
    )
    human_row = np.r_[np.ones(n_h), np.zeros(n - n_h)]
    exog = np.column_stack([human_row, 1 - human_row])
    exog_vc = sparse.hstack(
        [
            _indicators(participants.codes, np.arange(n_h), n, len(participants.categories)),
            _indicators(tasks.codes, np.arange(n), n, len(tasks.categories)),
        ]
    ).tocsr()
    ident = np.r_[np.zeros(len(participants.categories), int), np.ones(len(tasks.categories), int)]
    glmm = CountBinomialBayesMixedGLM(
        successes,
        trials,
        exog,
        exog_vc,
        ident,
        vcp_p=1,
        fe_p=2,
        fep_names=["human", "model"],
        vcp_names=["participant", "task"],
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
