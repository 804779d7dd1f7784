"""The human ceiling: how much participants agree with each other, per task, beside the model's agreement.

"The model is misaligned with developers" means something only against how far developers align
with one another. Per task, over its selectable units:

- Fleiss' kappa (statsmodels) and Krippendorff's alpha, nominal (the ``krippendorff`` package),
  raters = participants, items = units, categories = selected / not;
- ``human_loo_kappa``: each participant against the majority of the others, Cohen's kappa, averaged;
- ``model_kappa``: the model's rationale against each participant, Cohen's kappa, averaged.

Cohen's kappa is :func:`analysis.agreement.kappa_values`, the values of the one definition
(:func:`analysis.agreement.kappa_from_counts`, with its degenerate cases), vectorized over
participants and over random rationales.
"""

from __future__ import annotations

import warnings

import krippendorff
import numpy as np
import pandas as pd
from statsmodels.stats.inter_rater import fleiss_kappa
from threadpoolctl import threadpool_limits

from analysis.agreement import kappa_values
from analysis.bootstrap import task_bootstrap

# Below this mean leave-one-out kappa people agree only slightly (Landis & Koch 1977: 0 to 0.20 is
# "slight"): a fraction of such a ceiling divides by little more than noise and is not reported.
CEILING_FLOOR = 0.2

COLUMNS = [
    "task_id",
    "n_units",
    "n_model",
    "n_responses",
    "n_empty",
    "n_participants",
    "fleiss_kappa",
    "krippendorff_alpha",
    "human_loo_kappa",
    "model_kappa",
]


def fraction_note(ceiling: float, ceiling_low: float, floor: float = CEILING_FLOOR) -> str | None:
    """Why a ratio to the human ceiling is undefined, or None when it can be read.

    Parameters
    ----------
    ceiling : float
        The human ceiling (mean leave-one-out kappa over tasks).
    ceiling_low : float
        The low end of its confidence interval (NaN when there is none).
    floor : float
        The smallest ceiling a ratio is reported against (:data:`CEILING_FLOOR`).

    Examples
    --------
    >>> fraction_note(0.55, 0.41) is None
    True
    >>> fraction_note(0.05, -0.02)
    'the human ceiling 0.050 is below the floor 0.2 and its interval includes 0'
    """
    reasons = []
    if not np.isfinite(ceiling):
        return "no task has a human ceiling (two participants who selected something)"
    if ceiling < floor:
        reasons.append(f"the human ceiling {ceiling:.3f} is below the floor {floor:g}")
    if not np.isfinite(ceiling_low):
        reasons.append("its interval cannot be computed (one task)")
    elif ceiling_low <= 0:
        reasons.append(("its" if reasons else f"the human ceiling's ({ceiling:.3f})") + " interval includes 0")
    return " and ".join(reasons) or None


def task_matrices(data: pd.DataFrame):
    """Yield ``(task_id, selections, rationale, n_empty)`` per task, in task order.

    ``selections`` is a participants x selectable units 0/1 matrix of the participants who selected
    at least one unit on the task; ``rationale`` the model's 0/1 vector over the same units;
    ``n_empty`` the participants left out because they selected nothing.
    """
    units = data.loc[
        data["unit_index"].notna(), ["task_id", "participant_id", "unit_index", "selected", "in_rationale"]
    ]
    # codes over the whole table, then one slice per task: a groupby would copy every task's rows
    task, tasks = pd.factorize(units["task_id"], sort=True)
    person = pd.factorize(units["participant_id"], sort=True)[0]
    index = units["unit_index"].to_numpy(dtype=np.int64)
    selected, in_rationale = units["selected"].to_numpy(), units["in_rationale"].to_numpy()
    order = np.argsort(task, kind="stable")
    bounds = np.searchsorted(task[order], np.arange(len(tasks) + 1))
    for k, task_id in enumerate(tasks):
        rows = order[bounds[k] : bounds[k + 1]]
        people, row = np.unique(person[rows], return_inverse=True)
        indices, unit = np.unique(index[rows], return_inverse=True)
        selections = np.zeros((len(people), len(indices)), dtype=np.int64)
        selections[row, unit] = selected[rows]
        rationale = np.zeros(len(indices), dtype=np.int64)
        rationale[unit] = in_rationale[rows]
        chosen = selections.sum(axis=1) > 0
        yield task_id, selections[chosen], rationale, int((~chosen).sum())


def _mean(values) -> float:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)  # all-NaN: NaN, as documented
        return float(np.nanmean(values)) if np.size(values) else float("nan")


def _fleiss(selections: np.ndarray) -> float:
    n = selections.shape[0]
    picked = selections.sum(axis=0)
    if n < 2 or picked.min() == picked.max() in (0, n):  # one rater, or every rating the same: 0 / 0
        return float("nan")
    return float(fleiss_kappa(np.column_stack([n - picked, picked]), method="fleiss"))


def _krippendorff(selections: np.ndarray) -> float:
    if selections.shape[0] < 2 or np.unique(selections).size < 2:  # no pairs, or one value: undefined
        return float("nan")
    return float(krippendorff.alpha(reliability_data=selections, level_of_measurement="nominal"))


