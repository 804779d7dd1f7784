"""The participant's way through a study, page by page, on SQLite and PostgreSQL."""

from __future__ import annotations

import json
import re
import shutil

from participant_steps import (
    ANSWERS,
    consent,
    enrol_token,
    page_state,
    post_answer,
    stored_counts,
    the_participant,
    to_first_task,
    token,
)
from sqlalchemy import func, select

from study_app.extensions import db
from study_app.models import (
    Assignment,
    Event,
    PageView,
    Participant,
    QuestionnaireAnswer,
    Response,
)

PID = "5f0c1a2b3c4d5e6f7a8b9c0d"


def test_study_link_shows_consent(client, loaded):
    page = client.get("/s/fixture")
    assert page.status_code == 200
    assert "Which code mattered? (test fixture)" in page.text and "I do not agree" in page.text
    assert "<h2>What this study is about</h2>" in page.text  # consent.md rendered
    assert client.get("/s/nope").status_code == 404


def test_decline_stores_nothing_but_the_decline(app, client, loaded):
    page = client.get(f"/s/fixture?PROLIFIC_PID={PID}", follow_redirects=True).text
    done = client.post(
        "/s/fixture/consent", data={"choice": "decline", "csrf_token": token(page), "enrol_token": enrol_token(page)}
    )
    assert done.location == "/declined"
    assert "Nothing else was recorded" in client.get("/declined").text
    with app.app_context():
        people = db.session.scalars(select(Participant)).all()
        assert [(p.status, p.prolific_pid) for p in people] == [("declined", None)]
        assert db.session.scalars(select(Assignment)).all() == []
    assert client.get("/questionnaire").status_code == 403  # the browser is no longer tied to anyone


def test_a_replayed_consent_enrols_no_one_twice(app, client, loaded):
    page = client.get("/s/fixture").text
    form = {
        "choice": "agree",
        "csrf_token": token(page),
        "enrol_token": re.search(r'name="enrol_token" value="([^"]+)"', page).group(1),
    }
    served = client.get_cookie("session").value  # the cookie of the browser that was served the form
    first = client.post("/s/fixture/consent", data=form)
    retry = app.test_client()  # the reply was lost: the browser never got the participant's cookie
    retry.set_cookie("session", served)
    again = retry.post("/s/fixture/consent", data=form)
    assert again.location == first.location == "/questionnaire"
    assert retry.get("/questionnaire").status_code == 200  # the retry tied the browser to the participant
    other = app.test_client().get("/s/fixture").text  # a new visit to the link gets a new token
    assert re.search(r'name="enrol_token" value="([^"]+)"', other).group(1) != form["enrol_token"]
    with app.app_context():
        assert db.session.scalar(select(func.count(Participant.id))) == 1
        assert db.session.scalar(select(func.count(Assignment.id))) == 4


def test_consent_token_is_bound_to_the_session_that_was_served_it(app, client, loaded):
    page = client.get("/s/fixture").text
    served = enrol_token(page)
    client.post("/s/fixture/consent", data={"choice": "agree", "csrf_token": token(page), "enrol_token": served})
    thief = app.test_client()  # another browser that learnt the token cannot take the participant over
    resp = thief.post(
        "/s/fixture/consent",
        data={"choice": "agree", "enrol_token": served, "csrf_token": token(thief.get("/s/fixture").text)},
    )
    assert resp.status_code == 400 and "expired" in resp.text
    assert thief.get("/questionnaire").status_code == 403
    with app.app_context():
        assert db.session.scalar(select(func.count(Participant.id))) == 1


def test_agree_enrols_with_prolific_ids_and_a_sequence(app, client, loaded):
    consent(client, query=f"?PROLIFIC_PID={PID}&STUDY_ID=st1&SESSION_ID=se1")
    with app.app_context():
        p = db.session.scalar(select(Participant))
        assert (p.prolific_pid, p.prolific_study_id, p.prolific_session_id) == (PID, "st1", "se1")
        assert p.status == "consented" and len(p.resume_code) == 12
        seq = [(a.position, a.kind) for a in p.assignments]
        # fixture: a tutorial, 2 main tasks per participant, the attention check after the first
        assert seq == [(0, "tutorial"), (1, "main"), (2, "attention"), (3, "main")]
        main = [a.study_task.task_id for a in p.assignments if a.kind == "main"]
        assert len(set(main)) == 2 and set(main) <= {"fx-0", "fx-1", "fx-2"}


