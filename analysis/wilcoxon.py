"""Paired Wilcoxon signed-rank test with standard p-values, the rank-biserial r and the CLES (pingouin)."""

from __future__ import annotations

import numpy as np
from scipy.stats import permutation_test, rankdata

ZERO_METHODS = ("wilcox", "pratt")
METHODS = {
    "exact": "exact null distribution of the signed-rank statistic (no ties, no zeros)",
    "permutation": "exact sign-flip permutation distribution (ties or zeros, at most 13 pairs)",
    "asymptotic": "normal approximation with the variance corrected for ties (and zeros), no continuity correction",
}
EXACT_MAX_N = 50  # scipy's "auto": exact up to 50 pairs ...
PERMUTATION_MAX_N = 13  # ... and with ties or zeros, all 2**n sign flips up to 13 (2**13 < 9999 resamples)
DECIMALS = 12  # rates are ratios of small counts: round differences so equal rates tie exactly


def wilcoxon_method(d) -> str:
    """Which p-value ``scipy.stats.wilcoxon`` (scipy >= 1.13, ``method="auto"``) uses for differences ``d``.

    ``"asymptotic"`` above 50 pairs (zeros counted); below, ``"exact"`` without ties or zeros,
    ``"permutation"`` (exact conditional on the ties) with ties or zeros and at most 13 pairs,
    ``"asymptotic"`` otherwise. The rule is pinned here rather than left to scipy's ``"auto"``,
    whose choice has changed between versions; the ``method`` column reports it.

    Examples
    --------
    >>> wilcoxon_method([1, -2, 3]), wilcoxon_method([1, -1, 3]), wilcoxon_method([1, 0] * 10)
    ('exact', 'permutation', 'asymptotic')
    """
    d = np.asarray(d, dtype=float)
    if d.size > EXACT_MAX_N:
        return "asymptotic"
    nonzero = np.abs(d[d != 0])
    if nonzero.size == d.size and np.unique(nonzero).size == nonzero.size:
        return "exact"
    return "permutation" if d.size <= PERMUTATION_MAX_N else "asymptotic"


def paired_wilcoxon(x, y, zero_method: str = "wilcox") -> dict:
    """Two-sided Wilcoxon signed-rank test of ``x - y``, the matched-pairs rank-biserial r and the CLES.

    Parameters
    ----------
    x, y : array_like of float
        Paired observations (here: a participant's human and model selection rates); pairs with a
        NaN are dropped.
    zero_method : {"wilcox", "pratt"}
        ``"wilcox"`` drops zero differences before ranking (Wilcoxon 1945, scipy's default);
        ``"pratt"`` ranks them and then ignores their ranks (Pratt 1959).

    Returns
    -------
    dict
        ``n`` (pairs), ``n_nonzero``, ``statistic`` (scipy's two-sided ``min(R+, R-)``), ``p``,
        ``method`` (see :func:`wilcoxon_method`), ``rank_biserial``, ``cles`` and ``note`` (why the
        test is undefined, else None).

    Notes
    -----
    ``pingouin.wilcoxon(d, zero_method=zero_method, correction=False, method=method)``, which runs
    ``scipy.stats.wilcoxon``, with the method of :func:`wilcoxon_method`: for ``zero_method="wilcox"``
    the result equals ``scipy.stats.wilcoxon(x, y)`` with scipy's defaults (R's ``wilcox.test``
    likewise gives the exact p-value for small samples without ties). pingouin's own default would
    add a continuity correction.

    The rank-biserial correlation is Kerby's simple difference formula ``r = (R+ - R-) / S``
    (pingouin's RBC, zeros dropped); under Pratt, S also counts the zero differences' ranks, which
    pingouin does not do, so that one case is computed here. r > 0 means ``x`` tends to exceed
    ``y``. ``cles`` is pingouin's common-language effect size (Vargha & Delaney 2000): the share of
    all (x_i, y_j) pairs with x_i > y_j, ties counting one half. With no nonzero difference the test
    is undefined: NaN and a note.

    References
    ----------
    Kerby, D. S. (2014). The simple difference formula: an approach to teaching nonparametric
    correlation. Comprehensive Psychology, 3. https://doi.org/10.2466/11.IT.3.1
    Pratt, J. W. (1959). Remarks on zeros and ties in the Wilcoxon signed rank procedures. JASA,
    54(287), 655-667. https://doi.org/10.1080/01621459.1959.10501526

    Examples
    --------
    >>> res = paired_wilcoxon([0.5, 0.4, 0.3, 0.2], [0.1, 0.1, 0.1, 0.3])
    >>> res["n"], res["statistic"], res["p"], res["method"], round(res["rank_biserial"], 3)
    (4, 1.0, 0.25, 'exact', 0.8)
    """
    import pingouin as pg  # it imports matplotlib.pyplot and seaborn (seconds): load it on first use

    if zero_method not in ZERO_METHODS:
        raise ValueError(f"zero_method must be one of {', '.join(ZERO_METHODS)}, got {zero_method!r}")
    x, y = np.asarray(x, dtype=float), np.asarray(y, dtype=float)
    keep = ~(np.isnan(x) | np.isnan(y))
    x, y = x[keep], y[keep]
    d = np.round(x - y, DECIMALS)
    n_nonzero = int(np.count_nonzero(d))
    result: dict[str, object] = {
        "n": int(d.size),
        "n_nonzero": n_nonzero,
        "statistic": np.nan,
        "p": np.nan,
        "method": None,
        "rank_biserial": np.nan,
        "cles": np.nan,
        "note": None,
    }
    if n_nonzero == 0:
        result["note"] = "all differences zero" if d.size else "no pairs"
        return result
    method = wilcoxon_method(d)
    test = pg.wilcoxon(
        d, zero_method=zero_method, correction=False, method="asymptotic" if method == "permutation" else method
    )
    p = sign_flip_p(d, zero_method) if method == "permutation" else test["p_val"].iloc[0]
    rbc = test["RBC"].iloc[0]
    if zero_method == "pratt":
        ranks = rankdata(np.abs(d))
        rbc = (ranks[d > 0].sum() - ranks[d < 0].sum()) / ranks.sum()
    result.update(
        statistic=float(test["W_val"].iloc[0]),
        p=float(p),
        method=method,
        rank_biserial=float(rbc),
        cles=float(pg.compute_effsize(x, y, paired=True, eftype="CLES")),
    )
    return result


def sign_flip_p(d, zero_method: str = "wilcox") -> float:
    """Two-sided p-value of R+ over all ``2**n`` sign flips of ``d`` (``scipy.stats.permutation_test``).

    The same null distribution and p-value as ``scipy.stats.wilcoxon(d, method=PermutationMethod())``,
    which scipy's ``"auto"`` picks for up to 13 pairs with ties or zeros; here the statistic is
    vectorized (the ranks of ``|d|`` do not change under sign flips), which makes it ~100 times faster.
    """
    d = np.asarray(d, dtype=float)
    ranks = rankdata(np.abs(d))  # Pratt: zeros take part in the ranking (and never count in R+)
    if zero_method == "wilcox":  # Wilcoxon: zeros are dropped before ranking
        ranks[d != 0] = rankdata(np.abs(d[d != 0]))

    def r_plus(sample, axis=-1):
        return np.sum((sample > 0) * ranks, axis=axis)

    return float(
        permutation_test(
            (d,),
            r_plus,
            permutation_type="samples",
            vectorized=True,
            n_resamples=2**PERMUTATION_MAX_N,
            alternative="two-sided",
        ).pvalue
    )
