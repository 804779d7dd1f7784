"""Agreement between a human and a model selection over the same units.

Light (numpy only): the study dashboard and the analysis report call these same functions.
Every statistic is a function of the 2 x 2 table of one response, that is of four counts:
``n`` units, ``n_human`` selected by the human, ``n_model`` selected by the model and ``n_both``
selected by both. The ``*_from_counts`` functions take those counts as arrays (one element per
response, vectorized); the functions taking two 0/1 vectors count and delegate to them.

The human selection is the reference and the model's rationale the prediction: precision is the
share of the model's units the human also chose, recall the share of the human's units the model
also chose.
"""

from __future__ import annotations

import numpy as np

NO_UNITS = "no selectable units"
BOTH_CONSTANT = "both raters constant"
HUMAN_CONSTANT = "human rater constant"
MODEL_CONSTANT = "model rater constant"


def pair_counts(human, model) -> tuple[int, int, int, int]:
    """Count ``(n, n_human, n_model, n_both)`` for two 0/1 selection vectors of equal length."""
    h = _as_binary(human, "human")
    m = _as_binary(model, "model")
    if h.shape != m.shape:
        raise ValueError(f"human and model selections differ in length ({h.size} != {m.size})")
    return h.size, int(h.sum()), int(m.sum()), int((h & m).sum())


def _as_binary(values, name: str) -> np.ndarray:
    a = np.asarray(values)
    if a.ndim != 1:
        raise ValueError(f"{name} selection must be one-dimensional, got shape {a.shape}")
    if a.size and not np.isin(a, (0, 1)).all():
        raise ValueError(f"{name} selection must hold only 0 and 1")
    return a.astype(bool)


def _counts(n, n_human, n_model, n_both):
    """Broadcast counts to float arrays and return the 2 x 2 cells (both, human only, model only, neither)."""
    n, h, m, b = np.broadcast_arrays(*(np.asarray(x, dtype=float) for x in (n, n_human, n_model, n_both)))
    return n, b, h - b, m - b, n - h - m + b


def kappa_from_counts(n, n_human, n_model, n_both) -> tuple[np.ndarray, np.ndarray]:
    """Cohen's kappa per response, with the reason for each undefined or degenerate value.

    Parameters
    ----------
    n, n_human, n_model, n_both : array_like of int
        Units, units selected by the human, by the model, and by both (broadcast together).

    Returns
    -------
    kappa : numpy.ndarray of float
        NaN where kappa is undefined: no units, or both raters constant and equal.
    reason : numpy.ndarray of object
        None where kappa is an ordinary value; otherwise one of ``"no selectable units"``,
        ``"both raters constant"``, ``"human rater constant"``, ``"model rater constant"``.
        With exactly one rater constant kappa is defined and equals 0 (observed agreement equals
        chance agreement); it is returned as 0, as scikit-learn does, and flagged.

    Notes
    -----
    With a = both selected, b = human only, c = model only, d = neither,
    ``kappa = 2 (a d - b c) / ((a + b)(b + d) + (a + c)(c + d))``, the closed 2 x 2 form of
    ``(p_o - p_e) / (1 - p_e)`` (Cohen 1960). Rare selections make kappa low even at high raw
    agreement (the prevalence paradox, Feinstein & Cicchetti 1990): read it beside Gwet's AC1.

    References
    ----------
    Cohen, J. (1960). A coefficient of agreement for nominal scales. Educational and Psychological
    Measurement, 20(1), 37-46. https://doi.org/10.1177/001316446002000104
    """
    kappa = kappa_values(n, n_human, n_model, n_both)
    n, a, b, c, d = _counts(n, n_human, n_model, n_both)
    human_constant = (a + b == 0) | (c + d == 0)
    model_constant = (a + c == 0) | (b + d == 0)
    reason = np.select(  # type: ignore[call-overload]  # numpy's stubs refuse default=None, which numpy takes
        [n == 0, human_constant & model_constant, human_constant, model_constant],
        [NO_UNITS, BOTH_CONSTANT, HUMAN_CONSTANT, MODEL_CONSTANT],
        default=None,
    ).astype(object)
    return kappa, reason


