"""Paired Wilcoxon signed-rank test with a pinned method and the matched-pairs rank-biserial r."""

from __future__ import annotations

import numpy as np
from scipy.stats import rankdata, wilcoxon

ZERO_METHODS = ("wilcox", "pratt")
METHOD = "asymptotic"  # pinned: scipy's "auto" picks exact/permutation/normal by version, n and ties
DECIMALS = 12  # rates are ratios of small counts: round differences so equal rates tie exactly


def paired_wilcoxon(x, y, zero_method: str = "wilcox") -> dict:
    """Two-sided Wilcoxon signed-rank test of ``x - y`` and the matched-pairs rank-biserial correlation.

    Parameters
    ----------
    x, y : array_like of float
        Paired observations (here: a participant's human and model selection rates); pairs with a
        NaN are dropped.
    zero_method : {"wilcox", "pratt"}
        ``"wilcox"`` drops zero differences before ranking (Wilcoxon 1945); ``"pratt"`` ranks them
        and then ignores their ranks (Pratt 1959).

    Returns
    -------
    dict
        ``n`` (pairs), ``n_nonzero``, ``statistic`` (scipy's two-sided ``min(R+, R-)``), ``p``,
        ``rank_biserial`` and ``note`` (why the test is undefined, else None).

    Notes
    -----
    ``scipy.stats.wilcoxon(d, zero_method=zero_method, correction=False, method="asymptotic")``:
    normal approximation with the variance corrected for ties (and for zeros under Pratt), no
    continuity correction, whatever the scipy version would pick for ``method="auto"``. This
    differs from ``pingouin.wilcoxon``, which adds a continuity correction unless told not to.

    The rank-biserial correlation is Kerby's simple difference formula
    ``r = (R+ - R-) / S``, with S the sum of the ranks the test used (under Pratt the zero
    differences' ranks count in S, pulling r towards 0; pingouin always drops them). r > 0 means
    ``x`` tends to exceed ``y``. With no nonzero difference the test is undefined: NaN and a note.

    References
    ----------
    Kerby, D. S. (2014). The simple difference formula: an approach to teaching nonparametric
    correlation. Comprehensive Psychology, 3. https://doi.org/10.2466/11.IT.3.1
    Pratt, J. W. (1959). Remarks on zeros and ties in the Wilcoxon signed rank procedures. JASA,
    54(287), 655-667. https://doi.org/10.1080/01621459.1959.10501526

    Examples
    --------
    >>> res = paired_wilcoxon([0.5, 0.4, 0.3, 0.2], [0.1, 0.1, 0.1, 0.3])
    >>> res["n"], res["statistic"], round(res["rank_biserial"], 3)
    (4, 1.0, 0.8)
    """
    if zero_method not in ZERO_METHODS:
        raise ValueError(f"zero_method must be one of {', '.join(ZERO_METHODS)}, got {zero_method!r}")
    d = np.round(np.asarray(x, dtype=float) - np.asarray(y, dtype=float), DECIMALS)
    d = d[~np.isnan(d)]
    n_nonzero = int(np.count_nonzero(d))
    result = {"n": int(d.size), "n_nonzero": n_nonzero, "statistic": np.nan, "p": np.nan,
              "rank_biserial": np.nan, "note": None}
    if n_nonzero == 0:
        result["note"] = "all differences zero" if d.size else "no pairs"
        return result
    test = wilcoxon(d, zero_method=zero_method, correction=False, method=METHOD)
    ranked = d if zero_method == "pratt" else d[d != 0]
    ranks = rankdata(np.abs(ranked))
    r_plus, r_minus = ranks[ranked > 0].sum(), ranks[ranked < 0].sum()
    result.update(statistic=float(test.statistic), p=float(test.pvalue),
                  rank_biserial=float((r_plus - r_minus) / ranks.sum()))
    return result
