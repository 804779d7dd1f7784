"""The count fit against statsmodels' own per-unit Bernoulli fit, and its recovery of known odds ratios."""

import numpy as np
import pandas as pd
import pytest
from scipy import sparse
from statsmodels.genmod.bayes_mixed_glm import BinomialBayesMixedGLM

from analysis.mixed import category_mixed_models, fit_selection_model


def _simulated(rng, log_or, participants=40, tasks=12, seen=6, units=20, participant_sd=0.5, task_sd=0.5):
    """logit p = -1.5 + log_or (people) + participant effect + task effect; the model rates each task once."""
    person, task = rng.normal(0, participant_sd, participants), rng.normal(0, task_sd, tasks)
    shown = np.array([rng.choice(tasks, seen, replace=False) for _ in range(participants)])
    p_id, t_id = np.repeat(np.arange(participants), seen * units), np.repeat(shown.ravel(), units)
    chance = 1 / (1 + np.exp(-(-1.5 + log_or + person[p_id] + task[t_id])))
    human = pd.DataFrame({"participant_id": [f"p{p}" for p in p_id], "task_id": [f"t{t}" for t in t_id]}).assign(
        selected=(rng.random(len(p_id)) < chance).astype(int)
    )
    m_task = np.repeat(np.arange(tasks), units)
    model = pd.DataFrame({"task_id": [f"t{t}" for t in m_task]}).assign(
        in_rationale=(rng.random(len(m_task)) < 1 / (1 + np.exp(1.5 - task[m_task]))).astype(int)
    )
    return human, model


def _per_unit_fit(human, model):
    """The Bernoulli fit on one row per unit, built independently of analysis.mixed."""
    y = np.r_[human["selected"], model["in_rationale"]].astype(float)
    n_h, n = len(human), len(y)
    people = pd.Categorical(human["participant_id"])
    tasks = pd.Categorical(np.r_[human["task_id"], model["task_id"]])
    z_p = sparse.csr_array((np.ones(n_h), (np.arange(n_h), people.codes)), shape=(n, len(people.categories)))
    z_t = sparse.csr_array((np.ones(n), (np.arange(n), tasks.codes)), shape=(n, len(tasks.categories)))
    is_h = np.r_[np.ones(n_h), np.zeros(n - n_h)]
    ident = np.r_[np.zeros(len(people.categories), int), np.ones(len(tasks.categories), int)]
    glmm = BinomialBayesMixedGLM(y, np.column_stack([is_h, 1 - is_h]), sparse.hstack([z_p, z_t]).tocsr(), ident)
    return glmm.fit_vb(fit_method="L-BFGS-B")


def test_counts_give_the_per_unit_fit():
    human, model = _simulated(np.random.default_rng(5), log_or=np.log(2), participants=15, tasks=8, seen=4)
    rows = _per_unit_fit(human, model)
    got = fit_selection_model(human, model)
    # the same objective, optimised from the same start: equal up to the optimiser's tolerance
    assert got["log_odds_ratio"] == pytest.approx(rows.fe_mean[0] - rows.fe_mean[1], abs=2e-3)
    assert got["log_odds_sd"] == pytest.approx(np.hypot(*rows.fe_sd), rel=1e-2)
    assert got["participant_sd"] == pytest.approx(np.exp(rows.vcp_mean[0]), rel=2e-2)
    assert got["task_sd"] == pytest.approx(np.exp(rows.vcp_mean[1]), rel=2e-2)


def test_known_odds_ratios_fall_in_most_intervals():
    rng = np.random.default_rng(11)
    truths = np.log([0.5, 1.0, 2.0, 4.0] * 6)  # 24 simulated studies
    covered = 0
    for log_or in truths:
        human, model = _simulated(rng, log_or)
        got = fit_selection_model(human, model)
        covered += got["ci_low"] < np.exp(log_or) < got["ci_high"]
    assert covered >= 19, covered  # 95% intervals: 24 * 0.95 = 22.8 expected; approximate, see the module


def test_category_models_run_on_counts_per_level():
    human, model = _simulated(np.random.default_rng(3), log_or=np.log(3))
    data = human.merge(model.groupby("task_id", as_index=False).first(), on="task_id").assign(
        unit_index=0, category="loops"
    )
    got = category_mixed_models(data).iloc[0]
    assert got.n_rows == len(human) and got.ci_low < 3 < got.ci_high
