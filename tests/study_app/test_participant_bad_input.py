"""Bad input to the answer API: each gives a clear 4xx and stores nothing.

A replay of the identical answer for an answered assignment is acknowledged with 200 and
``duplicate: true`` (a double click or a retry after a lost reply), storing nothing new.
"""

from __future__ import annotations

import pytest
from participant_steps import answer_body, page_state, post_answer, stored_counts, to_first_task, token


@pytest.fixture
def at_task_1(app, client, loaded):
    """A participant at task 1; yield (csrf token, task 1's page state)."""
    csrf = to_first_task(client)
    return csrf, page_state(client.get("/task/1").text)


def rejected(app, reply, status: int, message: str, before) -> None:
    assert reply.status_code == status
    assert reply.json["ok"] is False and message in reply.json["error"]
    assert stored_counts(app) == before


@pytest.mark.parametrize(
    "change, message",
    [
        ({"selected": [0, 0]}, "lists a unit twice"),
        ({"selected": "0,1"}, "list of unit indices"),
        ({"selected": []}, "select at least 1"),
        ({"phase": 3}, "'phase' must be 1 or 2"),
        ({"confidence": 9}, "'confidence' must be an integer from 1 to 5"),
        ({"confidence": "3"}, "'confidence' must be an integer"),
        ({"agreement": 4}, "'agreement' is required in phase 2 and only there"),
        ({"would_predict": "maybe"}, "'would_predict' must be one of"),
        ({"active_ms": -5}, "'active_ms' must be a non-negative integer"),
        ({"events": [{"kind": "toggle"}]}, "each event needs"),
        ({"events": [{"kind": "x", "ts": 1}] * 1001}, "at most 1000 events"),
    ],
)
def test_malformed_answer(app, client, at_task_1, change, message):
    csrf, s = at_task_1
    before = stored_counts(app)
    reply = client.post(
        "/api/task/1/answer", json={**answer_body(s["selectable"][:1]), **change}, headers={"X-CSRFToken": csrf}
    )
    rejected(app, reply, 400, message, before)


def test_body_must_be_a_json_object(app, client, at_task_1):
    csrf, _ = at_task_1
    before = stored_counts(app)
    reply = client.post(
        "/api/task/1/answer", data="not json", headers={"X-CSRFToken": csrf}, content_type="application/json"
    )
    rejected(app, reply, 400, "JSON object", before)


def test_tampered_unit_index(app, client, at_task_1):
    csrf, s = at_task_1
    before = stored_counts(app)
    target = s["selectable"][-1] + 1  # the boxed target itself is not selectable
    for unit in (target, target + 1, -1, 10_000):
        rejected(
            app, post_answer(client, csrf, 1, [s["selectable"][0], unit]), 400, f"unit {unit} is not selectable", before
        )


def test_task_not_assigned(app, client, at_task_1):
    csrf, s = at_task_1
    before = stored_counts(app)
    rejected(app, post_answer(client, csrf, 99, [0]), 404, "task 99 is not assigned to you", before)
    assert client.get("/task/99").location == "/task/1"


def test_out_of_order_submit(app, client, at_task_1):
    csrf, s = at_task_1
    before = stored_counts(app)
    rejected(app, post_answer(client, csrf, 3, [0]), 409, "task 3 phase 1 is not the current step", before)
    rejected(app, post_answer(client, csrf, 1, s["selectable"][:1], phase=2), 409, "not the current step", before)
    rejected(app, post_answer(client, csrf, 2, [0], phase=2), 400, "task 2 has no phase 2", before)


def test_replay_is_acknowledged_and_stores_nothing(app, client, at_task_1):
    csrf, s = at_task_1
    first = post_answer(client, csrf, 1, s["selectable"][:2])
    assert first.status_code == 200 and "duplicate" not in first.json
    after_first = stored_counts(app)
    again = post_answer(client, csrf, 1, s["selectable"][:2])
    assert again.status_code == 200 and again.json["duplicate"] is True and again.json["next"] == "/task/1"
    assert stored_counts(app) == after_first
    rejected(app, post_answer(client, csrf, 1, s["selectable"][:3]), 409, "already answered", after_first)
    # the tutorial, answered long ago, replayed with a different answer
    rejected(app, post_answer(client, csrf, 0, [5]), 409, "already answered", after_first)


def test_a_stale_answer_says_where_to_go_on(app, client, at_task_1):
    csrf, s = at_task_1
    post_answer(client, csrf, 1, s["selectable"][:2])
    stale = post_answer(client, csrf, 1, s["selectable"][:3])  # another tab's different answer
    assert stale.status_code == 409 and stale.json["stale"] is True
    assert stale.json["next"] == "/task/1"  # phase 2 of the same task is what comes next
    early = post_answer(client, csrf, 3, [0])
    assert early.status_code == 409 and early.json["next"] == "/task/1"


def test_missing_csrf_token(app, client, at_task_1):
    _, s = at_task_1
    before = stored_counts(app)
    reply = client.post("/api/task/1/answer", json=answer_body(s["selectable"][:1]))
    rejected(app, reply, 400, "security token is missing", before)
    reply = client.post("/api/task/1/answer", json=answer_body(s["selectable"][:1]), headers={"X-CSRFToken": "forged"})
    rejected(app, reply, 400, "security token", before)


def test_oversized_payload(app, client, at_task_1):
    csrf, s = at_task_1
    before = stored_counts(app)
    body = answer_body(s["selectable"][:1], padding="x" * (app.config["MAX_CONTENT_LENGTH"] + 1))
    reply = client.post("/api/task/1/answer", json=body, headers={"X-CSRFToken": csrf})
    assert reply.status_code == 413 and reply.json["ok"] is False
    assert stored_counts(app) == before


def test_no_participant_in_this_browser(app, client, loaded):
    stranger = app.test_client()
    page = stranger.get("/s/fixture")
    before = stored_counts(app)
    reply = stranger.post("/api/task/1/answer", json=answer_body([0]), headers={"X-CSRFToken": token(page.text)})
    rejected(app, reply, 403, "no study in progress", before)


def test_events_for_another_task_are_refused(app, client, at_task_1):
    csrf, _ = at_task_1
    before = stored_counts(app)
    reply = client.post(
        "/api/task/3/events", json={"phase": 1, "events": [{"kind": "toggle", "ts": 1}]}, headers={"X-CSRFToken": csrf}
    )
    rejected(app, reply, 409, "not open", before)
