"""Agreement and time broken down by task and by participant: the numbers the report and the study
dashboard both show, so the two cannot disagree."""

from __future__ import annotations

import pandas as pd

from analysis.alignment import alignment_scores, alignment_summary
from analysis.ceiling import ceiling_summary, human_agreement
from analysis.io import Export
from analysis.tidy import response_units


def agreement_tables(export: Export, n_boot: int = 2000, ci: float = 0.95, seed: int = 0) -> dict[str, pd.DataFrame]:
    """Score every response of ``export`` and summarise the scores overall, per task and per participant.

    Parameters
    ----------
    export : analysis.Export
        From :func:`analysis.load_export` or :func:`analysis.io.export_from_tables`.
    n_boot, ci, seed
        Bootstrap settings of :func:`analysis.alignment_summary`.

    Returns
    -------
    dict of pandas.DataFrame
        ``data`` (:func:`analysis.response_units`), ``alignment`` (:func:`analysis.alignment_scores`),
        ``alignment_summary``, ``task_agreement`` (:func:`task_agreement`) and
        ``participant_agreement`` (:func:`participant_agreement`), ``human_agreement`` (the human
        ceiling per task, :func:`analysis.ceiling.human_agreement`) and ``ceiling_summary``
        (:func:`analysis.ceiling.ceiling_summary`, with the same bootstrap settings).
    """
    data = response_units(export.selections, export.units, export.model_rationales)
    scores = alignment_scores(data)
    humans = human_agreement(data)
    return {
        "data": data,
        "alignment": scores,
        "alignment_summary": alignment_summary(scores, n_boot=n_boot, ci=ci, seed=seed),
        "task_agreement": task_agreement(scores),
        "participant_agreement": participant_agreement(scores),
        "human_agreement": humans,
        "ceiling_summary": ceiling_summary(humans, data, n_boot=n_boot, ci=ci, seed=seed),
    }


def _means(scores: pd.DataFrame, by: str) -> pd.DataFrame:
    grouped = scores.groupby(by, sort=True, observed=True)
    out = grouped.agg(
        n_responses=("kappa", "size"),
        n_kappa=("kappa", "count"),
        kappa_mean=("kappa", "mean"),
        ac1_mean=("ac1", "mean"),
        f1_mean=("f1", "mean"),
    )
    out = out.reset_index()
    out[by] = out[by].astype("str")
    return out


def task_agreement(scores: pd.DataFrame) -> pd.DataFrame:
    """Mean agreement of each task's responses with the model's rationale.

    Parameters
    ----------
    scores : pandas.DataFrame
        Output of :func:`analysis.alignment_scores`.

    Returns
    -------
    pandas.DataFrame
        One row per task, sorted by ``task_id``: ``n_responses``, ``n_kappa`` (responses with a
        defined kappa), ``kappa_mean``, ``ac1_mean``, ``f1_mean`` (means over the defined values).

    Examples
    --------
    >>> scores = pd.DataFrame({"task_id": ["t1", "t1", "t2"], "kappa": [0.5, float("nan"), 1.0],
    ...                        "ac1": [0.4, 0.9, 1.0], "f1": [0.5, 1.0, 1.0]})
    >>> task_agreement(scores)[["task_id", "n_responses", "n_kappa", "kappa_mean", "ac1_mean"]]
      task_id  n_responses  n_kappa  kappa_mean  ac1_mean
    0      t1            2        1         0.5      0.65
    1      t2            1        1         1.0      1.00
    """
    return _means(scores, "task_id")


def participant_agreement(scores: pd.DataFrame) -> pd.DataFrame:
    """Mean agreement of each participant's responses with the model's rationale.

    Returns one row per participant, sorted by ``participant_id``, with the columns of
    :func:`task_agreement` (``n_responses`` is then the participant's tasks).
    """
    return _means(scores, "participant_id")


def response_times(responses: pd.DataFrame, by: str | None = "task_id") -> pd.DataFrame:
    """Median and interquartile range of the time participants spent on main tasks (phase 1).

    Parameters
    ----------
    responses : pandas.DataFrame
        The export's ``responses`` table: ``participant_id, task_id, active_ms`` and, when present,
        ``kind`` (only ``"main"`` rows count) and ``phase`` (only 1 counts: selecting, not judging
        the model's rationale).
    by : str or None
        Column to group by (``"task_id"``, ``"participant_id"``), or None for one row over all.

    Returns
    -------
    pandas.DataFrame
        ``<by>`` (unless None), ``n`` (responses with a time), ``median_s``, ``q1_s``, ``q3_s``
        (25th and 75th percentiles, linear interpolation), in seconds of the time the page had focus.

    Examples
    --------
    >>> responses = pd.DataFrame({"participant_id": ["a", "b", "c", "d"], "task_id": "t1",
    ...                           "active_ms": [10_000, 20_000, 30_000, 40_000]})
    >>> response_times(responses)
      task_id  n  median_s  q1_s  q3_s
    0      t1  4      25.0  17.5  32.5
    """
    rows = responses
    if "kind" in rows.columns:
        rows = rows[rows["kind"].astype("str") == "main"]
    if "phase" in rows.columns:
        rows = rows[rows["phase"] == 1]
    seconds = pd.to_numeric(rows["active_ms"], errors="coerce").astype("float64") / 1000
    frame = pd.DataFrame({"key": rows[by].astype("str") if by else "all", "s": seconds}).dropna(subset=["s"])
    grouped = frame.groupby("key", sort=True)["s"]
    out = pd.DataFrame(
        {
            "n": grouped.size(),
            "median_s": grouped.median(),
            "q1_s": grouped.quantile(0.25),
            "q3_s": grouped.quantile(0.75),
        }
    )
    out = out.rename_axis(by or "key").reset_index()
    if by is None:
        return out.drop(columns="key")
    return out.astype({by: "str"})  # also when empty, so callers can merge on it


def format_duration(seconds) -> str:
    """Write a duration as minutes and seconds (``"2 min 05 s"``, ``"45 s"``); missing as an en dash.

    >>> format_duration(125.4), format_duration(45), format_duration(float("nan"))
    ('2 min 05 s', '45 s', '–')
    """
    if seconds is None or pd.isna(seconds):
        return "–"
    minutes, rest = divmod(round(float(seconds)), 60)
    return f"{minutes} min {rest:02d} s" if minutes else f"{rest} s"
