"""Wilcoxon signed-rank against scipy's defaults, the normal-approximation formula and hand work;
p-value adjustment against statsmodels."""

import math

import numpy as np
import pytest
from scipy.stats import norm, rankdata, wilcoxon
from statsmodels.stats.multitest import multipletests

from analysis import adjust_pvalues, paired_wilcoxon
from analysis.wilcoxon import wilcoxon_method


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
    var = n * (n + 1) * (2 * n + 1) / 24 - (ties**3 - ties).sum() / 48
    return 2 * norm.sf(abs(t_plus - n * (n + 1) / 4) / math.sqrt(var))


def _cases():
    """Continuous (no ties), coarse integers (ties and zeros) and one-sided samples, n from 1 to 70
    (scipy's own permutation test is slow: the sizes up to 13 are a sample)."""
    rng = np.random.default_rng(11)
    for n in (1, 2, 3, 5, 8, 12, 13, 14, 20, 25, 49, 50, 51, 70):
        yield rng.normal(0.3, 1, n), rng.normal(0, 1, n)
        yield rng.integers(0, 6, n).astype(float), rng.integers(0, 6, n).astype(float)
        yield rng.integers(0, 3, n).astype(float) + 1, np.zeros(n)  # one side, many ties
        yield rng.random(n) + 0.1, np.zeros(n)  # all on one side, no ties


def test_equals_scipy_defaults_in_every_case():
    methods = set()
    for x, y in _cases():
        ours = paired_wilcoxon(x, y)
        if ours["n_nonzero"] == 0:
            continue  # scipy warns and returns NaN; covered in test_degenerate_cases
        theirs = wilcoxon(x, y)  # scipy's defaults: zero_method="wilcox", correction=False, method="auto"
        assert ours["p"] == pytest.approx(theirs.pvalue, rel=1e-9), (x, y)
        assert ours["statistic"] == theirs.statistic
        methods.add(ours["method"])
        pratt = paired_wilcoxon(x, y, zero_method="pratt")
        assert pratt["p"] == pytest.approx(wilcoxon(x, y, zero_method="pratt").pvalue, rel=1e-9)
    assert methods == {"exact", "permutation", "asymptotic"}


def test_small_one_sided_sample_is_exact():
    # 25 participants all on one side: the normal approximation says 1.2e-5, the exact test 2 / 2**25
    res = paired_wilcoxon(np.arange(1, 26) / 100 + 0.3, np.full(25, 0.3))
    assert (
        res["method"] == "exact"
        and res["p"] == pytest.approx(2 / 2**25)
        and res["p"] == pytest.approx(5.96e-8, rel=1e-3)
    )
    assert _normal_approximation(np.arange(1, 26)) == pytest.approx(1.2e-5, rel=0.05)


def test_asymptotic_with_ties_equals_the_textbook_formula():
    rng = np.random.default_rng(1)
    for _ in range(20):
        x, y = rng.integers(0, 6, 25).astype(float), rng.integers(0, 6, 25).astype(float)
        ours = paired_wilcoxon(x, y)
        assert ours["method"] == "asymptotic" and ours["p"] == pytest.approx(_normal_approximation(x - y))
        # the same rates as fractions: 0.6 - 0.4 != 0.8 - 0.6 in floating point, yet they must tie
        assert paired_wilcoxon(x / 5, y / 5)["p"] == pytest.approx(ours["p"])
        d = (x - y)[x != y]
        r = rankdata(np.abs(d))
        assert ours["rank_biserial"] == pytest.approx((r[d > 0].sum() - r[d < 0].sum()) / r.sum())
        cles = np.mean([(a > b) + 0.5 * (a == b) for a in x for b in y])
        assert ours["cles"] == pytest.approx(cles)


def test_method_rule():
    assert wilcoxon_method(np.arange(1, 51)) == "exact" and wilcoxon_method(np.arange(1, 52)) == "asymptotic"
    assert wilcoxon_method([1, 2, 0]) == "permutation" and wilcoxon_method([1, 1] + list(range(2, 14))) == "asymptotic"


