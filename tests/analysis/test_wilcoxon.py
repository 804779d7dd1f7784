"""Wilcoxon signed-rank and rank-biserial against pingouin, the normal-approximation formula and hand work."""

import math

import numpy as np
import pingouin as pg
import pytest
from scipy.stats import norm, rankdata

from analysis import adjust_pvalues, paired_wilcoxon


def _normal_approximation(d):
    """Textbook large-sample test on nonzero differences with tie-corrected variance, no continuity correction.

    Hollander, Wolfe & Chicken (2014), Nonparametric Statistical Methods, 3rd ed., sec. 3.1:
    E[T+] = n(n+1)/4, Var[T+] = n(n+1)(2n+1)/24 - sum(t^3 - t)/48 over tie groups of size t.
    """
    d = np.asarray(d, float)
    d = d[d != 0]
    n = d.size
    r = rankdata(np.abs(d))
    t_plus = r[d > 0].sum()
    _, ties = np.unique(np.abs(d), return_counts=True)
    var = n * (n + 1) * (2 * n + 1) / 24 - (ties ** 3 - ties).sum() / 48
    return 2 * norm.sf(abs(t_plus - n * (n + 1) / 4) / math.sqrt(var))


def test_against_pingouin_without_continuity_correction():
    rng = np.random.default_rng(1)
    for _ in range(20):
        # integer data: zeros and ties as in coarse rates, with no floating-point noise in x - y
        x, y = rng.integers(0, 6, 25).astype(float), rng.integers(0, 6, 25).astype(float)
        ours = paired_wilcoxon(x, y)
        theirs = pg.wilcoxon(x, y, correction=False, method="asymptotic")  # pingouin's rbc drops zeros, as "wilcox" does
        assert ours["p"] == pytest.approx(theirs["p_val"].iloc[0])
        assert ours["statistic"] == pytest.approx(theirs["W_val"].iloc[0])
        assert ours["rank_biserial"] == pytest.approx(theirs["RBC"].iloc[0])
        assert ours["p"] == pytest.approx(_normal_approximation(x - y))
        # the same rates as fractions: 0.6 - 0.4 != 0.8 - 0.6 in floating point, yet they must tie
        assert paired_wilcoxon(x / 5, y / 5)["p"] == pytest.approx(ours["p"])


def test_pingouin_default_differs_by_continuity_correction():
    x, y = [0.9, 0.8, 0.7, 0.6, 0.4, 0.3], [0.1, 0.2, 0.3, 0.4, 0.5, 0.6]
    assert paired_wilcoxon(x, y)["p"] < pg.wilcoxon(x, y, method="asymptotic")["p_val"].iloc[0]


def test_hand_worked_with_zero_and_tie():
    # d = [0.3, 0.3, -0.1, 0, 0.2]; "wilcox" drops the zero: |d| ranks 3.5, 3.5, 1, 2 -> R+ = 9, R- = 1
    x, y = [0.5, 0.4, 0.1, 0.2, 0.3], [0.2, 0.1, 0.2, 0.2, 0.1]
    res = paired_wilcoxon(x, y)
    assert (res["n"], res["n_nonzero"], res["statistic"]) == (5, 4, 1.0)
    assert res["rank_biserial"] == pytest.approx((9 - 1) / 10)
    # "pratt" ranks the zero (rank 1) then ignores it: ranks 4.5, 4.5, 2, (1), 3 -> R+ = 12, R- = 2, S = 15
    res = paired_wilcoxon(x, y, zero_method="pratt")
    assert res["statistic"] == 2.0 and res["rank_biserial"] == pytest.approx((12 - 2) / 15)


def test_degenerate_cases():
    tied = paired_wilcoxon([0.2, 0.5, 0.0], [0.2, 0.5, 0.0])
    assert math.isnan(tied["p"]) and tied["note"] == "all differences zero" and tied["n"] == 3
    empty = paired_wilcoxon([], [])
    assert empty["n"] == 0 and empty["note"] == "no pairs"
    one = paired_wilcoxon([0.4], [0.1])  # one participant: z = (1 - 0.5) / 0.5 = 1
    assert one["p"] == pytest.approx(2 * norm.sf(1.0)) and one["rank_biserial"] == 1.0
    with pytest.raises(ValueError, match="zero_method must be one of wilcox, pratt"):
        paired_wilcoxon([1], [0], zero_method="zsplit")


def test_holm_and_bh_hand_worked():
    # Holm: sorted p 0.01, 0.03, 0.04 times 3, 2, 1 -> 0.03, 0.06, 0.04 -> monotone 0.03, 0.06, 0.06
    np.testing.assert_allclose(adjust_pvalues([0.04, 0.01, 0.03]), [0.06, 0.03, 0.06])
    # BH: p * m / rank -> 0.04*3/3 = 0.04, 0.01*3/1 = 0.03, 0.03*3/2 = 0.045 -> step-up min 0.04
    np.testing.assert_allclose(adjust_pvalues([0.04, 0.01, 0.03], "fdr_bh"), [0.04, 0.03, 0.04])
    # not Holm-Sidak (statsmodels' default): 1 - (1 - 0.01)^3 = 0.029701 would differ
    assert adjust_pvalues([0.01, 0.5, 0.9])[0] == pytest.approx(0.03)
    out = adjust_pvalues([np.nan, 0.02, 0.04])  # NaN leaves the family: m = 2
    assert math.isnan(out[0]) and out[1:].tolist() == pytest.approx([0.04, 0.04])
    assert math.isnan(adjust_pvalues([np.nan])[0])
    with pytest.raises(ValueError, match="correction must be one of holm, fdr_bh"):
        adjust_pvalues([0.1], "bonferroni")
