"""Task bootstrap: a slow resampling loop as oracle, and the reason tasks (not units) are resampled."""

import math

import numpy as np
import pytest

from analysis import task_bootstrap


def _loop_bootstrap(num, den, n_boot, seed, ci=0.95):
    """Resample task indices one replicate at a time (another random stream, same distribution)."""
    rng = np.random.default_rng(seed + 1000)
    stats = []
    for _ in range(n_boot):
        pick = rng.integers(0, len(num), len(num))
        stats.append(num[pick].sum() / den[pick].sum())
    return np.quantile(stats, [(1 - ci) / 2, (1 + ci) / 2])


def test_agrees_with_a_resampling_loop():
    rng = np.random.default_rng(0)
    den = rng.integers(1, 30, 40).astype(float)
    num = rng.binomial(den.astype(int), rng.uniform(0.1, 0.6, 40)).astype(float)
    low, high = task_bootstrap(num, den, n_boot=4000, seed=0)
    want_low, want_high = _loop_bootstrap(num, den, 4000, seed=0)
    assert low == pytest.approx(want_low, abs=0.01) and high == pytest.approx(want_high, abs=0.01)


def test_resamples_tasks_not_units():
    # two tasks, 100 responses each, scoring 1 and 0: only three task resamples exist (0, 0.5, 1),
    # so the 95% CI spans [0, 1]; resampling the 200 responses would give about 0.5 +- 0.07
    low, high = task_bootstrap([100.0, 0.0], [100.0, 100.0], n_boot=2000, seed=0)
    assert (low, high) == (0.0, 1.0)


def test_columns_seed_and_degenerate_inputs():
    num = np.array([[1.0, 0.0], [2.0, 0.0], [3.0, 0.0]])
    den = np.array([[1.0, 0.0], [1.0, 0.0], [1.0, 0.0]])  # second statistic has no data anywhere
    low, high = task_bootstrap(num, den, n_boot=300, seed=5)
    assert 1 <= low[0] <= high[0] <= 3 and math.isnan(low[1]) and math.isnan(high[1])
    assert task_bootstrap(num, den, n_boot=300, seed=5)[0][0] == low[0]
    same = task_bootstrap([2.0, 4.0], [4.0, 8.0], n_boot=50)  # every task has ratio 0.5
    assert same == (0.5, 0.5)
    assert all(math.isnan(v) for v in task_bootstrap([], [], n_boot=10))