def loo_kappas(selections: np.ndarray) -> np.ndarray:
    """Cohen's kappa of each participant (row) against the majority of the others.

    A unit belongs to the majority when at least half of the other participants selected it.
    Degenerate cases follow :func:`analysis.agreement.kappa_from_counts` (one constant side: 0;
    both constant: NaN). Fewer than two participants: an empty array.
    """
    n, n_units = selections.shape
    if n < 2:
        return np.empty(0)
    others = selections.sum(axis=0) - selections
    majority = (2 * others >= n - 1).astype(np.int64)
    return kappa_values(n_units, selections.sum(axis=1), majority.sum(axis=1), (selections * majority).sum(axis=1))


def _overlaps(rationales: np.ndarray, selections: np.ndarray) -> np.ndarray:
    """Units in both, per (rationale, participant): rows of 0/1 ``rationales`` against rows of ``selections``."""
    # a float product of the 0/1 matrices (BLAS; NumPy's integer product is not): counts stay exact below 2**53
    return (rationales.astype(float) @ selections.T.astype(float)).astype(np.int64)


def model_kappas(selections: np.ndarray, rationale: np.ndarray) -> np.ndarray:
    """Cohen's kappa of the model's rationale against each participant (row); rationale may be 2-D (one per row)."""
    rationale = np.atleast_2d(rationale)
    n_both = _overlaps(rationale, selections)  # (rationales, participants)
    return kappa_values(selections.shape[1], selections.sum(axis=1)[None, :], rationale.sum(axis=1)[:, None], n_both)


def human_agreement(data: pd.DataFrame) -> pd.DataFrame:
    """Per task, agreement among participants (the human ceiling) and between the model and them.

    Parameters
    ----------
    data : pandas.DataFrame
        Long format from :func:`analysis.response_units`: ``participant_id, task_id, unit_index,
        selected, in_rationale``.

    Returns
    -------
    pandas.DataFrame
        One row per task with selectable units, sorted by task: ``task_id``, ``n_units``
        (selectable), ``n_model`` (rationale units among them), ``n_responses``, ``n_empty``
        (participants who selected nothing on the task: left out of every column below, counted
        here), ``n_participants`` (the rest), ``fleiss_kappa``, ``krippendorff_alpha`` (nominal),
        ``human_loo_kappa`` (mean over participants of Cohen's kappa against the majority, at
        least half, of the other participants), ``model_kappa`` (mean over the same participants of
        Cohen's kappa between the model's rationale and the participant).

    Notes
    -----
    Fleiss' kappa and Krippendorff's alpha are NaN with fewer than two participants or when every
    rating on the task is the same (everyone selected every unit): chance agreement is then 1 and
    both are 0 / 0. When every participant selected the same units both are 1. Means over
    participants leave undefined kappas (both raters constant) out.

    References
    ----------
    Fleiss, J. L. (1971). Measuring nominal scale agreement among many raters. Psychological
    Bulletin, 76(5), 378-382. https://doi.org/10.1037/h0031619
    Krippendorff, K. (2004). Content Analysis: An Introduction to Its Methodology (2nd ed.), ch. 11.
    """
    rows = []
    for task_id, selections, rationale, n_empty in task_matrices(data):
        rows.append(
            {
                "task_id": task_id,
                "n_units": len(rationale),
                "n_model": int(rationale.sum()),
                "n_responses": selections.shape[0] + n_empty,
                "n_empty": n_empty,
                "n_participants": selections.shape[0],
                "fleiss_kappa": _fleiss(selections),
                "krippendorff_alpha": _krippendorff(selections),
                "human_loo_kappa": _mean(loo_kappas(selections)),
                "model_kappa": _mean(model_kappas(selections, rationale)) if len(selections) else np.nan,
            }
        )
    return pd.DataFrame(rows, columns=COLUMNS)


def _ratio_of_means(model, human, axis=-1):
    with np.errstate(divide="ignore", invalid="ignore"):  # a zero ceiling: an infinite or NaN fraction
        return np.mean(model, axis=axis) / np.mean(human, axis=axis)


def random_rationale_kappas(data: pd.DataFrame, n_perm: int = 1000, seed: int = 0) -> pd.DataFrame:
    """Per task and replicate, the mean model kappa of a random rationale of the model's size.

    Each replicate draws, for every task, as many selectable units as the model's rationale has,
    uniformly without replacement, and scores them like the model (:func:`model_kappas`).
    Returns a replicates x tasks frame (NaN where the task's model kappa is undefined).
    """
    rng = np.random.default_rng(seed)
    columns = {}
    with threadpool_limits(limits=1, user_api="blas"):  # one task's product is too small to gain from threads
        for task_id, selections, rationale, _ in task_matrices(data):
            if not len(selections):
                continue
            columns[task_id] = _random_kappas(selections, int(rationale.sum()), n_perm, rng)
    return pd.DataFrame(columns)