def test_questionnaire_requires_answers_and_stores_them(app, client, loaded):
    csrf = consent(client)
    bad = client.post("/questionnaire", data={**ANSWERS, "csrf_token": csrf, "q_years_programming": "99", "q_role": ""})
    assert bad.status_code == 200 and "Please answer this question." in bad.text
    assert "Number must be between 0 and 60" in bad.text
    with app.app_context():
        assert db.session.scalars(select(QuestionnaireAnswer)).all() == []
    ok = client.post("/questionnaire", data={**ANSWERS, "csrf_token": csrf})
    assert ok.location == "/tutorial"
    with app.app_context():
        answers = {a.question_id: a.value for a in db.session.scalars(select(QuestionnaireAnswer))}
    assert answers == {
        "role": "Student",
        "years_programming": "5",
        "python_expertise": "3 - Intermediate",
        "ml_background": "Not at all",
    }


def test_questionnaire_labels_every_field_and_gives_one_error_tied_to_it(client, loaded):
    csrf = consent(client)
    page = client.get("/questionnaire").text
    assert '<label class="field-label" for="q_years_programming">' in page
    bad = client.post("/questionnaire", data={**ANSWERS, "csrf_token": csrf, "q_years_programming": "8.5"}).text
    # "8.5" is no whole number, and so also outside the range: only the first message is shown
    assert bad.count('class="error"') == 1
    assert '<p class="error" id="q_years_programming-error">Not a valid integer value.</p>' in bad
    field = re.search(r"<input[^>]*id=\"q_years_programming\"[^>]*>", bad).group(0)
    assert 'aria-describedby="q_years_programming-error"' in field and 'aria-invalid="true"' in field


def test_tutorial_gives_feedback_with_the_models_rationale(client, loaded):
    csrf = consent(client)
    client.post("/questionnaire", data={**ANSWERS, "csrf_token": csrf})
    first = page_state(client.get("/tutorial").text)
    assert first["mode"] == "select" and first["model"] == []  # the model's answer stays hidden
    assert post_answer(client, csrf, 0, [3]).json == {"ok": True, "next": "/tutorial"}
    feedback = client.get("/tutorial")
    shown = page_state(feedback.text)
    # tutorial.jsonl: rationale units [17, 1, 16], all left of the target (18)
    assert shown["mode"] == "feedback" and shown["selected"] == [3] and shown["model"] == [17, 1, 16]
    assert client.post("/tutorial", data={"csrf_token": csrf}).location == "/task/1"


def test_feedback_shows_the_explainer_the_study_names(client, runner, study_dir, tmp_path):
    folder = shutil.copytree(study_dir, tmp_path / "study")
    for name in ("tasks.jsonl", "tutorial.jsonl"):
        lines = []
        for line in (folder / name).read_text().splitlines():
            task = json.loads(line)
            n = task["target"]["unit_index"]
            task["explanations"] = {
                "occlusion": {"unit_scores": [0.0] * n, "units": [5, 2], "comprehensiveness": None, "sufficiency": None}
            }
            lines.append(json.dumps(task))
        (folder / name).write_text("\n".join(lines) + "\n")
    toml = (folder / "study.toml").read_text().replace("[annotation]", '[annotation]\nexplainer = "occlusion"')
    (folder / "study.toml").write_text(toml)
    assert runner.invoke(args=["load-study", str(folder)]).exit_code == 0
    csrf = consent(client)
    client.post("/questionnaire", data={**ANSWERS, "csrf_token": csrf})
    post_answer(client, csrf, 0, [3])
    shown = page_state(client.get("/tutorial").text)
    assert shown["mode"] == "feedback" and shown["model"] == [5, 2]  # not greedy's [17, 1, 16]


def walk(client, csrf) -> list[dict]:
    """Answer every task (both phases) with the first two selectable units; return the page states."""
    states = []
    url = "/task/1"
    while url.startswith("/task/"):
        s = page_state(client.get(url).text)
        states.append(s)
        selected = s["selectable"][:2] if s["mode"] == "select" else s["selected"]
        reply = post_answer(client, csrf, s["position"], selected, phase=s["phase"])
        assert reply.status_code == 200, reply.json
        url = reply.json["next"]
    return states + [url]


