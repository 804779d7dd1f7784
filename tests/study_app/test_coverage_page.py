"""Answers per task: dropouts release their tasks, a full study turns arrivals away, outcomes get their codes."""

from __future__ import annotations

import random
import re
import shutil
import threading
from collections import Counter
from datetime import timedelta

import pytest
import sqlalchemy as sa
from participant_steps import (
    ANSWERS,
    consent,
    enrol_token,
    page_state,
    post_answer,
    stored_counts,
    to_first_task,
    token,
)
from sqlalchemy import select

from study_app.admin.commands import create_admin
from study_app.export.bundle import build_export
from study_app.extensions import db
from study_app.models import Assignment, Participant, Response, Study, StudyTask, utcnow
from study_app.participant.progress import task_counts

N = 4  # answers per task in these studies


def study_variant(study_dir, tmp_path, study_lines: str = "", extra: str = "", questions: str = ""):
    """Copy the fixture study, adding lines to [study], tables to study.toml and text to questionnaire.toml."""
    folder = tmp_path / "variant"
    shutil.copytree(study_dir, folder)
    toml = folder / "study.toml"
    toml.write_text(toml.read_text().replace("seed = 7\n", f"seed = 7\n{study_lines}\n") + extra)
    (folder / "questionnaire.toml").write_text((folder / "questionnaire.toml").read_text() + questions)
    return folder


def load(runner, folder) -> str:
    result = runner.invoke(args=["load-study", str(folder)])
    assert result.exit_code == 0, result.output
    return "fixture"


def usable_answers(app) -> Counter:
    """Phase-1 answers to main tasks of participants whose study did not end unusable (the oracle)."""
    with app.app_context():
        rows = db.session.execute(
            select(StudyTask.task_id)
            .join(Assignment, Assignment.study_task_id == StudyTask.id)
            .join(Response, Response.assignment_id == Assignment.id)
            .join(Participant, Participant.id == Assignment.participant_id)
            .where(
                Assignment.kind == "main",
                Response.phase == 1,
                sa.or_(Participant.outcome.is_(None), Participant.outcome == "completed"),
            )
        ).all()
        tasks = db.session.scalars(select(StudyTask.task_id).where(StudyTask.kind == "main")).all()
    counts = Counter(dict.fromkeys(tasks, 0))
    counts.update(t for (t,) in rows)
    return counts


def bot(client, rng: random.Random, leave_at: int | None):
    """Take the study step by step (a generator: one step per ``next``); stop for good at step ``leave_at``.

    Yields after every step; returns "full" when the study turned the bot away, else "left" or "done".
    """
    page = client.get(f"/s/fixture?PROLIFIC_PID={rng.getrandbits(96):024x}", follow_redirects=True).text
    if "This study is full" in page:
        return "full"
    csrf = token(page)
    reply = client.post(
        "/s/fixture/consent", data={"choice": "agree", "csrf_token": csrf, "enrol_token": enrol_token(page)}
    )
    if "This study is full" in reply.text:
        return "full"
    steps = 0
    yield
    client.post("/questionnaire", data={**ANSWERS, "csrf_token": csrf})
    tutorial = page_state(client.get("/tutorial").text)
    post_answer(client, csrf, 0, selected=tutorial["selectable"][:1])
    client.post("/tutorial", data={"csrf_token": csrf})
    url = "/task/1"
    while url.startswith("/task/"):
        steps += 1
        if steps == leave_at:
            return "left"
        yield
        page = client.get(url).text
        s = page_state(page)
        selected = [0] if "Attention check" in page else s["selectable"][:1] if s["mode"] == "select" else s["selected"]
        reply = post_answer(client, csrf, s["position"], selected, phase=s["phase"])
        assert reply.status_code == 200, reply.json
        url = reply.json["next"]
    assert "Your completion code" in client.get("/end").text
    return "done"


