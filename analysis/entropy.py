"""Normalized Shannon entropy of rationale distributions at token level vs category level."""

from __future__ import annotations

import numpy as np
import pandas as pd


def normalized_entropy(counts, k: int) -> float:
    """Shannon entropy of ``counts / counts.sum()`` divided by ``log(k)``, k the number of possible outcomes.

    NaN when nothing was counted or ``k < 2`` (a single outcome carries no uncertainty to normalize).

    Examples
    --------
    >>> normalized_entropy([1, 1, 1, 1], 4), normalized_entropy([5, 0], 2)
    (1.0, 0.0)
    """
    counts = np.asarray(counts, dtype=float)
    total = counts.sum()
    if total == 0 or k < 2:
        return float("nan")
    p = counts[counts > 0] / total
    return float(-(p * np.log(p)).sum() / np.log(k) + 0.0)


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
    the same units over their categories. Each entropy ``H = -sum p log p`` is divided by
    ``log k``, k the number of distinct types (categories) *available* in the selectable units,
    the same k for humans and model, so 1 means selections spread evenly over everything that
    could be selected and 0 means one type only. The reduction says how much of the token-level
    spread the category abstraction removes. Human selections are pooled over all responses;
    the model's rationale is counted once per task.
    """
    units = data.dropna(subset=["unit_index"])
    k_token, k_category = units["text"].nunique(), units["category"].nunique()
    model = units.drop_duplicates(["task_id", "unit_index"])
    rows = []
    for rater, frame, column in (("human", units, "selected"), ("model", model, "in_rationale")):
        chosen = frame[frame[column] == 1]
        h_token = normalized_entropy(chosen["text"].value_counts().to_numpy(), k_token)
        h_category = normalized_entropy(chosen["category"].value_counts().to_numpy(), k_category)
        rows.append({"rater": rater, "n_selected": len(chosen), "k_token": k_token, "k_category": k_category,
                     "h_token": h_token, "h_category": h_category,
                     "reduction": (h_token - h_category) / h_token if h_token > 0 else np.nan})
    return pd.DataFrame(rows)
