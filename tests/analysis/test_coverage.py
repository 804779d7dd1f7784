"""Coverage figures on a hand-made export: usable answers, where people left, outcomes."""

from __future__ import annotations

from datetime import datetime

import pandas as pd

from analysis.coverage import dropouts_by_step, outcome_counts, task_coverage

NOW = datetime(2026, 1, 1, 12, 0)


def people() -> pd.DataFrame:
    """a done; b failed attention; c excluded; d left on its 2nd task; e left after the questionnaire;
    f still at its first task (active 5 min ago); g declined."""
    t = lambda minutes: pd.Timestamp(NOW, tz="UTC") - pd.Timedelta(minutes=minutes)  # noqa: E731
    return pd.DataFrame(
        {
            "participant_id": list("abcdefg"),
            "status": ["finished", "finished", "finished", "tasks", "questionnaire", "tutorial", "declined"],
            "excluded": [0, 0, 1, 0, 0, 0, 0],
            "outcome": pd.Series(["completed", "failed_attention", "completed", None, None, None, None], dtype="str"),
            "code_shown": pd.Series(["personal", "FAIL", "personal", None, None, None, None], dtype="str"),
            "last_active_at": [t(100), t(100), t(100), t(90), t(61), t(5), t(300)],
        }
    )


def answers() -> pd.DataFrame:
    rows = [  # participant, task, kind, position, phase, active ms
        ("a", "tut", "tutorial", 0, 1, 1000),
        ("a", "t1", "main", 1, 1, 10_000),
        ("a", "t1", "main", 1, 2, 99_000),  # phase 2: not an answer to count
        ("a", "t2", "main", 2, 1, 20_000),
        ("b", "t1", "main", 1, 1, 50_000),
        ("c", "t2", "main", 1, 1, 70_000),
        ("d", "t2", "main", 1, 1, 40_000),
    ]
    cols = ["participant_id", "task_id", "kind", "position", "phase", "active_ms"]
    return pd.DataFrame(rows, columns=cols)


def test_usable_answers_leave_out_excluded_and_failed_participants():
    out = task_coverage(people(), answers(), ["t1", "t2", "t3"], 2).set_index("task_id")
    assert out["usable"].to_dict() == {"t1": 1, "t2": 2, "t3": 0}  # t1: a (b failed); t2: a, d (c excluded)
    assert out["missing"].tolist() == [1, 0, 2]
    assert out.loc["t2", "median_s"] == 30.0  # median of 20 s and 40 s
    assert pd.isna(task_coverage(people(), answers(), ["t1"], None)["missing"].iloc[0])


def test_dropouts_by_the_page_they_left_on():
    out = dropouts_by_step(people(), answers(), NOW, 60)
    assert out.to_dict("list") == {"step": ["tutorial", "task 2"], "left": [1, 1]}  # f is active, g declined
    assert dropouts_by_step(people(), answers(), NOW, 95).to_dict("list") == {"step": [], "left": []}


def test_outcomes_with_their_codes():
    out = outcome_counts(people())
    assert out.to_dict("list") == {
        "outcome": ["completed", "failed_attention", "under way or left"],
        "code_shown": ["personal", "FAIL", ""],
        "participants": [2, 1, 3],
    }