def test_hand_worked_with_zero_and_tie():
    # d = [0.3, 0.3, -0.1, 0, 0.2]; "wilcox" drops the zero: |d| ranks 3.5, 3.5, 1, 2 -> R+ = 9, R- = 1
    x, y = [0.5, 0.4, 0.1, 0.2, 0.3], [0.2, 0.1, 0.2, 0.2, 0.1]
    res = paired_wilcoxon(x, y)
    assert (res["n"], res["n_nonzero"], res["statistic"], res["method"]) == (5, 4, 1.0, "permutation")
    assert res["rank_biserial"] == pytest.approx((9 - 1) / 10)
    # 2**5 sign flips of (0.3, 0.3, -0.1, 0, 0.2) with ranks 3.5, 3.5, 1, (0), 2: R+ <= 1 or >= 9 in 4 of 32
    # (the zero's sign does not matter: each pattern counted twice), so p = 2 * (2 / 16) = 0.25
    assert res["p"] == pytest.approx(0.25)
    # "pratt" ranks the zero (rank 1) then ignores it: ranks 4.5, 4.5, 2, (1), 3 -> R+ = 12, R- = 2, S = 15
    res = paired_wilcoxon(x, y, zero_method="pratt")
    assert res["statistic"] == 2.0 and res["rank_biserial"] == pytest.approx((12 - 2) / 15)


def test_degenerate_cases():
    tied = paired_wilcoxon([0.2, 0.5, 0.0], [0.2, 0.5, 0.0])
    assert math.isnan(tied["p"]) and tied["note"] == "all differences zero" and tied["n"] == 3
    assert tied["method"] is None
    empty = paired_wilcoxon([], [])
    assert empty["n"] == 0 and empty["note"] == "no pairs"
    one = paired_wilcoxon([0.4], [0.1])  # one participant: exact, both sign patterns as extreme: p = 1
    assert one["p"] == 1.0 and one["method"] == "exact" and one["rank_biserial"] == 1.0
    nan_pair = paired_wilcoxon([0.4, np.nan, 0.3], [0.1, 0.2, np.nan])
    assert nan_pair["n"] == 1 and nan_pair["cles"] == 1.0
    with pytest.raises(ValueError, match="zero_method must be one of wilcox, pratt"):
        paired_wilcoxon([1], [0], zero_method="zsplit")


def test_holm_and_bh_hand_worked_and_against_statsmodels():
    # Holm: sorted p 0.01, 0.03, 0.04 times 3, 2, 1 -> 0.03, 0.06, 0.04 -> monotone 0.03, 0.06, 0.06
    np.testing.assert_allclose(adjust_pvalues([0.04, 0.01, 0.03]), [0.06, 0.03, 0.06])
    # BH: p * m / rank -> 0.04*3/3 = 0.04, 0.01*3/1 = 0.03, 0.03*3/2 = 0.045 -> step-up min 0.04
    np.testing.assert_allclose(adjust_pvalues([0.04, 0.01, 0.03], "fdr_bh"), [0.04, 0.03, 0.04])
    # not Holm-Sidak (statsmodels' default): 1 - (1 - 0.01)^3 = 0.029701 would differ
    assert adjust_pvalues([0.01, 0.5, 0.9])[0] == pytest.approx(0.03)
    p = np.random.default_rng(2).random(12) ** 3
    for method in ("holm", "fdr_bh"):
        np.testing.assert_allclose(adjust_pvalues(p, method), multipletests(p, method=method)[1])
    out = adjust_pvalues([np.nan, 0.02, 0.04])  # NaN leaves the family: m = 2
    assert math.isnan(out[0]) and out[1:].tolist() == pytest.approx([0.04, 0.04])
    assert math.isnan(adjust_pvalues([np.nan])[0]) and adjust_pvalues([]).size == 0
    with pytest.raises(ValueError, match="correction must be one of holm, fdr_bh"):
        adjust_pvalues([0.1], "bonferroni")
