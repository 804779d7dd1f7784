"""The human ceiling against independent computations: Fleiss' and Krippendorff's formulas written out,
scikit-learn's Cohen's kappa in loops, hand-worked degenerate tasks and a brute-force permutation."""

import itertools
import math
import warnings

import numpy as np
import pandas as pd
import pytest
from sklearn.metrics import cohen_kappa_score

from analysis import response_units
from analysis.ceiling import CEILING_FLOOR, ceiling_summary, human_agreement


def _fleiss(m):
    """Fleiss (1971) written out: raters x items 0/1 matrix."""
    n, items = m.shape
    counts = np.column_stack([n - m.sum(0), m.sum(0)])
    p_items = ((counts**2).sum(1) - n) / (n * (n - 1))
    p_cat = counts.sum(0) / (n * items)
    p_e = (p_cat**2).sum()
    return (p_items.mean() - p_e) / (1 - p_e)


def _krippendorff_nominal(m):
    """Krippendorff's alpha from the coincidence matrix, pairs of coders within each unit (no missing values)."""
    n, items = m.shape
    o = np.zeros((2, 2))
    for u in range(items):
        for i, j in itertools.permutations(range(n), 2):
            o[m[i, u], m[j, u]] += 1 / (n - 1)
    n_c = o.sum(1)
    total = n_c.sum()
    return 1 - (total - 1) * (o[0, 1] + o[1, 0]) / (2 * n_c[0] * n_c[1])


def _kappa(a, b):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return cohen_kappa_score(a, b)


def _data(tasks):
    """tasks: {task_id: (selections participants x units, rationale)} -> the long table of response_units."""
    units, sel, rat = [], [], []
    for task_id, (m, r) in tasks.items():
        m = np.asarray(m)
        for u in range(m.shape[1]):
            units.append((task_id, u, f"x{u}", "identifiers", "natural language", 1))
            rat.append((task_id, u, r[u]))
            sel.extend((f"p{p}", task_id, u, int(m[p, u])) for p in range(m.shape[0]))
    return response_units(
        pd.DataFrame(sel, columns=["participant_id", "task_id", "unit_index", "selected"]),
        pd.DataFrame(units, columns=["task_id", "unit_index", "text", "category", "group", "selectable"]),
        pd.DataFrame(rat, columns=["task_id", "unit_index", "in_rationale"]),
    )


def test_against_written_out_formulas_and_sklearn():
    rng = np.random.default_rng(3)
    tasks = {}
    for k in range(8):
        n, units = int(rng.integers(2, 9)), int(rng.integers(4, 15))
        m = (rng.random((n, units)) < rng.uniform(0.1, 0.6)).astype(int)
        m[m.sum(1) == 0, 0] = 1  # everyone selects something here; empty selections are tested below
        tasks[f"t{k}"] = (m, (rng.random(units) < 0.3).astype(int))
    got = human_agreement(_data(tasks)).set_index("task_id")
    for task_id, (m, r) in tasks.items():
        row = got.loc[task_id]
        assert (row.n_participants, row.n_empty, row.n_units, row.n_model) == (len(m), 0, m.shape[1], r.sum())
        assert row.fleiss_kappa == pytest.approx(_fleiss(m))
        assert row.krippendorff_alpha == pytest.approx(_krippendorff_nominal(m))
        loo = []
        for i in range(len(m)):
            others = np.delete(m, i, axis=0)
            loo.append(_kappa(m[i], (2 * others.sum(0) >= len(others)).astype(int)))
        assert row.human_loo_kappa == pytest.approx(np.nanmean(loo))
        assert row.model_kappa == pytest.approx(np.nanmean([_kappa(r, m[i]) for i in range(len(m))]))


