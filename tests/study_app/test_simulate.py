"""Simulated participants drive a live server; the database must hold exactly what they sent."""

from __future__ import annotations

import random
import socket
import threading

import pytest
import sqlalchemy as sa
from werkzeug.serving import make_server

from contract.prepared_tasks import read_tasks
from study_app.extensions import db
from study_app.models import Assignment, Participant, QuestionnaireAnswer, Response, Study, StudyTask
from study_app.simulate import Catalog, Settings, SimulationError, choose, run_bots


@pytest.fixture
def live_url(app, loaded):
    """Serve the app from a thread on a free port; yield its base URL."""
    server = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_port}"
    server.shutdown()
    thread.join()


def catalog(app) -> Catalog:
    with app.app_context():
        return Catalog.from_study(db.session.scalar(sa.select(Study)))


def stored_answers(app) -> set[tuple]:
    """Every stored response, keyed by the bot's PROLIFIC_PID: an independent read of the database."""
    with app.app_context():
        rows = db.session.execute(
            sa.select(
                Participant.prolific_pid,
                Assignment.position,
                Response.phase,
                StudyTask.task_id,
                Response.confidence,
                Response.would_predict,
                Response.agreement,
                Response.active_ms,
                Response.id,
            )
            .join(Response.assignment)
            .join(Assignment.participant)
            .join(Assignment.study_task)
        ).all()
        return {
            (
                r.prolific_pid,
                r.position,
                r.phase,
                r.task_id,
                r.confidence,
                r.would_predict,
                r.agreement,
                r.active_ms,
                tuple(
                    sorted(
                        db.session.scalars(
                            sa.text("SELECT unit_index FROM selection WHERE response_id = :r"), {"r": r.id}
                        )
                    )
                ),
            )
            for r in rows
        }


def sent_answers(results) -> set[tuple]:
    return {
        (
            b.prolific_pid,
            a.position,
            a.phase,
            a.task_id,
            a.confidence,
            a.would_predict,
            a.agreement,
            a.active_ms,
            tuple(a.selected),
        )
        for b in results
        for a in b.answers
    }


def test_model_bots_complete_and_database_holds_exactly_their_answers(app, live_url, study_dir):
    results = run_bots(live_url, "fixture", catalog(app), Settings(policy="model"), n=4, threads=2, progress=False)
    assert [b.error for b in results] == [None] * 4
    # fixture: tutorial + 2 main tasks with 2 phases + 1 attention check = 6 answers per bot
    assert all(len(b.answers) == 6 for b in results)
    assert stored_answers(app) == sent_answers(results)
    tasks = {t.task_id: t for t in read_tasks(study_dir / "tasks.jsonl")}
    for b in results:
        for a in b.answers:
            if a.phase == 1 and a.task_id in tasks:  # the model policy picks the rationale's selectable units
                t = tasks[a.task_id]
                assert a.selected == sorted(k for k in t.rationale.units if k in t.selectable)
    with app.app_context():
        people = {p.prolific_pid: p for p in db.session.scalars(sa.select(Participant))}
        assert {b.prolific_pid: b.completion_code for b in results} == {
            pid: p.completion_code for pid, p in people.items()
        }
        assert all(p.status == "finished" and p.prolific_study_id == "SIMULATION" for p in people.values())
        assert db.session.scalar(sa.select(sa.func.count()).where(Response.attention_passed.is_(False))) == 0
        answers = {
            (people_id, q, v)
            for people_id, q, v in db.session.execute(
                sa.select(Participant.prolific_pid, QuestionnaireAnswer.question_id, QuestionnaireAnswer.value).join(
                    Participant, Participant.id == QuestionnaireAnswer.participant_id
                )
            )
        }
    assert answers == {(b.prolific_pid, name[2:], v) for b in results for name, v in b.questionnaire.items()}


def test_noisy_bots_fail_attention_as_asked(app, live_url):
    results = run_bots(
        live_url,
        "fixture",
        catalog(app),
        Settings(policy="noisy-model", noise=0.3, attention_fail=1.0),
        n=2,
        threads=1,
        progress=False,
    )
    assert [b.error for b in results] == [None, None]
    assert stored_answers(app) == sent_answers(results)
    with app.app_context():
        flags = db.session.scalars(sa.select(Response.attention_passed).where(Response.attention_passed.is_not(None)))
        assert list(flags) == [False, False]


def test_simulate_command(app, runner, live_url):
    result = runner.invoke(args=["simulate", "3", "--url", live_url, "--policy", "random", "--seed", "1"])
    assert result.exit_code == 0, result.output
    assert "3 of 3 bots finished" in result.output
    with app.app_context():
        assert db.session.scalar(sa.select(sa.func.count()).select_from(Participant)) == 3
    bad = runner.invoke(args=["simulate", "1", "--url", live_url, "--study", "nope"])
    assert bad.exit_code != 0 and "no study 'nope'" in bad.output and "Traceback" not in bad.output
    with socket.socket() as probe:  # a port nothing listens on
        probe.bind(("127.0.0.1", 0))
        free = probe.getsockname()[1]
    down = runner.invoke(args=["simulate", "1", "--url", f"http://127.0.0.1:{free}"])
    assert down.exit_code == 1 and down.output.startswith(f"Error: no study app answers at http://127.0.0.1:{free}")
    assert "Traceback" not in down.output and len(down.output.strip().splitlines()) == 1


SELECTABLE = list(range(10))
MODEL = [2, 5, 7]


@pytest.mark.parametrize(
    "settings, expected",
    [
        (Settings(policy="model"), MODEL),
        (Settings(policy="noisy-model", noise=0.0), MODEL),
        (Settings(policy="noisy-model", noise=1.0), [0, 1, 3, 4, 6, 8, 9]),  # every unit flipped
        (Settings(policy="random", rate=0.0), []),
        (Settings(policy="random", rate=1.0), SELECTABLE),
    ],
)
def test_policies_at_their_extremes(settings, expected):
    assert choose(settings, SELECTABLE, MODEL, random.Random(0)) == expected


def test_noisy_model_flip_rate():
    rng = random.Random(1)
    flips = sum(
        len(set(choose(Settings(policy="noisy-model", noise=0.25), SELECTABLE, MODEL, rng)) ^ set(MODEL))
        for _ in range(2000)
    )
    assert flips / (2000 * len(SELECTABLE)) == pytest.approx(0.25, abs=0.01)  # binomial sd ~0.003


def test_a_page_ending_inside_its_target_unit_is_recognised():
    units = [{"text": t} for t in ("return", " ", "s", ".", "find_re", "(", "s", ")")]
    payload = {"task_id": "t1", "context_start": 0, "target": {"unit_index": 4}, "units": units}
    other = {**payload, "task_id": "t2", "units": [*units[:4], {"text": "found"}, *units[5:]]}
    catalog = Catalog([("main", payload), ("main", other)], [], {})
    page = {0: "return", 1: " ", 2: "s", 3: ".", 4: "find"}  # the target token "find" starts "find_re"
    assert catalog.identify(page, [0, 1, 2, 3], None, tutorial=False)[0]["task_id"] == "t1"
    with pytest.raises(SimulationError, match="matches no task"):
        catalog.identify({**page, 2: "x"}, [0, 1, 2, 3], None, tutorial=False)  # only the target may be cut
