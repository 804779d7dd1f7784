"""Per-response agreement between the human's selection and the model's rationale, and its summary."""

from __future__ import annotations

import pandas as pd

from analysis.agreement import ac1_from_counts, kappa_from_counts, overlap_from_counts
from analysis.bootstrap import task_bootstrap

METRICS = ["kappa", "ac1", "precision", "recall", "f1", "jaccard"]


def alignment_scores(data: pd.DataFrame) -> pd.DataFrame:
    """Score every response (participant x task) over the task's selectable units.

    Parameters
    ----------
    data : pandas.DataFrame
        Long format, one row per response and selectable unit, as made by
        :func:`analysis.response_units`: ``participant_id, task_id, unit_index, selected,
        in_rationale`` (rows with a missing ``unit_index`` stand for tasks without selectable units).

    Returns
    -------
    pandas.DataFrame
        One row per response, sorted by participant and task:

        - ``participant_id``, ``task_id``
        - ``n_units``: selectable units; ``n_human``, ``n_model``, ``n_both``: units selected by the
          human, the model, both
        - ``kappa``: Cohen's kappa; ``kappa_reason``: why it is NaN ("no selectable units", "both
          raters constant") or a degenerate 0 ("human rater constant", "model rater constant"),
          else missing (NaN)
        - ``ac1``: Gwet's AC1
        - ``precision``, ``recall``, ``f1``, ``jaccard``: set overlap, the human as reference; NaN
          where a denominator is 0

    Notes
    -----
    All metrics come from the 2 x 2 counts of each response (:mod:`analysis.agreement`), computed
    with one groupby: the cost is linear in the rows of ``data``.

    Examples
    --------
    >>> data = pd.DataFrame({"participant_id": "p1", "task_id": "t1", "unit_index": [0, 1, 2, 3],
    ...                      "selected": [1, 1, 0, 0], "in_rationale": [1, 0, 0, 0]})
    >>> alignment_scores(data)[["n_units", "n_both", "kappa", "f1"]]
       n_units  n_both  kappa        f1
    0        4       1    0.5  0.666667
    """
    both = data["selected"].astype("int64") * data["in_rationale"]
    counts = (
        data.assign(n_both=both)
        .groupby(["participant_id", "task_id"], sort=True)
        .agg(
            n_units=("unit_index", "count"),
            n_human=("selected", "sum"),
            n_model=("in_rationale", "sum"),
            n_both=("n_both", "sum"),
        )
        .astype("int64")
        .reset_index()
    )
    args = [counts[c].to_numpy() for c in ("n_units", "n_human", "n_model", "n_both")]
    kappa, reason = kappa_from_counts(*args)
    return counts.assign(kappa=kappa, kappa_reason=reason, ac1=ac1_from_counts(*args), **overlap_from_counts(*args[1:]))


def alignment_summary(scores: pd.DataFrame, n_boot: int = 2000, ci: float = 0.95, seed: int = 0) -> pd.DataFrame:
    """Mean of each agreement metric over responses, with a bootstrap CI that resamples tasks.

    Parameters
    ----------
    scores : pandas.DataFrame
        Output of :func:`alignment_scores` (needs ``task_id`` and the metric columns).
    n_boot, ci, seed
        Bootstrap replicates, CI coverage and seed (see :func:`analysis.bootstrap.task_bootstrap`).

    Returns
    -------
    pandas.DataFrame
        One row per metric: ``metric``, ``n`` (responses where it is defined), ``n_undefined``,
        ``mean``, ``median``, ``ci_low``, ``ci_high`` (percentile CI of the mean), ``n_tasks``,
        ``n_boot``, ``seed``.

    Notes
    -----
    Undefined values (NaN) are left out of the mean. A replicate draws tasks with replacement and
    averages the defined values of all their responses, so responses to the same snippet move
    together, as they are not independent.
    """
    defined = scores[METRICS].notna()
    per_task = scores[METRICS].fillna(0).groupby(scores["task_id"]).sum()
    counts = defined.groupby(scores["task_id"]).sum()
    low, high = task_bootstrap(per_task.to_numpy(), counts.to_numpy(), n_boot=n_boot, ci=ci, seed=seed)
    return pd.DataFrame(
        {
            "metric": METRICS,
            "n": defined.sum().to_numpy(),
            "n_undefined": (~defined).sum().to_numpy(),
            "mean": scores[METRICS].mean().to_numpy(),
            "median": scores[METRICS].median().to_numpy(),
            "ci_low": low,
            "ci_high": high,
            "n_tasks": scores["task_id"].nunique(),
            "n_boot": n_boot,
            "seed": seed,
        }
    )
