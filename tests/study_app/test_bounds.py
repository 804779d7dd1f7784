"""Telemetry and answer bounds, required ratings, phase-2 consistency and concurrent double submits."""

from __future__ import annotations

import threading

import pytest
import sqlalchemy as sa
from participant_steps import (
    ANSWERS,
    consent,
    page_state,
    post_answer,
    stored_counts,
    the_participant,
    to_first_task,
)
from test_admin import admin, login  # noqa: F401  (admin is a fixture)

from study_app.admin.models import Exclusion
from study_app.extensions import db
from study_app.models import Event, PageView, QuestionnaireAnswer, Response
from study_app.participant import answers, tasks


@pytest.fixture
def at_task_1(app, client, loaded):
    csrf = to_first_task(client)
    return csrf, page_state(client.get("/task/1").text)


def events(client, csrf, body, position=1):
    return client.post(f"/api/task/{position}/events", json=body, headers={"X-CSRFToken": csrf})


def stored_events(app) -> list[tuple]:
    with app.app_context():
        return db.session.execute(sa.select(Event.kind, Event.client_ts, Event.payload).order_by(Event.id)).all()


@pytest.mark.parametrize("endpoint", ["answer", "events"])
def test_deeply_nested_json_is_a_400(app, client, at_task_1, endpoint):
    csrf, _ = at_task_1
    before = stored_counts(app)
    nested = '{"phase": 1, "events": [{"kind": "toggle", "ts": 1, "selected": [[[[[1]]]]]}]}'
    for body in ("[" * 100_000 + "]" * 100_000, nested, '{"phase": 1, "events": [1, 2'):
        reply = client.post(
            f"/api/task/1/{endpoint}", data=body, content_type="application/json", headers={"X-CSRFToken": csrf}
        )
        assert reply.status_code == 400 and reply.json["ok"] is False, body[:40]
    assert stored_counts(app) == before


@pytest.mark.parametrize(
    "event, message",
    [
        ({"kind": "toggle", "ts": 1, "note": "=HYPERLINK()"}, "unknown event key 'note'"),
        ({"kind": "keylog", "ts": 1}, "unknown event kind 'keylog'"),
        ({"kind": "toggle", "ts": 10**14}, "event 'ts' must be"),
        ({"kind": "toggle", "ts": -1}, "event 'ts' must be"),
        ({"kind": "toggle", "ts": 1, "unit": 10**9}, "event 'unit' must be"),
        ({"kind": "toggle", "ts": 1, "unit": 2.5}, "event 'unit' must be"),
        ({"kind": "toggle", "ts": 1, "on": "yes"}, "event 'on' must be"),
        ({"kind": "toggle", "ts": 1, "selected": [1, "2"]}, "event 'selected' must be"),
        ({"kind": "toggle", "ts": 1, "phase": 7}, "event 'phase' must be"),
    ],
)
def test_event_kinds_keys_and_numbers_are_checked(app, client, at_task_1, event, message):
    csrf, s = at_task_1
    before = stored_counts(app)
    for reply in (
        events(client, csrf, {"phase": 1, "events": [event]}),
        post_answer(client, csrf, 1, s["selectable"][:1], events=[event]),
    ):
        assert reply.status_code == 400 and message in reply.json["error"]
    assert stored_counts(app) == before


def test_what_annotate_js_sends_is_stored_as_sent(app, client, at_task_1):
    csrf, s = at_task_1
    sent = [
        {
            "kind": "toggle",
            "ts": 1700000000001,
            "phase": 1,
            "selected": [s["selectable"][0]],
            "unit": s["selectable"][0],
            "on": True,
        },
        {"kind": "blur", "ts": 1700000000002, "phase": 1, "selected": []},
    ]
    before = len(stored_events(app))  # the tutorial's answer brought one
    assert events(client, csrf, {"phase": 1, "events": sent}).json == {"ok": True}
    assert stored_events(app)[before:] == [
        (e["kind"], e["ts"], {k: v for k, v in e.items() if k not in ("kind", "ts")}) for e in sent
    ]


def test_events_per_participant_and_task_are_capped(app, client, at_task_1, monkeypatch):
    assert answers.MAX_TASK_EVENTS == 2000  # the documented number
    monkeypatch.setattr(tasks, "MAX_TASK_EVENTS", 25)
    csrf, s = at_task_1
    batch = [{"kind": "focus", "ts": 1700000000000 + i} for i in range(10)]
    start = len(stored_events(app))
    assert [events(client, csrf, {"phase": 1, "events": batch}).status_code for _ in range(2)] == [200, 200]
    over = events(client, csrf, {"phase": 1, "events": batch})
    assert over.status_code == 429 and "limit of 25 events" in over.json["error"]
    assert len(stored_events(app)) == start + 20
    # the answer is stored; only the telemetry that fits is kept with it
    reply = post_answer(client, csrf, 1, s["selectable"][:1], events=batch)
    assert reply.status_code == 200
    assert len(stored_events(app)) == start + 25 and stored_counts(app)[0] == 2  # tutorial + task 1


