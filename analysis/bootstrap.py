"""Percentile bootstrap CIs of ratios of sums, resampling whole tasks (never units).

Units inside one snippet are not independent, so the resampled entity is the task: a replicate
draws tasks with replacement and every response (and unit) of a drawn task comes along. Each
statistic here is a ratio of per-task sums (a mean over responses, a pooled selection rate), so a
replicate is one matrix product of multinomial task counts with those sums: no Python loop over
responses or units.
"""

from __future__ import annotations

import warnings

import numpy as np

CHUNK = 256  # replicates per matrix product: bounds memory at CHUNK x n_tasks counts


def task_bootstrap(num, den, n_boot: int = 2000, ci: float = 0.95, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """Percentile CI of ``num.sum(0) / den.sum(0)`` under resampling of the rows (tasks).

    Parameters
    ----------
    num, den : array_like, shape (n_tasks,) or (n_tasks, k)
        Per-task numerator and denominator sums of k statistics.
    n_boot : int
        Bootstrap replicates.
    ci : float
        Coverage of the two-sided percentile interval.
    seed : int
        Seed of ``numpy.random.default_rng``; the same seed gives the same interval.

    Returns
    -------
    low, high : numpy.ndarray, shape (k,) (or scalars for 1-D input)
        NaN where there are no tasks or every replicate has a zero denominator.

    Notes
    -----
    Replicates whose denominator is 0 (all drawn tasks lack the statistic) are left out of the
    quantiles. Percentile method (Efron & Tibshirani 1993, ch. 13).

    Examples
    --------
    >>> low, high = task_bootstrap([1, 2, 3], [1, 1, 1], n_boot=500, seed=1)
    >>> bool(1 <= low <= 2 <= high <= 3)
    True
    """
    num = np.asarray(num, dtype=float)
    den = np.asarray(den, dtype=float)
    vector = num.ndim == 1
    if vector:
        num, den = num[:, None], den[:, None]
    n_tasks = num.shape[0]
    if n_tasks == 0:
        nan = np.full(num.shape[1], np.nan)
        return (nan[0], nan[0]) if vector else (nan, nan.copy())
    rng = np.random.default_rng(seed)
    chunks = []
    for start in range(0, n_boot, CHUNK):
        draws = rng.multinomial(n_tasks, np.full(n_tasks, 1 / n_tasks), size=min(CHUNK, n_boot - start))
        with np.errstate(divide="ignore", invalid="ignore"):
            chunks.append((draws @ num) / (draws @ den))
    stats = np.concatenate(chunks)
    alpha = (1 - ci) / 2
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)  # an all-NaN column gives NaN, as documented
        low, high = np.nanquantile(stats, [alpha, 1 - alpha], axis=0)
    return (low[0], high[0]) if vector else (low, high)
