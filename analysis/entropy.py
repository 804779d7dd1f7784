"""Shannon entropy of rationale distributions at token level vs category level: the one definition."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
from scipy.stats import entropy as scipy_entropy


def normalized_entropy(counts, k: int | None = None) -> float:
    """Shannon entropy of ``counts / counts.sum()`` divided by ``log(k)``.

    Parameters
    ----------
    counts : array_like of float
        How often each outcome occurred (zeros allowed).
    k : int or None
        The normalisation: the number of outcomes that *could* occur ("available" support, e.g. the
        distinct unit texts among the selectable units), so 1 means spread evenly over everything
        possible; or None for the number of outcomes *observed* (nonzero counts), so 1 means
        uniform over what occurred. The available support compares humans and model on one scale;
        the observed support needs no knowledge of what was possible (a corpus of rationales alone).

    Returns
    -------
    float
        ``scipy.stats.entropy(counts) / log(k)``; NaN when nothing was counted or ``k < 2`` (one
        possible or observed outcome: 0 / 0, no uncertainty to normalise).

    Examples
    --------
    >>> normalized_entropy([1, 1, 1, 1], 4), normalized_entropy([5, 0], 2), normalized_entropy([2, 2, 0])
    (1.0, 0.0, 1.0)
    >>> round(normalized_entropy([2, 2, 0], 4), 3)
    0.5
    """
    counts = np.asarray(counts, dtype=float)
    k = int(np.count_nonzero(counts)) if k is None else k
    if counts.sum() == 0 or k < 2:
        return float("nan")
    return float(scipy_entropy(counts) / math.log(k) + 0.0)


def entropy_bits(counts) -> float:
    """Plain Shannon entropy in bits (``scipy.stats.entropy(counts, base=2)``); NaN when nothing was counted.

    Examples
    --------
    >>> entropy_bits([1, 1, 1, 1]), entropy_bits([3, 0])
    (2.0, 0.0)
    """
    counts = np.asarray(counts, dtype=float)
    return float(scipy_entropy(counts, base=2) + 0.0) if counts.sum() > 0 else float("nan")


def reduction(token: float, category: float) -> float:
    """Relative entropy reduction ``(token - category) / token`` from token to category level; NaN if token <= 0."""
    return (token - category) / token if token > 0 else float("nan")


def rationale_entropy(data: pd.DataFrame) -> pd.DataFrame:
    """Entropy of where humans and the model put their rationales, by token type and by category.

    Parameters
    ----------
    data : pandas.DataFrame
        Long format from :func:`analysis.response_units`: ``task_id, unit_index, text, category,
        selected, in_rationale``.

    Returns
    -------
    pandas.DataFrame
        Rows ``rater = "human"`` and ``"model"``, with ``n_selected`` (selected units counted),
        ``k_token`` and ``k_category`` (distinct unit texts and categories among the selectable
        units of the tasks analysed), ``h_token`` and ``h_category`` (normalized entropies),
        and ``reduction = (h_token - h_category) / h_token``.

    Notes
    -----
    The token-level distribution is that of the selected units over token types, a type being
    the unit's text (so every ``self`` is one type); the category-level distribution is that of
    the same units over their categories. Each entropy is :func:`normalized_entropy` with the
    *available* support ``k``: the distinct types (categories) among the selectable units, the
    same k for humans and model, so 1 means selections spread evenly over everything that could
    be selected and 0 means one type only. Human selections are pooled over all responses; the
    model's rationale is counted once per task.
    """
    units = data.dropna(subset=["unit_index"])
    k_token, k_category = units["text"].nunique(), units["category"].nunique()
    model = units.drop_duplicates(["task_id", "unit_index"])
    rows = []
    for rater, frame, column in (("human", units, "selected"), ("model", model, "in_rationale")):
        chosen = frame[frame[column] == 1]
        h_token = normalized_entropy(chosen["text"].value_counts().to_numpy(), k_token)
        h_category = normalized_entropy(chosen["category"].value_counts().to_numpy(), k_category)
        rows.append(
            {
                "rater": rater,
                "n_selected": len(chosen),
                "k_token": k_token,
                "k_category": k_category,
                "h_token": h_token,
                "h_category": h_category,
                "reduction": reduction(h_token, h_category),
            }
        )
    return pd.DataFrame(rows)
