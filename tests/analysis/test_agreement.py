"""analysis.agreement against scikit-learn and hand-worked examples."""

import math
import warnings

import numpy as np
import pytest
from sklearn.metrics import cohen_kappa_score, f1_score, jaccard_score, precision_score, recall_score

from analysis.agreement import (
    ac1_from_counts,
    cohen_kappa,
    f1,
    gwet_ac1,
    jaccard,
    kappa_from_counts,
    pair_counts,
    precision,
    recall,
)


def _random_pairs(n_pairs=200, seed=0):
    rng = np.random.default_rng(seed)
    for _ in range(n_pairs):
        n = int(rng.integers(2, 40))
        yield (rng.random(n) < rng.random()).astype(int), (rng.random(n) < rng.random()).astype(int)


def test_kappa_matches_sklearn_when_defined():
    checked = 0
    for h, m in _random_pairs():
        value, reason = cohen_kappa(h, m)
        if h.min() == h.max() and m.min() == m.max():
            continue  # sklearn gives NaN with a warning here; tested below
        assert value == pytest.approx(cohen_kappa_score(h, m), abs=1e-12)
        checked += 1
    assert checked > 150


def test_kappa_feinstein_cicchetti_prevalence_paradox():
    # Feinstein & Cicchetti (1990), J Clin Epidemiol 43(6):543-549, table with a=80, b=10, c=5, d=5:
    # p_o = .85 yet kappa = .32. AC1 by hand (Gwet 2008): pi = (2*80 + 10 + 5) / 200 = .875,
    # p_e = 2 * .875 * .125 = .21875, AC1 = (.85 - .21875) / (1 - .21875) = .808.
    h = np.r_[np.ones(80), np.ones(10), np.zeros(5), np.zeros(5)].astype(int)
    m = np.r_[np.ones(80), np.zeros(10), np.ones(5), np.zeros(5)].astype(int)
    assert cohen_kappa(h, m)[0] == pytest.approx(0.3182, abs=1e-4)
    assert gwet_ac1(h, m) == pytest.approx(0.63125 / 0.78125)
    # the balanced table of the same paper: a=40, b=9, c=6, d=45, p_o = .85 and kappa = .70
    assert kappa_from_counts(100, 49, 46, 40)[0] == pytest.approx(0.6996, abs=1e-4)


def test_ac1_hand_worked():
    # a=1 both, b=1 human only, c=0, d=8 neither: p_o = .9, pi = 3/20 = .15, p_e = 2*.15*.85 = .255,
    # AC1 = (.9 - .255) / (1 - .255) = .645 / .745
    h = [1, 1, 0, 0, 0, 0, 0, 0, 0, 0]
    m = [1, 0, 0, 0, 0, 0, 0, 0, 0, 0]
    assert gwet_ac1(h, m) == pytest.approx(0.645 / 0.745)
    assert gwet_ac1([0, 0, 0], [0, 0, 0]) == 1.0  # defined where kappa is not
    assert math.isnan(gwet_ac1([], []))


def test_kappa_degenerate_cases_have_reasons():
    assert cohen_kappa([0, 0, 0], [0, 0, 0])[1] == "both raters constant"
    assert math.isnan(cohen_kappa([0, 0, 0], [0, 0, 0])[0])
    assert math.isnan(cohen_kappa([1, 1], [1, 1])[0])
    assert cohen_kappa([1, 1], [0, 0]) == (0.0, "both raters constant")  # total disagreement: p_o = p_e = 0
    value, reason = cohen_kappa([], [])
    assert math.isnan(value) and reason == "no selectable units"
    # sklearn: 0.0 when one rater is constant and NaN (with a warning) when both are
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        assert math.isnan(cohen_kappa_score([0, 0, 0], [0, 0, 0]))
    assert cohen_kappa([0, 0, 0, 0], [0, 1, 0, 1]) == (
        cohen_kappa_score([0, 0, 0, 0], [0, 1, 0, 1]),
        "human rater constant",
    )
    assert cohen_kappa([0, 1, 0, 1], [1, 1, 1, 1]) == (0.0, "model rater constant")
    assert cohen_kappa([0, 1, 0, 1], [0, 1, 1, 0])[1] is None


def test_vectorized_counts_equal_pairwise():
    pairs = list(_random_pairs(50, seed=3)) + [(np.zeros(3, int), np.zeros(3, int)), (np.array([], int),) * 2]
    counts = np.array([pair_counts(h, m) for h, m in pairs]).T
    kappa, reason = kappa_from_counts(*counts)
    ac1 = ac1_from_counts(*counts)
    for i, (h, m) in enumerate(pairs):
        one_kappa, one_reason = cohen_kappa(h, m)
        np.testing.assert_equal([kappa[i], ac1[i]], [one_kappa, gwet_ac1(h, m)])
        assert reason[i] == one_reason


def test_overlap_matches_sklearn_human_as_reference():
    for h, m in _random_pairs(40, seed=5):
        if h.sum() == 0 or m.sum() == 0:
            continue
        assert precision(h, m) == pytest.approx(precision_score(h, m))
        assert recall(h, m) == pytest.approx(recall_score(h, m))
        assert f1(h, m) == pytest.approx(f1_score(h, m))
        assert jaccard(h, m) == pytest.approx(jaccard_score(h, m))


def test_overlap_undefined_is_nan_not_zero():
    assert math.isnan(precision([1, 0], [0, 0]))  # the model chose nothing
    assert recall([1, 0], [0, 0]) == 0.0
    assert math.isnan(recall([0, 0], [1, 0]))  # the human chose nothing
    assert math.isnan(f1([0, 0], [0, 0])) and math.isnan(jaccard([0, 0], [0, 0]))
    assert jaccard([1, 1, 0], [0, 1, 1]) == pytest.approx(1 / 3)


@pytest.mark.parametrize(
    "human, model, message",
    [
        ([0, 2], [0, 1], "human selection must hold only 0 and 1"),
        ([0, 1], [0, 1, 1], "differ in length"),
        ([[0, 1]], [[0, 1]], "one-dimensional"),
    ],
)
def test_bad_input_gives_clear_error(human, model, message):
    with pytest.raises(ValueError, match=message):
        cohen_kappa(human, model)