def _random_kappas(selections: np.ndarray, size: int, n_perm: int, rng: np.random.Generator) -> np.ndarray:
    """Mean model kappa over the participants (rows) of each of ``n_perm`` random rationales of ``size`` units."""
    n_units = selections.shape[1]
    random = rng.random((n_perm, n_units)).argsort(axis=1) < size
    n_both = _overlaps(random, selections)  # (replicates, participants)
    # a kappa depends on the participant's selection size and the overlap only (the rationale's size is
    # fixed): evaluate model_kappas' formula once per distinct pair and look the replicates up
    sizes, person = np.unique(selections.sum(axis=1), return_inverse=True)
    overlap = np.arange(min(size, n_units) + 1)
    table = kappa_values(n_units, sizes[:, None], size, overlap[None, :])  # (distinct sizes, overlaps)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        return np.nanmean(table[person[None, :], n_both], axis=1)


def ceiling_summary(
    agreement: pd.DataFrame, data: pd.DataFrame, n_boot: int = 2000, n_perm: int = 1000, ci: float = 0.95, seed: int = 0
) -> pd.DataFrame:
    """Model alignment as a fraction of the human ceiling, and the model against random rationales.

    Parameters
    ----------
    agreement : pandas.DataFrame
        Output of :func:`human_agreement`.
    data : pandas.DataFrame
        The long table it came from (for the random rationales).
    n_boot, ci, seed
        Bootstrap over tasks of the fraction (``pingouin.compute_bootci``, percentile method,
        tasks resampled in pairs); the seed also drives the permutation test.
    n_perm : int
        Random rationales per task.

    Returns
    -------
    pandas.DataFrame
        One row: ``n_tasks`` (tasks where both kappas are defined), ``fleiss_kappa``,
        ``krippendorff_alpha``, ``human_loo_kappa`` (the ceiling) with ``ceiling_ci_low``,
        ``ceiling_ci_high`` (percentile bootstrap over tasks, :func:`analysis.bootstrap.task_bootstrap`),
        ``model_kappa`` (means over tasks), ``fraction_of_ceiling = model_kappa / human_loo_kappa``
        over those tasks with ``ci_low``, ``ci_high``, and ``fraction_note``: None, or why the fraction
        (and its interval) is NaN: the ceiling is below :data:`CEILING_FLOOR`, or its interval
        includes 0 or cannot be computed (:func:`fraction_note`); ``random_kappa`` (mean model kappa of random rationales of the same size on the
        same tasks: those with both kappas defined), ``p_vs_random`` (one-sided permutation p-value, ``(1 + #{random >= model}) /
        (1 + n_perm)``, of the mean model kappa over tasks), ``n_boot``, ``n_perm``, ``seed``.

    Notes
    -----
    The fraction is a ratio of means over tasks: near 1 the model agrees with people as well as
    they agree with each other. When people agree at chance the denominator is near 0 and the ratio
    can take any value (hundreds on random selections), so it is then left undefined, with the
    reason in ``fraction_note``, rather than printed.
    """
    import pingouin as pg  # it imports matplotlib.pyplot and seaborn (seconds): load it on first use

    both = agreement.dropna(subset=["human_loo_kappa", "model_kappa"])
    model, human = both["model_kappa"].to_numpy(), both["human_loo_kappa"].to_numpy()
    ceiling = human.mean() if len(both) else np.nan
    ceiling_low, ceiling_high = (
        task_bootstrap(human, np.ones_like(human), n_boot=n_boot, ci=ci, seed=seed)
        if len(both) > 1
        else (np.nan, np.nan)
    )
    note = fraction_note(ceiling, float(ceiling_low))
    low = high = np.nan  # a ratio to a ceiling indistinguishable from chance has no interval either
    if note is None and np.ptp(human) + np.ptp(model) > 0:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", RuntimeWarning)  # replicates with a zero ceiling are infinite
            low, high = pg.compute_bootci(
                model,
                human,
                paired=True,
                func=_ratio_of_means,
                method="per",
                confidence=ci,
                n_boot=n_boot,
                decimals=12,
                seed=seed,
            )
    elif note is None:  # every task alike: each replicate is the estimate
        low = high = _ratio_of_means(model, human)
    observed = float(model.mean()) if len(both) else np.nan
    random = random_rationale_kappas(data, n_perm=n_perm, seed=seed).reindex(columns=both["task_id"])
    null = random.mean(axis=1).to_numpy()
    p = (1 + np.sum(null >= observed - 1e-12)) / (1 + n_perm) if len(both) else np.nan
    return pd.DataFrame(
        [
            {
                "n_tasks": len(both),
                "fleiss_kappa": agreement["fleiss_kappa"].mean(),
                "krippendorff_alpha": agreement["krippendorff_alpha"].mean(),
                "human_loo_kappa": ceiling,
                "ceiling_ci_low": ceiling_low,
                "ceiling_ci_high": ceiling_high,
                "model_kappa": observed,
                "fraction_of_ceiling": _ratio_of_means(model, human) if note is None else np.nan,
                "ci_low": low,
                "ci_high": high,
                "fraction_note": note,
                "random_kappa": float(np.mean(null)) if len(both) else np.nan,
                "p_vs_random": p,
                "n_boot": n_boot,
                "n_perm": n_perm,
                "seed": seed,
            }
        ]
    )