def age(app, public_ids: list[str], minutes: int = 120) -> None:
    """Let time pass for participants who left: their last activity moves ``minutes`` into the past."""
    with app.app_context():
        db.session.execute(
            sa.update(Participant)
            .where(Participant.public_id.in_(public_ids))
            .values(last_active_at=utcnow() - timedelta(minutes=minutes))
        )
        db.session.commit()


def test_dropouts_are_released_and_every_task_ends_with_n_answers(app, runner, study_dir, tmp_path):
    """40% leave at a random step; up to 3 take part at once; in the end every task has N answers."""
    load(runner, study_variant(study_dir, tmp_path, f"answers_per_task = {N}"))
    rng = random.Random(5)
    running: list = []  # bots under way
    left: list[tuple[str, int]] = []  # (public id, arrivals when it left) of bots not yet aged
    outcomes: Counter = Counter()
    arrivals, last = 0, None
    while running or left or last != "full":
        if not running or (len(running) < 3 and rng.random() < 0.5):
            client = app.test_client()
            arrivals += 1
            running.append((bot(client, rng, rng.randint(1, 6) if rng.random() < 0.4 else None), client))
        gen, client = running.pop(rng.randrange(len(running)))
        try:
            next(gen)
            running.append((gen, client))
        except StopIteration as stop:
            outcomes[stop.value] += 1
            last = stop.value
            if stop.value == "left":
                left.append((public_id(client), arrivals))
        # a bot that left is heard of no more: two arrivals later its time of inactivity has passed
        age(app, [pid for pid, at in left if arrivals - at >= 2])
        left = [(pid, at) for pid, at in left if arrivals - at < 2]
        assert arrivals < 300, outcomes
    assert outcomes["left"] >= 3 and outcomes["done"] >= 5, outcomes
    assert set(usable_answers(app).values()) == {N}
    with app.app_context():  # nobody is active: what enrolment counts is the usable answers
        study = db.session.scalar(select(Study))
        assert task_counts(study, utcnow()) == usable_answers(app)
    before = participants(app)
    page = app.test_client().get("/s/fixture", follow_redirects=True)
    assert "This study is full" in page.text and participants(app) == before
    researcher = admin_client(app)
    coverage = researcher.get("/admin/coverage").text
    assert re.findall(r'data-stat="usable">(\d+)<', coverage) == [str(N)] * 3
    assert re.findall(r'data-stat="missing">(\d+)<', coverage) == ["0"] * 3
    left_rows = sum(int(n) for n in re.findall(r'data-stat="left">(\d+)<', coverage))
    assert left_rows == outcomes["left"]


def admin_client(app):
    with app.app_context():
        create_admin("alice", "correct horse battery")
    client = app.test_client()
    csrf = token(client.get("/admin/login").text)
    client.post("/admin/login", data={"username": "alice", "password": "correct horse battery", "csrf_token": csrf})
    return client


def test_preview_walks_every_task_and_stores_nothing(app, loaded):
    researcher = admin_client(app)
    with app.app_context():
        kinds = [t.kind for t in db.session.scalar(select(Study)).tasks]
    url, seen = "/admin/preview/0", 0
    while url.startswith("/admin/preview/"):
        page = researcher.get(url)
        if "End of the preview" in page.text:
            break
        s = page_state(page.text)
        reply = researcher.post(
            s["answerUrl"],
            json={"phase": 1, "selected": s["selectable"][:1]},
            headers={"X-CSRFToken": token(page.text)},
        )
        url, seen = reply.json["next"], seen + 1
    assert seen == len(kinds) == 5  # tutorial, 3 main tasks, the attention check
    assert participants(app) == 0 and stored_counts(app) == (0, 0, 0)