def test_degenerate_tasks():
    tasks = {
        "one": ([[0, 1, 1, 0]], [1, 1, 0, 0]),  # one participant
        "same": ([[0, 1, 1, 0]] * 3, [0, 1, 0, 0]),  # everyone selects the same units
        "all": ([[1, 1, 1]] * 3, [1, 0, 0]),  # everyone selects every unit
        "nobody": ([[0, 0, 0]] * 2, [1, 0, 0]),  # nobody selects anything
        "some_empty": ([[1, 0, 0], [0, 0, 0], [1, 0, 0], [0, 0, 0]], [1, 0, 0]),  # two of four select nothing
    }
    got = human_agreement(_data(tasks)).set_index("task_id")
    one = got.loc["one"]
    assert (one.n_participants, one.n_empty) == (1, 0)
    assert math.isnan(one.fleiss_kappa) and math.isnan(one.krippendorff_alpha) and math.isnan(one.human_loo_kappa)
    assert one.model_kappa == pytest.approx(_kappa([0, 1, 1, 0], [1, 1, 0, 0]))  # = 0
    same = got.loc["same"]
    assert (same.fleiss_kappa, same.krippendorff_alpha, same.human_loo_kappa) == (1.0, 1.0, 1.0)
    assert same.model_kappa == pytest.approx(_kappa([0, 1, 1, 0], [0, 1, 0, 0]))  # 0.5
    everything = got.loc["all"]  # chance agreement is 1: Fleiss and alpha are 0 / 0; kappa both-constant NaN
    assert math.isnan(everything.fleiss_kappa) and math.isnan(everything.krippendorff_alpha)
    assert math.isnan(everything.human_loo_kappa) and everything.model_kappa == 0.0  # one rater constant
    nobody = got.loc["nobody"]
    assert (nobody.n_participants, nobody.n_empty, nobody.n_responses) == (0, 2, 2)
    assert nobody[["fleiss_kappa", "krippendorff_alpha", "human_loo_kappa", "model_kappa"]].isna().all()
    some = got.loc["some_empty"]
    assert (some.n_participants, some.n_empty) == (2, 2) and some.fleiss_kappa == 1.0


def test_summary_fraction_interval_and_permutation():
    rng = np.random.default_rng(5)
    tasks = {}
    for k in range(10):
        truth = (rng.random(12) < 0.3).astype(int)
        truth[:2] = 1
        noisy = np.array([np.where(rng.random(12) < 0.15, 1 - truth, truth) for _ in range(6)])
        noisy[noisy.sum(1) == 0, 0] = 1
        tasks[f"t{k}"] = (noisy, truth)  # the model's rationale is the people's consensus
    data = _data(tasks)
    agreement = human_agreement(data)
    summary = ceiling_summary(agreement, data, n_boot=500, n_perm=200, seed=1).iloc[0]
    fraction = agreement["model_kappa"].mean() / agreement["human_loo_kappa"].mean()
    assert summary.fraction_of_ceiling == pytest.approx(fraction) and summary.n_tasks == 10
    assert summary.ci_low <= fraction <= summary.ci_high
    assert summary.p_vs_random == pytest.approx(1 / 201)  # no random rationale of the same size does as well
    assert abs(summary.random_kappa) < 0.1  # random rationales agree with people at chance level
    # a random model: p-value not small, and the same seed gives the same numbers
    for task_id, (m, truth) in tasks.items():
        tasks[task_id] = (m, rng.permutation(truth))
    data = _data(tasks)
    again = [ceiling_summary(human_agreement(data), data, n_boot=200, n_perm=200, seed=2) for _ in range(2)]
    pd.testing.assert_frame_equal(*again)
    assert again[0].iloc[0].p_vs_random > 0.01


def test_permutation_null_by_brute_force():
    # one task, 2 participants selecting {0, 1} of 4 units, a 1-unit rationale: the 4 possible random
    # rationales have kappa 0.5, 0.5, -0.5, -0.5; the model's {0} scores 0.5, so p = P(random >= 0.5) = 1/2
    data = _data({"t": ([[1, 1, 0, 0]] * 2, [1, 0, 0, 0]), "single": ([[1, 0, 0, 0]], [1, 0, 0, 0])})
    summary = ceiling_summary(human_agreement(data), data, n_boot=10, n_perm=4000, seed=0).iloc[0]
    assert summary.model_kappa == pytest.approx(0.5)
    assert summary.p_vs_random == pytest.approx(0.5, abs=0.03) and summary.random_kappa == pytest.approx(0, abs=0.05)
    assert summary.n_tasks == 1 and math.isnan(summary.ci_low)  # one comparable task: no bootstrap over tasks