@pytest.mark.parametrize(
    "missing, message", [("confidence", "'confidence' is required"), ("would_predict", "'would_predict' is required")]
)
def test_enabled_ratings_are_required_on_main_tasks(app, client, at_task_1, missing, message):
    csrf, s = at_task_1
    before = stored_counts(app)
    reply = post_answer(client, csrf, 1, s["selectable"][:1], **{missing: None})
    assert reply.status_code == 400 and message in reply.json["error"]
    assert stored_counts(app) == before
    assert post_answer(client, csrf, 1, s["selectable"][:1]).status_code == 200


def test_attention_checks_need_no_ratings(app, client, at_task_1):
    csrf, s = at_task_1
    post_answer(client, csrf, 1, s["selectable"][:1])
    post_answer(client, csrf, 1, s["selectable"][:1], phase=2)
    check = page_state(client.get("/task/2").text)
    reply = post_answer(client, csrf, 2, check["selectable"][:1], confidence=None, would_predict=None)
    assert reply.status_code == 200
    with app.app_context():
        stored = db.session.execute(
            sa.select(Response.confidence, Response.would_predict).order_by(Response.id.desc()).limit(1)
        ).one()
    assert tuple(stored) == (None, None)


def test_phase_2_repeats_the_phase_1_selection(app, client, at_task_1):
    csrf, s = at_task_1
    post_answer(client, csrf, 1, s["selectable"][:2])
    before = stored_counts(app)
    for other in (s["selectable"][:1], s["selectable"][:3], []):
        reply = post_answer(client, csrf, 1, other, phase=2)
        assert reply.status_code == 400 and "repeat the selection of phase 1" in reply.json["error"]
    assert stored_counts(app) == before
    assert post_answer(client, csrf, 1, s["selectable"][:2], phase=2).status_code == 200


def at_once(n: int, request) -> list:
    """Run ``request(i)`` in ``n`` threads released together; return the results in order."""
    barrier, results = threading.Barrier(n), [None] * n

    def run(i):
        barrier.wait()
        results[i] = request(i)

    threads = [threading.Thread(target=run, args=(i,)) for i in range(n)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return results


def clients_of(app, client, n):
    """``n`` clients sharing ``client``'s session cookie: the same browser sending at once."""
    cookie = client.get_cookie("session").value
    out = []
    for _ in range(n):
        c = app.test_client()
        c.set_cookie("session", cookie)
        out.append(c)
    return out


def test_first_page_view_at_once_records_one_view(app, client, loaded):
    to_first_task(client)
    clients = clients_of(app, client, 6)
    codes = at_once(6, lambda i: clients[i].get("/task/1").status_code)
    assert codes == [200] * 6
    with app.app_context():
        assert (
            db.session.scalar(sa.select(sa.func.count(PageView.id)).where(PageView.phase == 1)) == 2
        )  # tutorial, task 1


def test_questionnaire_sent_at_once_is_stored_once(app, client, loaded):
    csrf = consent(client)
    clients = clients_of(app, client, 6)
    replies = at_once(6, lambda i: clients[i].post("/questionnaire", data={**ANSWERS, "csrf_token": csrf}))
    assert [r.status_code for r in replies] == [302] * 6
    assert {r.location for r in replies} == {"/tutorial"}
    with app.app_context():
        rows = db.session.execute(sa.select(QuestionnaireAnswer.question_id, QuestionnaireAnswer.value)).all()
    assert sorted(rows) == sorted((k[2:], v) for k, v in ANSWERS.items() if k.startswith("q_"))


def answer_all_tasks(client, csrf) -> None:
    """Answer every task (phase 2 repeats phase 1) without opening /end, which would finish the study."""
    while (where := client.get("/s/fixture").location).startswith("/task/"):
        s = page_state(client.get(where).text)
        chosen = s["selected"] if s["mode"] == "review" else s["selectable"][:1]
        assert post_answer(client, csrf, s["position"], chosen, phase=s["phase"]).status_code == 200


def test_end_at_once_gives_one_completion_code(app, client, loaded):
    answer_all_tasks(client, to_first_task(client))
    assert the_participant(app).status == "tasks"
    clients = clients_of(app, client, 6)
    pages = at_once(6, lambda i: clients[i].get("/end"))
    assert [p.status_code for p in pages] == [200] * 6
    stored = the_participant(app)
    assert stored.status == "finished" and stored.completion_code
    assert all(stored.completion_code in p.text for p in pages)


def test_exclusion_sent_at_once_is_stored_once(app, client, csrf_of, admin, loaded):
    consent(client)
    public_id = the_participant(app).public_id
    login(client, csrf_of)
    token = csrf_of(client.get(f"/admin/participants/{public_id}").text)
    clients = clients_of(app, client, 6)
    replies = at_once(
        6,
        lambda i: clients[i].post(
            f"/admin/participants/{public_id}/exclude", data={"reason": f"reason {i}", "csrf_token": token}
        ),
    )
    assert [r.status_code for r in replies] == [302] * 6
    with app.app_context():
        assert db.session.scalar(sa.select(sa.func.count(Exclusion.id))) == 1