def test_a_test_participant_counts_for_no_task_and_no_export(app, runner, study_dir, tmp_path):
    load(runner, study_variant(study_dir, tmp_path, "answers_per_task = 1"))
    researcher = admin_client(app)
    for _ in range(3):  # however full the study gets, a researcher can still try it
        reply = researcher.post(
            "/admin/test-participant", data={"csrf_token": token(researcher.get("/admin/coverage").text)}
        )
        assert reply.location == "/questionnaire"
        with researcher.session_transaction() as s:
            s.pop("participant")
    with app.app_context():
        assert task_counts(db.session.scalar(select(Study)), utcnow()) == Counter()
        assert db.session.scalar(select(sa.func.count(Participant.id)).where(Participant.is_test)) == 3
        assert build_export("fixture").tables["participants"].empty
        assert len(build_export("fixture", include_test=True).tables["participants"]) == 3


def test_export_records_outcome_and_code_shown(app, client, runner, study_dir, tmp_path):
    extra = '\n[prolific.screened_out]\ncode = "SCREEN1"\n'
    folder = study_variant(study_dir, tmp_path, extra=extra)
    q = folder / "questionnaire.toml"
    q.write_text(
        q.read_text().replace('"Other"]\nrequired = true', '"Other"]\nrequired = true\nscreen_out = ["Other"]', 1)
    )
    load(runner, folder)
    csrf = consent(client)
    client.post("/questionnaire", data={**ANSWERS, "q_role": "Other", "csrf_token": csrf})
    other = app.test_client()
    csrf = to_first_task(other)
    url = "/task/1"
    while url.startswith("/task/"):
        s = page_state(other.get(url).text)
        url = post_answer(
            other, csrf, s["position"], [0] if s["mode"] == "select" else s["selected"], phase=s["phase"]
        ).json["next"]
    other.get("/end")
    with app.app_context():
        people = build_export("fixture").tables["participants"].sort_values("started_at")
    assert people["outcome"].tolist() == ["screened_out", "completed"]
    assert people["code_shown"].tolist() == ["SCREEN1", "personal"]  # the per-person code is in linkage.csv only


def public_id(client) -> str:
    with client.session_transaction() as s:
        return s["participant"]


def participants(app) -> int:
    with app.app_context():
        return db.session.scalar(select(sa.func.count(Participant.id)))


@pytest.mark.parametrize("app", ["postgres"], indirect=True)  # SQLite takes one writer at a time
def test_parallel_arrivals_never_overfill_a_task(request, app, runner, study_dir, tmp_path):
    """12 arrivals consent at the same instant; 3 tasks x 2 answers, 2 tasks each: 3 get in, none beyond N."""
    load(runner, study_variant(study_dir, tmp_path, "answers_per_task = 2"))
    clients = [app.test_client() for _ in range(12)]
    pages = [c.get("/s/fixture", follow_redirects=True).text for c in clients]
    start = threading.Barrier(len(clients))
    replies: list[str] = [""] * len(clients)

    def arrive(i: int) -> None:
        start.wait()
        form = {"choice": "agree", "csrf_token": token(pages[i]), "enrol_token": enrol_token(pages[i])}
        replies[i] = clients[i].post("/s/fixture/consent", data=form, follow_redirects=True).text

    threads = [threading.Thread(target=arrive, args=(i,)) for i in range(len(clients))]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    with app.app_context():
        held = Counter(
            db.session.scalars(
                select(StudyTask.task_id)
                .join(Assignment, Assignment.study_task_id == StudyTask.id)
                .where(Assignment.kind == "main")
            )
        )
    assert sorted(held.values()) == [2, 2, 2]  # 6 slots, 2 per participant: exactly 3 enrolled
    assert participants(app) == 3 and sum("This study is full" in r for r in replies) == 9


def outcome_of(app) -> tuple[str, str, str | None]:
    with app.app_context():
        p = db.session.scalar(select(Participant))
        return p.status, p.outcome, p.completion_code


