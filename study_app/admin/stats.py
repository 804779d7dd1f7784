"""Dashboard figures, computed from the export tables so the dashboard and the data never disagree."""

from __future__ import annotations

from datetime import datetime

import numpy as np
import pandas as pd

from codeq.agreement import kappa_from_counts

ACTIVE = ("consented", "questionnaire", "tutorial", "tasks")


def response_kappas(tables: dict[str, pd.DataFrame]) -> pd.DataFrame:
    """Cohen's kappa between each phase-1 selection and the model's rationale over the selectable units.

    Returns columns participant_id, task_id, n, n_human, n_model, n_both, kappa, reason
    (reason is empty for an ordinary kappa, else why it is undefined or degenerate).
    """
    rationales = tables["model_rationales"]
    rationales = rationales[rationales["explainer"] == "greedy"].drop(columns="explainer")
    pairs = tables["selections"].merge(rationales, on=["task_id", "unit_index"], how="left")
    pairs["in_rationale"] = pairs["in_rationale"].fillna(0).astype(int)
    pairs["both"] = pairs["selected"] * pairs["in_rationale"]
    counts = (pairs.groupby(["participant_id", "task_id"], sort=True)
              .agg(n=("unit_index", "size"), n_human=("selected", "sum"), n_model=("in_rationale", "sum"),
                   n_both=("both", "sum"))
              .reset_index())
    kappa, reason = kappa_from_counts(counts["n"], counts["n_human"], counts["n_model"], counts["n_both"])
    counts["kappa"] = kappa
    counts["reason"] = pd.Series(reason, dtype=object).fillna("").to_numpy()
    return counts


def participant_summary(tables: dict[str, pd.DataFrame], now: datetime, dropout_minutes: float) -> dict:
    """Return counts started / finished / in progress / dropped out / declined and the median duration.

    A participant who has not finished counts as dropped out once nothing was heard from them for
    ``dropout_minutes`` (``now`` is naive UTC, as stored).
    """
    people = tables["participants"]
    last_answer = tables["responses"].groupby("participant_id")["submitted_at"].max()
    last = pd.concat([people.set_index("participant_id")["started_at"], last_answer], axis=1).max(axis=1)
    idle = pd.Timestamp(now, tz="UTC") - last.reindex(people["participant_id"]).to_numpy()
    active = people["status"].isin(ACTIVE).to_numpy()
    stale = np.asarray(idle > pd.Timedelta(minutes=dropout_minutes))
    finished = people["status"] == "finished"
    return {
        "started": int((people["status"] != "declined").sum()),
        "finished": int(finished.sum()),
        "in_progress": int((active & ~stale).sum()),
        "dropped_out": int((active & stale).sum()),
        "declined": int((people["status"] == "declined").sum()),
        "excluded": int(people["excluded"].sum()),
        "median_minutes": (None if not finished.any()
                           else float(people.loc[finished, "duration_s"].median() / 60)),
    }


def task_summary(tables: dict[str, pd.DataFrame], task_ids: list[str]) -> pd.DataFrame:
    """Per task of ``task_ids`` (the main tasks): answers so far and the mean kappa with the model."""
    responses = tables["responses"]
    main = responses[(responses["phase"] == 1) & (responses["kind"] == "main")]
    coverage = main.groupby("task_id").size().rename("answers")
    kappas = response_kappas(tables).merge(main[["participant_id", "task_id"]], on=["participant_id", "task_id"])
    by_task = kappas.groupby("task_id")["kappa"].agg(mean_kappa="mean", n_kappa="count")
    out = pd.DataFrame(index=pd.Index(task_ids, name="task_id")).join(coverage).join(by_task)
    out["answers"] = out["answers"].fillna(0).astype(int)
    out["n_kappa"] = out["n_kappa"].fillna(0).astype(int)
    return out.reset_index()


def attention_failures(tables: dict[str, pd.DataFrame]) -> pd.DataFrame:
    """Per participant with at least one attention check: checks taken and failed."""
    checks = tables["responses"].dropna(subset=["attention_passed"])
    out = checks.groupby("participant_id")["attention_passed"].agg(taken="size", passed="sum")
    out["failed"] = out["taken"] - out["passed"]
    return out.reset_index()[["participant_id", "taken", "failed"]]