def test_full_walk_stores_everything_and_ends_with_a_code(app, client, loaded):
    csrf = to_first_task(client)
    *states, end = walk(client, csrf)
    # fixture has second_phase = true: main tasks get a review phase, the attention check does not
    assert [(s["position"], s["phase"], s["mode"]) for s in states] == [
        (1, 1, "select"),
        (1, 2, "review"),
        (2, 1, "select"),
        (3, 1, "select"),
        (3, 2, "review"),
    ]
    assert states[1]["selected"] == states[0]["selectable"][:2]  # phase 2 shows the own choice
    assert end == "/end"
    page = client.get("/end")
    p = the_participant(app)
    assert p.status == "finished" and p.finished_at is not None
    assert p.completion_code in page.text
    assert f"https://example.org/done?cc={p.completion_code}" in page.text
    assert stored_counts(app)[0] == 1 + 5  # tutorial + five task phases
    with app.app_context():
        attention = db.session.scalar(select(Response).join(Response.assignment).where(Assignment.kind == "attention"))
        assert attention.attention_passed is False  # units [0, 1] selected, the check asks for [0] only
        assert attention.submitted_at >= attention.shown_at


def test_attention_check_passes_with_the_asked_units(app, client, loaded):
    csrf = to_first_task(client)
    s = page_state(client.get("/task/1").text)
    post_answer(client, csrf, 1, s["selectable"][:1])
    post_answer(client, csrf, 1, s["selectable"][:1], phase=2)
    assert "select only the word `def`" in client.get("/task/2").text
    assert post_answer(client, csrf, 2, [0]).status_code == 200  # unit 0 of fx-0 is "def"
    with app.app_context():
        r = db.session.scalar(select(Response).join(Response.assignment).where(Assignment.kind == "attention"))
        assert r.attention_passed is True


def test_reload_restores_the_selection_in_progress(client, loaded):
    csrf = to_first_task(client)
    events = [
        {"kind": "toggle", "ts": 10, "unit": 2, "selected": [2]},
        {"kind": "toggle", "ts": 11, "unit": 4, "selected": [2, 4]},
        {"kind": "blur", "ts": 12},
    ]
    sent = client.post("/api/task/1/events", json={"phase": 1, "events": events}, headers={"X-CSRFToken": csrf})
    assert sent.json == {"ok": True}
    assert page_state(client.get("/task/1").text)["selected"] == [2, 4]


def test_shown_at_is_kept_across_reloads(app, client, loaded):
    to_first_task(client)
    client.get("/task/1")
    with app.app_context():
        first = db.session.scalar(select(PageView.shown_at).join(Assignment).where(Assignment.position == 1))
    client.get("/task/1")
    with app.app_context():
        views = db.session.scalars(select(PageView.shown_at).join(Assignment).where(Assignment.position == 1)).all()
    assert views == [first]


def test_back_button_and_skipping_ahead_go_to_the_current_task(client, loaded):
    to_first_task(client)
    assert client.get("/questionnaire").location == "/task/1"
    assert client.get("/tutorial").location == "/task/1"
    assert client.get("/task/3").location == "/task/1"
    assert client.get("/end").location == "/task/1"
    assert client.get("/s/fixture").location == "/task/1"


def test_resume_code_on_another_device(app, client, loaded):
    to_first_task(client)
    code = the_participant(app).resume_code
    other = app.test_client()
    csrf = token(other.get("/resume").text)
    wrong = other.post("/resume", data={"code": "NOPE-NOPE", "csrf_token": csrf})
    assert wrong.status_code == 400 and "No study in progress has this code" in wrong.text
    typed = f"{code[:4].lower()}-{code[4:].lower()}"
    assert other.post("/resume", data={"code": typed, "csrf_token": csrf}).location == "/task/1"
    assert f"{code[:4]}-{code[4:8]}-{code[8:]}" in other.get("/task/1").text  # the code is shown on every page


def test_events_are_stored_with_their_task(app, client, loaded):
    csrf = to_first_task(client)
    s = page_state(client.get("/task/1").text)
    post_answer(client, csrf, 1, s["selectable"][:1])
    with app.app_context():
        kinds = db.session.execute(select(Event.kind, Event.client_ts, Event.study_task_id)).all()
    assert len(kinds) == 2 and all(k == "toggle" and ts == 1700000000000 and t is not None for k, ts, t in kinds)