def test_a_screen_out_answer_ends_the_study_with_its_code(app, client, runner, study_dir, tmp_path):
    extra = '\n[prolific.screened_out]\ncode = "SCREEN1"\nredirect = "https://example.org/screened?cc={code}"\n'
    folder = study_variant(study_dir, tmp_path, extra=extra)
    q = folder / "questionnaire.toml"
    q.write_text(
        q.read_text().replace('"Other"]\nrequired = true', '"Other"]\nrequired = true\nscreen_out = ["Other"]', 1)
    )
    load(runner, folder)
    csrf = consent(client)
    reply = client.post(
        "/questionnaire", data={**ANSWERS, "q_role": "Other", "csrf_token": csrf}, follow_redirects=True
    )
    assert "different background" in reply.text and "SCREEN1" in reply.text
    assert "https://example.org/screened?cc=SCREEN1" in reply.text
    assert outcome_of(app) == ("finished", "screened_out", "SCREEN1")
    assert client.get("/task/1", follow_redirects=True).request.path == "/end"


CHECKS = """
[[attention_checks]]
id = "attention-2"
base_task = "fx-1"
instruction = "Attention check: select only the word `for`."
select_text = "for"
after = 2
"""


@pytest.mark.parametrize(("allowed", "fail", "ended"), [(None, 1, False), (None, 2, True), (1, 1, True)])
def test_failed_attention_ends_only_after_the_allowed_failures(
    app, client, runner, study_dir, tmp_path, allowed, fail, ended
):
    prolific = "\n[prolific]\n" + (f"attention_failures = {allowed}\n" if allowed else "")
    prolific += 'failed_attention = { code = "FAILED1" }\n'
    toml = CHECKS + prolific
    folder = study_variant(study_dir, tmp_path, extra=toml)
    text = (folder / "study.toml").read_text()
    (folder / "study.toml").write_text(
        text.replace('\n[prolific]\ncompleted = { redirect = "https://example.org/done?cc={code}" }\n', "")
    )
    load(runner, folder)
    csrf = to_first_task(client)
    failed = 0
    url = "/task/1"
    while url.startswith("/task/"):
        page = client.get(url).text
        s = page_state(page)
        if "Attention check" in page:
            wrong = failed < fail
            failed += wrong
            selected = [1] if wrong else [u for u in s["selectable"] if u in expected_units(app, s["position"])]
        else:
            selected = s["selectable"][:1] if s["mode"] == "select" else s["selected"]
        url = post_answer(client, csrf, s["position"], selected, phase=s["phase"]).json["next"]
        if ended and failed == fail:
            break
    end = client.get("/end", follow_redirects=True).text
    status, outcome, code = outcome_of(app)
    if ended:
        assert (status, outcome, code) == ("finished", "failed_attention", "FAILED1")
        assert "did not pass the attention checks" in end and "FAILED1" in end
    else:
        assert (status, outcome) == ("finished", "completed") and code != "FAILED1" and code in end


def expected_units(app, position: int) -> list[int]:
    with app.app_context():
        study = db.session.scalar(select(Study))
        p = db.session.scalar(select(Participant))
        task_id = next(a.study_task.task_id for a in p.assignments if a.position == position)
        return next(c["expected"] for c in study.config["attention_checks"] if c["id"] == task_id)


def test_a_full_study_gives_the_full_code_and_redirect_and_stores_nothing(app, runner, study_dir, tmp_path):
    extra = '\n[prolific.full]\ncode = "FULL1"\nredirect = "https://example.org/full?cc={code}"\n'
    load(runner, study_variant(study_dir, tmp_path, "answers_per_task = 1", extra=extra))
    first, second, third = (app.test_client() for _ in range(3))
    consent(first)
    consent(second)  # 3 tasks, 2 each: the second participant gets the one left
    with app.app_context():
        held = db.session.scalars(select(Assignment.participant_id).where(Assignment.kind == "main")).all()
    assert sorted(Counter(held).values()) == [1, 2]
    page = third.get("/s/fixture", follow_redirects=True).text
    assert "This study is full" in page and "FULL1" in page and "https://example.org/full?cc=FULL1" in page
    assert participants(app) == 2