def kappa_values(n, n_human, n_model, n_both) -> np.ndarray:
    """Cohen's kappa per response, as :func:`kappa_from_counts` gives it, without the reasons.

    For the millions of kappas of a permutation test, where building the reason array would cost
    more than the kappas themselves.
    """
    _, a, b, c, d = _counts(n, n_human, n_model, n_both)
    den = (a + b) * (b + d) + (a + c) * (c + d)
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.where(den > 0, 2 * (a * d - b * c) / den, np.nan)


def ac1_from_counts(n, n_human, n_model, n_both) -> np.ndarray:
    """Gwet's AC1 per response; NaN only where there are no units.

    Notes
    -----
    For two raters and two categories, ``p_o = (a + d) / n``, the mean selection prevalence is
    ``pi = (2a + b + c) / (2n)`` and chance agreement ``p_e = 2 pi (1 - pi)`` (at most 1/2, so
    AC1 is defined whenever ``n > 0``); ``AC1 = (p_o - p_e) / (1 - p_e)``.

    References
    ----------
    Gwet, K. L. (2008). Computing inter-rater reliability and its variance in the presence of high
    agreement. British Journal of Mathematical and Statistical Psychology, 61(1), 29-48.
    https://doi.org/10.1348/000711006X126600
    """
    n, a, b, c, d = _counts(n, n_human, n_model, n_both)
    with np.errstate(divide="ignore", invalid="ignore"):
        p_o = (a + d) / n
        pi = (2 * a + b + c) / (2 * n)
        p_e = 2 * pi * (1 - pi)
        return (p_o - p_e) / (1 - p_e)


def overlap_from_counts(n_human, n_model, n_both) -> dict[str, np.ndarray]:
    """Precision, recall, F1 and Jaccard (IoU) per response, the human selection as reference.

    Returns
    -------
    dict of numpy.ndarray
        ``precision = both / model``, ``recall = both / human``, ``f1 = 2 both / (human + model)``,
        ``jaccard = both / (human + model - both)``; NaN where the denominator is 0 (no zero_division
        convention is imposed: an empty selection has no precision).
    """
    _, a, b, c, _ = _counts(0, n_human, n_model, n_both)
    with np.errstate(divide="ignore", invalid="ignore"):
        return {
            "precision": a / (a + c),
            "recall": a / (a + b),
            "f1": 2 * a / (2 * a + b + c),
            "jaccard": a / (a + b + c),
        }


def cohen_kappa(human, model) -> tuple[float, str | None]:
    """Cohen's kappa between two 0/1 selection vectors, and why it is undefined or degenerate.

    Returns ``(value, reason)``; see :func:`kappa_from_counts` for the values of ``reason``.

    Examples
    --------
    >>> cohen_kappa([1, 1, 0, 0], [1, 0, 0, 0])
    (0.5, None)
    >>> cohen_kappa([0, 0, 0], [0, 0, 0])
    (nan, 'both raters constant')
    """
    kappa, reason = kappa_from_counts(*pair_counts(human, model))
    return float(kappa), reason.item()


def gwet_ac1(human, model) -> float:
    """Gwet's AC1 between two 0/1 selection vectors (NaN when they are empty)."""
    return float(ac1_from_counts(*pair_counts(human, model)))


def _overlap(human, model, name: str) -> float:
    return float(overlap_from_counts(*pair_counts(human, model)[1:])[name])


def precision(human, model) -> float:
    """Share of the model's selected units that the human also selected (NaN if the model chose none)."""
    return _overlap(human, model, "precision")


def recall(human, model) -> float:
    """Share of the human's selected units that the model also selected (NaN if the human chose none)."""
    return _overlap(human, model, "recall")


def f1(human, model) -> float:
    """Harmonic mean of precision and recall, ``2 |H & M| / (|H| + |M|)`` (NaN if both are empty)."""
    return _overlap(human, model, "f1")


def jaccard(human, model) -> float:
    """Intersection over union of the two selections (NaN if both are empty)."""
    return _overlap(human, model, "jaccard")
