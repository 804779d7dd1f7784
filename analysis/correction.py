"""Multiple-comparison adjustment that leaves untestable (NaN) p-values out of the family."""

from __future__ import annotations

import numpy as np

CORRECTIONS = {"holm": "Holm (1979) step-down", "fdr_bh": "Benjamini-Hochberg (1995) false discovery rate"}


def adjust_pvalues(p, method: str = "holm") -> np.ndarray:
    """Adjust p-values with ``pingouin.multicomp(p, method=method)``.

    pingouin leaves NaN p-values (undefined tests) as NaN and out of the family: they do not count
    towards the number of tests. ``method`` is always named: statsmodels' ``multipletests``
    defaults to Holm-Sidak, not Holm, a different (slightly less conservative) adjustment.

    Examples
    --------
    >>> adjust_pvalues([0.01, 0.04, np.nan, 0.03]).round(2).tolist()
    [0.03, 0.06, nan, 0.06]
    """
    import pingouin as pg  # it imports matplotlib.pyplot and seaborn (seconds): load it on first use

    if method not in CORRECTIONS:
        raise ValueError(f"correction must be one of {', '.join(CORRECTIONS)}, got {method!r}")
    p = np.asarray(p, dtype=float)
    if p.size == 0:
        return p.copy()
    return pg.multicomp(p, method=method)[1].astype(float)
