"""Ranking metrics of many groups at once: average precision and top-k hits from one sort of all rows.

A group is one response (or one response's units of a category) scored by one explainer. Rows
carry an integer group id, a score and a 0/1 reference (the participant's selection); each metric
comes out as one array indexed by group id. Everything is a sort of all rows followed by
cumulative sums and ``bincount``s: no Python loop per group. Light: numpy and pandas.

>>> group = np.array([0, 0, 0, 0, 1, 1])
>>> score = np.array([0.1, 0.4, 0.35, 0.8, 1.0, 0.0])
>>> selected = np.array([0, 1, 0, 1, 0, 1])
>>> ap, hits = ranking_metrics(group, score, np.array([0, 1, 2, 3, 0, 1]), selected, np.array([2, 1]), 2)
>>> ap.round(3).tolist(), hits.tolist()
([1.0, 0.5], [2, 0])
"""

from __future__ import annotations

import numpy as np
import pandas as pd


def _order(group: np.ndarray, score: np.ndarray, index: np.ndarray) -> np.ndarray:
    """Row order by group, then score descending, then index descending.

    One int64 key (group, rank of the score, index) sorts several times faster than
    ``np.lexsort((-index, -score, group))``, which stays the fallback where the key would overflow.
    """
    if not len(group):
        return np.empty(0, dtype=np.int64)
    # the dense rank of np.unique(score, return_inverse=True), from a hash of the rows and a sort of the distinct scores
    codes, distinct = pd.factorize(score, use_na_sentinel=False)
    rank = np.argsort(np.argsort(distinct, kind="stable"), kind="stable")[codes]
    n_scores, n_index = len(distinct), int(index.max()) + 1
    if index.min() < 0 or (int(group.max()) + 1) * n_scores * n_index >= 2**62:
        return np.lexsort((-index, -score, group))
    key = (group.astype(np.int64) * n_scores + (n_scores - 1 - rank)) * n_index + (n_index - 1 - index)
    return np.argsort(key)


def ranking_metrics(group, score, index, selected, k, n_groups: int) -> tuple[np.ndarray, np.ndarray]:
    """Average precision of ``score`` against ``selected``, and the hits among the top ``k``, per group.

    Parameters
    ----------
    group : array_like of int, shape (n,)
        Group id of each row, in ``range(n_groups)``.
    score, index, selected : array_like, shape (n,)
        The ranking score, the unit index (breaks ties in the top k) and the 0/1 reference.
    k : array_like of int, shape (n_groups,)
        How many rows each group's top holds.
    n_groups : int
        Number of groups (the length of the results).

    Returns
    -------
    average_precision : numpy.ndarray of float, shape (n_groups,)
        ``AP = sum_t (R_t - R_{t-1}) P_t`` over the distinct scores ``t`` of the group, highest
        first, where ``P_t`` and ``R_t`` are precision and recall of the rows scoring at least
        ``t`` (tied rows share a threshold, as in ``sklearn.metrics.average_precision_score``).
        NaN for a group without a positive (no recall) or without rows.
    hits : numpy.ndarray of int, shape (n_groups,)
        Selected rows among the group's ``k[group]`` highest-scoring ones; ties in score go to the
        row with the higher ``index`` (the unit nearer the target), as
        :func:`contract.token_alignment.top_units` breaks them.
    """
    group, score, index = np.asarray(group), np.asarray(score, dtype=float), np.asarray(index)
    y = np.asarray(selected).astype(np.int64)
    # one sort serves both: average precision ignores the order inside a tie, the top k needs it
    order = _order(group, score, index)
    g, s = group[order], score[order]
    sizes = np.bincount(group, minlength=n_groups)
    starts = np.cumsum(sizes) - sizes  # where each group's rows begin in the sorted order
    found_before = np.r_[0, np.cumsum(y[order])]  # found_before[i]: selected rows among the first i
    position = np.arange(len(g)) - starts[g]
    found = found_before[1:] - found_before[starts][g]  # selected rows of the group ranked at or above the row
    # a block: the rows of one group sharing one score; its end is the threshold where they all count
    block_end = np.flatnonzero(np.r_[(g[1:] != g[:-1]) | (s[1:] != s[:-1]), True]) if len(g) else np.empty(0, int)
    block_found = np.diff(np.r_[0, found_before[block_end + 1]])
    precision_at_end = found[block_end] / (position[block_end] + 1)
    positives = found_before[starts + sizes] - found_before[starts]
    total = np.bincount(g[block_end], weights=block_found * precision_at_end, minlength=n_groups)
    with np.errstate(divide="ignore", invalid="ignore"):
        average_precision = np.where(positives > 0, total / positives, np.nan)
    top = np.minimum(np.asarray(k, dtype=np.int64), sizes)
    hits = found_before[starts + top] - found_before[starts]
    return average_precision, hits