def test_fraction_is_undefined_when_people_agree_at_chance():
    """Independent random selections: the ceiling is about 0, so the ratio is flagged, never printed."""
    rng = np.random.default_rng(8)
    tasks = {}
    for k in range(12):
        people = (rng.random((8, 20)) < 0.2).astype(int)
        people[people.sum(1) == 0, 0] = 1
        tasks[f"t{k}"] = (people, (rng.random(20) < 0.2).astype(int))
    data = _data(tasks)
    agreement = human_agreement(data)
    summary = ceiling_summary(agreement, data, n_boot=400, n_perm=50, seed=0).iloc[0]
    ceiling = agreement["human_loo_kappa"].mean()
    assert summary.human_loo_kappa == pytest.approx(ceiling) and abs(ceiling) < CEILING_FLOOR
    assert summary.ceiling_ci_low <= ceiling <= summary.ceiling_ci_high and summary.ceiling_ci_low <= 0
    assert math.isnan(summary.fraction_of_ceiling) and math.isnan(summary.ci_low) and math.isnan(summary.ci_high)
    assert summary.fraction_note == (
        f"the human ceiling {ceiling:.3f} is below the floor {CEILING_FLOOR:g} and its interval includes 0"
    )


def test_ceiling_interval_is_the_percentile_bootstrap_of_the_task_means():
    rng = np.random.default_rng(5)
    tasks = {}
    for k in range(10):
        truth = (rng.random(12) < 0.3).astype(int)
        truth[:2] = 1
        noisy = np.array([np.where(rng.random(12) < 0.15, 1 - truth, truth) for _ in range(6)])
        noisy[noisy.sum(1) == 0, 0] = 1
        tasks[f"t{k}"] = (noisy, truth)
    data = _data(tasks)
    agreement = human_agreement(data)
    summary = ceiling_summary(agreement, data, n_boot=3000, n_perm=20, seed=4).iloc[0]
    # an independent bootstrap of the same statistic (other draws): the ends agree to Monte Carlo error
    human = agreement["human_loo_kappa"].to_numpy()
    means = human[np.random.default_rng(99).integers(0, len(human), (20000, len(human)))].mean(axis=1)
    assert summary.ceiling_ci_low == pytest.approx(np.quantile(means, 0.025), abs=0.01)
    assert summary.ceiling_ci_high == pytest.approx(np.quantile(means, 0.975), abs=0.01)
    assert summary.fraction_note is None and summary.fraction_of_ceiling > 0


def test_random_rationale_kappas_equal_model_kappas_of_the_same_draws():
    """The per-(size, overlap) lookup equals scoring every drawn rationale with model_kappas, ties and
    empty or full selections included (the draws replayed from the same seed)."""
    import warnings

    from analysis.ceiling import model_kappas, random_rationale_kappas, task_matrices

    rng = np.random.default_rng(4)
    tasks = {}
    for t in range(3):
        people = (rng.random((12, 9)) < rng.uniform(0.1, 0.6)).astype(int)
        people[0], people[1] = 1, 0  # everything selected; nothing (left out of the matrix)
        rationale = np.zeros(9, int)
        rationale[rng.choice(9, 1 + t, replace=False)] = 1
        tasks[f"t{t}"] = (people.tolist(), rationale.tolist())
    data = _data(tasks)
    got = random_rationale_kappas(data, n_perm=300, seed=7)
    replay = np.random.default_rng(7)
    for task_id, selections, rationale, _ in task_matrices(data):
        draws = (replay.random((300, len(rationale))).argsort(axis=1) < rationale.sum()).astype(np.int64)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", RuntimeWarning)
            expected = np.nanmean(model_kappas(selections, draws), axis=1)
        np.testing.assert_allclose(got[task_id].to_numpy(), expected, rtol=1e-12, atol=0)
