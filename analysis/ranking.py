"""Ranking metrics of many groups at once: average precision and top-k hits, one sort for all groups.

A group is one response (or one response's units of a category) scored by one explainer. Rows
carry an integer group id, a score and a 0/1 reference (the participant's selection); each metric
comes out as one array indexed by group id. Everything is a sort of all rows followed by
cumulative sums and ``bincount``s: no Python loop per group. Light: numpy only.

>>> group = np.array([0, 0, 0, 0, 1, 1])
>>> score = np.array([0.1, 0.4, 0.35, 0.8, 1.0, 0.0])
>>> selected = np.array([0, 1, 0, 1, 0, 1])
>>> average_precision(group, score, selected, 2).round(3).tolist()
[1.0, 0.5]
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


def average_precision(group, score, selected, n_groups: int) -> np.ndarray:
    """Average precision of ``score`` against ``selected`` per group (scikit-learn's definition).

    Parameters
    ----------
    group : array_like of int, shape (n,)
        Group id of each row, in ``range(n_groups)``.
    score, selected : array_like, shape (n,)
        The ranking score and the 0/1 reference.
    n_groups : int
        Number of groups (the length of the result).

    Returns
    -------
    numpy.ndarray of float, shape (n_groups,)
        ``AP = sum_t (R_t - R_{t-1}) P_t`` over the distinct scores ``t`` of the group, highest
        first, where ``P_t`` and ``R_t`` are precision and recall of the rows scoring at least
        ``t`` (tied rows share a threshold, as in ``sklearn.metrics.average_precision_score``).
        NaN for a group without a positive (no recall) or without rows.
    """
    group, score, selected = np.asarray(group), np.asarray(score, dtype=float), np.asarray(selected, dtype=float)
    order = np.lexsort((-score, group))
    g, s, y = group[order], score[order], selected[order]
    position = _position_in_group(g)
    first_of_group = position == 0
    hits = np.cumsum(y)
    hits -= np.repeat((hits - y)[first_of_group], np.diff(np.r_[np.flatnonzero(first_of_group), len(g)]))
    block_start = np.flatnonzero(_runs(g, s))  # a block: the rows of one group sharing one score
    block_end = np.r_[block_start[1:], len(g)] - 1
    block_hits = np.add.reduceat(y, block_start) if len(g) else np.empty(0)
    precision_at_end = hits[block_end] / (position[block_end] + 1)
    positives = np.bincount(g, weights=y, minlength=n_groups)
    total = np.bincount(g[block_end], weights=block_hits * precision_at_end, minlength=n_groups)
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.where(positives > 0, total / positives, np.nan)


def top_k_hits(group, score, index, selected, k, n_groups: int) -> np.ndarray:
    """Per group, how many of its ``k[group]`` highest-scoring rows are selected.

    Ties in score go to the row with the higher ``index`` (the unit nearer the target), as
    :func:`codeq.token_alignment.top_units` breaks them.

    Parameters
    ----------
    group, score, index, selected : array_like, shape (n,)
        Group id, score, unit index and 0/1 reference of each row.
    k : array_like of int, shape (n_groups,)
        How many rows each group's top holds.
    n_groups : int
        Number of groups.

    Returns
    -------
    numpy.ndarray of int, shape (n_groups,)
    """
    group, score, index = np.asarray(group), np.asarray(score, dtype=float), np.asarray(index)
    order = np.lexsort((-index, -score, group))
    g = group[order]
    in_top = _position_in_group(g) < np.asarray(k)[g]
    return np.bincount(g, weights=in_top * np.asarray(selected)[order], minlength=n_groups).astype(np.int64)
