"""Ranking metrics of many groups at once: average precision and top-k hits from one sort of all rows.

A group is one response (or one response's units of a category) scored by one explainer. Rows
carry an integer group id, a score and a 0/1 reference (the participant's selection); each metric
comes out as one array indexed by group id. Everything is a sort of all rows followed by
cumulative sums and ``bincount``s: no Python loop per group. Light: numpy only.

>>> group = np.array([0, 0, 0, 0, 1, 1])
>>> score = np.array([0.1, 0.4, 0.35, 0.8, 1.0, 0.0])
>>> selected = np.array([0, 1, 0, 1, 0, 1])
>>> ap, hits = ranking_metrics(group, score, np.array([0, 1, 2, 3, 0, 1]), selected, np.array([2, 1]), 2)
>>> ap.round(3).tolist(), hits.tolist()
([1.0, 0.5], [2, 0])
"""

from __future__ import annotations

import numpy as np


def _runs(*keys: np.ndarray) -> np.ndarray:
    """Mark the first row of every run of equal ``keys`` (rows already sorted by them)."""
    first = np.zeros(len(keys[0]), dtype=bool)
    first[:1] = True
    for key in keys:
        first[1:] |= key[1:] != key[:-1]
    return first


def _position_in_group(group_sorted: np.ndarray) -> np.ndarray:
    """0, 1, 2, ... within each run of equal group ids (rows sorted by group)."""
    starts = np.flatnonzero(_runs(group_sorted))
    lengths = np.diff(np.r_[starts, len(group_sorted)])
    return np.arange(len(group_sorted)) - np.repeat(starts, lengths)


def _order(group: np.ndarray, score: np.ndarray, index: np.ndarray) -> np.ndarray:
    """Row order by group, then score descending, then index descending.

    One int64 key (group, rank of the score, index) sorts several times faster than
    ``np.lexsort((-index, -score, group))``, which stays the fallback where the key would overflow.
    """
    if not len(group):
        return np.empty(0, dtype=np.int64)
    distinct, rank = np.unique(score, return_inverse=True)
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
        :func:`codeq.token_alignment.top_units` breaks them.
    """
    group, score, index = np.asarray(group), np.asarray(score, dtype=float), np.asarray(index)
    # one sort serves both: average precision ignores the order inside a tie, the top k needs it
    order = _order(group, score, index)
    g, s, y = group[order], score[order], np.asarray(selected, dtype=float)[order]
    position = _position_in_group(g)
    first_of_group = position == 0
    found = np.cumsum(y)
    found -= np.repeat((found - y)[first_of_group], np.diff(np.r_[np.flatnonzero(first_of_group), len(g)]))
    block_start = np.flatnonzero(_runs(g, s))  # a block: the rows of one group sharing one score
    block_end = np.r_[block_start[1:], len(g)] - 1
    block_found = np.add.reduceat(y, block_start) if len(g) else np.empty(0)
    precision_at_end = found[block_end] / (position[block_end] + 1)
    positives = np.bincount(g, weights=y, minlength=n_groups)
    total = np.bincount(g[block_end], weights=block_found * precision_at_end, minlength=n_groups)
    with np.errstate(divide="ignore", invalid="ignore"):
        average_precision = np.where(positives > 0, total / positives, np.nan)
    in_top = position < np.asarray(k)[g]
    hits = np.bincount(g, weights=in_top * y, minlength=n_groups).astype(np.int64)
    return average_precision, hits
