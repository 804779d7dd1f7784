"""Multiple-comparison adjustment that leaves untestable (NaN) p-values out of the family."""

from __future__ import annotations

import numpy as np
from statsmodels.stats.multitest import multipletests

CORRECTIONS = {"holm": "Holm (1979) step-down", "fdr_bh": "Benjamini-Hochberg (1995) false discovery rate"}


def adjust_pvalues(p, method: str = "holm") -> np.ndarray:
    """Adjust p-values with statsmodels' ``multipletests(p, method=method)``.

    ``method`` is passed explicitly: statsmodels' default ``"hs"`` is Holm-Sidak, not Holm.
    NaN p-values (undefined tests) stay NaN and do not count towards the number of tests.

    Examples
    --------
    >>> adjust_pvalues([0.01, 0.04, np.nan, 0.03]).round(2).tolist()
    [0.03, 0.06, nan, 0.06]
    """
    if method not in CORRECTIONS:
        raise ValueError(f"correction must be one of {', '.join(CORRECTIONS)}, got {method!r}")
    p = np.asarray(p, dtype=float)
    out = np.full(p.shape, np.nan)
    ok = ~np.isnan(p)
    if ok.any():
        out[ok] = multipletests(p[ok], method=method)[1]
    return out
