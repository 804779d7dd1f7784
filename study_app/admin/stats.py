"""Dashboard figures, from the export tables through the analysis core.

Agreement and time statistics are computed by :mod:`analysis` on the very tables an export writes,
with the report's defaults, so the dashboard and ``python -m analysis report`` show the same numbers.
This module only counts participants and puts the analysis' tables side by side.
"""

from __future__ import annotations

from datetime import datetime

import numpy as np
import pandas as pd

from analysis.breakdown import agreement_tables, response_times
from analysis.io import export_from_tables

ACTIVE = ("consented", "questionnaire", "tutorial", "tasks")
TASK_COLUMNS = [
    "task_id",
    "n_responses",
    "n_kappa",
    "kappa_mean",
    "ac1_mean",
    "f1_mean",
    "n_participants",
    "human_loo_kappa",
    "model_kappa",
    "n",
    "median_s",
    "q1_s",
    "q3_s",
]


def participant_summary(tables: dict[str, pd.DataFrame], now: datetime, dropout_minutes: float) -> dict:
    """Return the completion funnel and the median time to finish.

    ``started``: everyone who answered the consent page; ``consented``: of those, who agreed;
    ``finished``; ``in_progress`` / ``dropped_out``: consented, not finished, and last heard from
    less / more than ``dropout_minutes`` ago (``now`` is naive UTC, as stored); ``declined``;
    ``excluded``: marked by a researcher (counted in the stages above too);
    ``median_finish_s``: median duration of the finished, excluded participants left out.
    """
    people = tables["participants"]
    last_answer = tables["responses"].groupby("participant_id")["submitted_at"].max()
    last = pd.concat([people.set_index("participant_id")["started_at"], last_answer], axis=1).max(axis=1)
    idle = pd.Timestamp(now, tz="UTC") - last.reindex(people["participant_id"]).to_numpy()
    active = people["status"].isin(ACTIVE).to_numpy()
    stale = np.asarray(idle > pd.Timedelta(minutes=dropout_minutes))
    finished = people["status"] == "finished"
    kept = finished & (people["excluded"] != 1)
    return {
        "started": len(people),
        "consented": int((people["status"] != "declined").sum()),
        "finished": int(finished.sum()),
        "in_progress": int((active & ~stale).sum()),
        "dropped_out": int((active & stale).sum()),
        "declined": int((people["status"] == "declined").sum()),
        "excluded": int((people["excluded"] == 1).sum()),
        "median_finish_s": float(people.loc[kept, "duration_s"].median()) if kept.any() else None,
    }


def agreement(tables: dict[str, pd.DataFrame], keep_excluded: bool = False) -> dict[str, pd.DataFrame] | None:
    """Agreement of participants' selections with the model's rationale, as the report computes it.

    Returns :func:`analysis.breakdown.agreement_tables` of the main tasks (excluded participants
    left out unless ``keep_excluded``), or None while there is no answer to a main task.
    """
    export = export_from_tables(tables, keep_excluded=keep_excluded)
    if export.selections.empty:
        return None
    return agreement_tables(export)


def kept_responses(tables: dict[str, pd.DataFrame]) -> pd.DataFrame:
    """The responses of participants not excluded (the analysis leaves the excluded out)."""
    people = tables["participants"]
    return tables["responses"][
        tables["responses"]["participant_id"].isin(people.loc[people["excluded"] != 1, "participant_id"])
    ]


def task_rows(tables: dict[str, pd.DataFrame], task_ids: list[str], scores: dict | None) -> pd.DataFrame:
    """One row per main task of ``task_ids``: the analysis' agreement and time figures side by side.

    Columns :data:`TASK_COLUMNS`; a task nobody answered yet (also before any answer at all) has 0
    responses and missing figures.
    """
    out = pd.DataFrame({"task_id": pd.Series(task_ids, dtype="str")})
    if scores is not None:
        ceiling = scores["human_agreement"][["task_id", "n_participants", "human_loo_kappa", "model_kappa"]]
        out = out.merge(scores["task_agreement"], on="task_id", how="left")
        out = out.merge(ceiling.astype({"task_id": "str"}), on="task_id", how="left")
    out = out.merge(response_times(kept_responses(tables)), on="task_id", how="left")
    out = out.reindex(columns=TASK_COLUMNS)  # before any answer the analysis adds no figure columns
    for column in ("n_responses", "n_kappa", "n_participants", "n"):
        out[column] = out[column].fillna(0).astype(int)
    return out


def overall_time(tables: dict[str, pd.DataFrame]) -> dict | None:
    """Median and quartiles of the time on a main task over every response (excluded participants left out)."""
    times = response_times(kept_responses(tables), by=None)
    return None if times.empty else times.iloc[0].to_dict()


def attention_results(tables: dict[str, pd.DataFrame]) -> pd.DataFrame:
    """Per participant with at least one attention check: ``participant_id, taken, failed``."""
    checks = tables["responses"].dropna(subset=["attention_passed"])
    out = checks.groupby("participant_id")["attention_passed"].agg(taken="size", passed="sum")
    out["failed"] = (out["taken"] - out["passed"]).astype(int)
    return out.reset_index()[["participant_id", "taken", "failed"]]


def participant_rows(tables: dict[str, pd.DataFrame], public_ids: dict[str, str], scores: dict | None) -> pd.DataFrame:
    """One row per participant: status, time, agreement, attention checks and questionnaire answers.

    ``public_ids`` maps each pseudonym to the participant's public id (for links). Columns: those of the
    export's ``participants`` table, ``public_id``, ``n_responses``, ``kappa_mean``, ``ac1_mean``
    (:func:`analysis.breakdown.participant_agreement`), ``checks_taken`` and ``checks_failed``.
    """
    people = tables["participants"].copy()
    people["participant_id"] = people["participant_id"].astype("str")
    people["public_id"] = people["participant_id"].map(public_ids)
    if scores is not None:
        means = scores["participant_agreement"][["participant_id", "n_responses", "kappa_mean", "ac1_mean"]]
        people = people.merge(means, on="participant_id", how="left")
    else:
        people = people.assign(n_responses=0, kappa_mean=np.nan, ac1_mean=np.nan)
    checks = attention_results(tables).rename(columns={"taken": "checks_taken", "failed": "checks_failed"})
    checks["participant_id"] = checks["participant_id"].astype("str")
    people = people.merge(checks, on="participant_id", how="left")
    people["n_responses"] = people["n_responses"].fillna(0).astype(int)
    return people


def response_rows(tables: dict[str, pd.DataFrame], scores: dict | None) -> pd.DataFrame:
    """One row per task a participant answered: the selection (phase 1) with its agreement beside the
    participant's judgement of the model's rationale (phase 2), in the order the tasks were shown."""
    responses = tables["responses"]
    first = responses[responses["phase"] == 1].drop(columns=["agreement"])
    second = responses.loc[responses["phase"] == 2, ["participant_id", "task_id", "agreement"]]
    rows = first.merge(second, on=["participant_id", "task_id"], how="left")
    if scores is not None:
        per_response = scores["alignment"][["participant_id", "task_id", "kappa", "kappa_reason", "ac1"]].astype(
            {"participant_id": "str", "task_id": "str"}
        )
        rows = rows.astype({"participant_id": "str", "task_id": "str"}).merge(
            per_response, on=["participant_id", "task_id"], how="left"
        )
    else:
        rows = rows.assign(kappa=np.nan, kappa_reason=None, ac1=np.nan)
    return rows.sort_values("position")
