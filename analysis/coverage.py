"""How a study is filling: usable answers per task against its target, where people leave, outcomes.

Computed on the export's ``participants`` and ``responses`` tables, so the admin page and any script
on an export give the same figures. A **usable answer** is a phase-1 answer to a main task by a
participant who is not excluded and whose study did not end with ``failed_attention`` or
``screened_out``: what the study app's assignment counts when it fills a task to
``answers_per_task`` (an answer of someone who left midway counts; the tasks they left are
released to others).
"""

from __future__ import annotations

from datetime import datetime

import pandas as pd

from analysis.breakdown import response_times

UNUSABLE_OUTCOMES = ("failed_attention", "screened_out")
UNDER_WAY = ("consented", "questionnaire", "tutorial", "tasks")
STEPS = {"consented": "questionnaire", "questionnaire": "tutorial"}  # status -> the page a participant is on


def usable_responses(participants: pd.DataFrame, responses: pd.DataFrame) -> pd.DataFrame:
    """Return the responses that are usable answers (see the module docstring)."""
    people = participants[
        (participants["excluded"] != 1) & ~participants["outcome"].astype("str").isin(UNUSABLE_OUTCOMES)
    ]
    rows = responses[(responses["kind"].astype("str") == "main") & (responses["phase"] == 1)]
    return rows[rows["participant_id"].isin(people["participant_id"])]


def task_coverage(
    participants: pd.DataFrame, responses: pd.DataFrame, task_ids: list[str], target: int | None
) -> pd.DataFrame:
    """One row per main task: usable answers against the target, and the time the task takes.

    Returns ``task_id, usable, target, missing`` (target minus usable, at least 0; empty without a
    target) and ``n, median_s, q1_s, q3_s`` of :func:`analysis.breakdown.response_times` over the
    usable answers, in the order of ``task_ids``.

    Examples
    --------
    >>> people = pd.DataFrame({"participant_id": ["a", "b"], "excluded": [0, 0],
    ...                        "outcome": ["completed", "failed_attention"]})
    >>> answers = pd.DataFrame({"participant_id": ["a", "b"], "task_id": "t1", "kind": "main",
    ...                         "phase": 1, "active_ms": [30_000, 5_000]})
    >>> task_coverage(people, answers, ["t1", "t2"], 2)[["task_id", "usable", "missing", "median_s"]]
      task_id  usable  missing  median_s
    0      t1       1        1      30.0
    1      t2       0        2       NaN
    """
    usable = usable_responses(participants, responses)
    out = pd.DataFrame({"task_id": pd.Series(task_ids, dtype="str")})
    counts = usable.groupby("task_id").size()
    out["usable"] = out["task_id"].map(counts).fillna(0).astype(int)
    out["target"] = pd.array([target] * len(out), dtype="Int64")
    out["missing"] = (out["target"] - out["usable"]).clip(lower=0)
    times = response_times(usable).astype({"task_id": "str"})
    return out.merge(times, on="task_id", how="left").assign(n=lambda d: d["n"].fillna(0).astype(int))


def dropouts_by_step(
    participants: pd.DataFrame, responses: pd.DataFrame, now: datetime, inactive_minutes: float
) -> pd.DataFrame:
    """Where the participants who left stopped: one row per step, in study order.

    A participant left when they are under way (not finished, not declined) and their
    ``last_active_at`` lies more than ``inactive_minutes`` before ``now`` (naive UTC, as the app stores it). Their step is
    the page they left on: ``questionnaire`` (consented, questionnaire not sent), ``tutorial``
    (questionnaire sent, tutorial not done) or ``task k`` (answered k - 1 positions of their
    sequence: they left on the k-th). Returns ``step, left`` in study order; steps nobody left at
    are absent.
    """
    idle = pd.Timestamp(now, tz="UTC") - participants["last_active_at"]
    gone = participants[
        participants["status"].astype("str").isin(UNDER_WAY) & (idle > pd.Timedelta(minutes=inactive_minutes))
    ]
    answered = responses[responses["position"] > 0].groupby("participant_id")["position"].nunique()
    steps = [
        STEPS[s] if s in STEPS else f"task {int(answered.get(pid, 0)) + 1}"
        for pid, s in zip(gone["participant_id"], gone["status"].astype("str"), strict=True)
    ]
    counts = pd.Series(steps, dtype="str").value_counts()
    order = [s for s in STEPS.values() if s in counts] + sorted(
        (s for s in counts.index if s.startswith("task ")), key=lambda s: int(s.split()[1])
    )
    return pd.DataFrame({"step": order, "left": [int(counts[s]) for s in order]})


def outcome_counts(participants: pd.DataFrame) -> pd.DataFrame:
    """How many participants ended with each outcome and code: ``outcome, code_shown, participants``.

    Participants without an outcome are ``under way or left``; those who declined consent are left out.
    """
    people = participants[participants["status"].astype("str") != "declined"]
    outcome = people["outcome"].astype("object").where(people["outcome"].notna(), "under way or left")
    code = people["code_shown"].astype("object").where(people["code_shown"].notna(), "")
    table = pd.DataFrame({"outcome": outcome, "code_shown": code})
    return table.value_counts().rename("participants").reset_index().sort_values(["outcome", "code_shown"])
