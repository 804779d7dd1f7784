"""One record per recruit: PROLIFIC_PID checked, taken out of the address, resumed; resume codes guarded."""

from __future__ import annotations

import pytest
import sqlalchemy as sa
from participant_steps import (
    ANSWERS,
    consent,
    enrol_token,
    post_answer,
    stored_counts,
    to_first_task,
    token,
)
from sqlalchemy.exc import IntegrityError

from study_app.extensions import db
from study_app.limits import RESUME_MESSAGE
from study_app.models import Participant
from study_app.participant.randomization import RESUME_ALPHABET

PID = "60a1b2c3d4e5f60718293a4b"
LINK = f"/s/fixture?PROLIFIC_PID={PID}&STUDY_ID=5f00aa&SESSION_ID=sess-1"


def participants(app) -> list[tuple]:
    with app.app_context():
        return db.session.execute(
            sa.select(
                Participant.public_id,
                Participant.prolific_pid,
                Participant.status,
                Participant.prolific_study_id,
                Participant.prolific_session_id,
            ).order_by(Participant.id)
        ).all()


@pytest.mark.parametrize(
    "query",
    [
        "?PROLIFIC_PID=abc",
        "?PROLIFIC_PID=60A1B2C3D4E5F60718293A4B",
        f"?PROLIFIC_PID={PID}0",
        f"?PROLIFIC_PID={PID}&STUDY_ID=x%20y",
    ],
)
def test_malformed_recruiter_ids_get_a_clear_page_and_store_nothing(app, client, loaded, query):
    resp = client.get(f"/s/fixture{query}")
    assert resp.status_code == 400 and "This study link is not valid" in resp.text
    with client.session_transaction() as s:
        assert "prolific" not in s and "enrol_token" not in s
    assert participants(app) == []


def test_recruiter_ids_leave_the_address_bar(app, client, loaded):
    resp = client.get(LINK)
    assert resp.status_code == 302 and resp.headers["Location"] == "/s/fixture"
    page = client.get("/s/fixture")
    assert PID not in page.text and "I agree" in page.text
    client.post(
        "/s/fixture/consent",
        data={"choice": "agree", "csrf_token": token(page.text), "enrol_token": enrol_token(page.text)},
    )
    [(_, pid, status, study_id, session_id)] = participants(app)
    assert (pid, status, study_id, session_id) == (PID, "consented", "5f00aa", "sess-1")
    with client.session_transaction() as s:
        assert "prolific" not in s  # kept only until enrolment


def test_the_same_recruit_in_a_second_browser_continues_the_first_record(app, client, loaded):
    consent(client, query=f"?PROLIFIC_PID={PID}")
    client.post("/questionnaire", data={**ANSWERS, "csrf_token": token(client.get("/questionnaire").text)})
    other = app.test_client()
    resp = other.get(f"/s/fixture?PROLIFIC_PID={PID}")
    assert resp.headers["Location"] == "/tutorial"  # where the first browser stands
    assert other.get("/tutorial").status_code == 200
    assert [(pid, status) for _, pid, status, *_ in participants(app)] == [(PID, "questionnaire")]


def test_two_browsers_on_the_consent_page_enrol_one_record(app, client, loaded):
    first = client.get(LINK, follow_redirects=True).text
    other = app.test_client()
    second = other.get(LINK, follow_redirects=True).text
    for c, page in ((client, first), (other, second)):
        c.post(
            "/s/fixture/consent", data={"choice": "agree", "csrf_token": token(page), "enrol_token": enrol_token(page)}
        )
    people = participants(app)
    assert len(people) == 1
    with client.session_transaction() as a, other.session_transaction() as b:
        assert a["participant"] == b["participant"] == people[0][0]


def test_the_database_holds_one_record_per_recruit_and_version(app, loaded):
    with app.app_context():
        study_id = db.session.scalar(sa.text("SELECT id FROM study"))
        db.session.add(Participant(study_id=study_id, public_id="a", resume_code="A", prolific_pid=PID))
        db.session.commit()
        db.session.add(Participant(study_id=study_id, public_id="b", resume_code="B", prolific_pid=PID))
        with pytest.raises(IntegrityError):
            db.session.commit()
        db.session.rollback()
        db.session.add(Participant(study_id=study_id, public_id="c", resume_code="C", prolific_pid=None))
        db.session.add(Participant(study_id=study_id, public_id="d", resume_code="D", prolific_pid=None))
        db.session.commit()  # declines and link visits without a recruiter id are not limited


def test_a_finished_recruit_is_told_they_already_took_part(app, client, loaded):
    to_first_task_with_pid(client)
    with app.app_context():
        db.session.execute(sa.update(Participant).values(status="finished", completion_code="DONE1234"))
        db.session.commit()
    resp = app.test_client().get(f"/s/fixture?PROLIFIC_PID={PID}")
    assert resp.status_code == 409 and "You already took part" in resp.text
    assert len(participants(app)) == 1


def to_first_task_with_pid(client) -> str:
    csrf = consent(client, query=f"?PROLIFIC_PID={PID}")
    client.post("/questionnaire", data={**ANSWERS, "csrf_token": csrf})
    return csrf


def test_resume_codes_carry_60_bits(app, client, loaded):
    to_first_task(client)
    with app.app_context():
        code = db.session.scalar(sa.select(Participant.resume_code))
    assert len(code) == 12 and set(code) <= set(RESUME_ALPHABET) and len(RESUME_ALPHABET) == 32  # 12 x 5 bits


def test_resume_is_rate_limited(app, client, loaded):
    to_first_task(client)
    with app.app_context():
        code = db.session.scalar(sa.select(Participant.resume_code))
    guesser = app.test_client()
    csrf = token(guesser.get("/resume").text)
    codes = [guesser.post("/resume", data={"code": f"WRONG{i:07d}", "csrf_token": csrf}).status_code for i in range(10)]
    assert codes == [400] * 10
    blocked = guesser.post("/resume", data={"code": code, "csrf_token": csrf})
    assert blocked.status_code == 429 and RESUME_MESSAGE in blocked.text
    with guesser.session_transaction() as s:
        assert "participant" not in s


def test_a_finished_participant_can_change_nothing(app, client, loaded):
    csrf = to_first_task(client)
    with app.app_context():
        db.session.execute(sa.update(Participant).values(status="finished", completion_code="DONE1234"))
        db.session.commit()
        code = db.session.scalar(sa.select(Participant.resume_code))
    before = stored_counts(app)
    other = app.test_client()
    assert other.post("/resume", data={"code": code, "csrf_token": token(other.get("/resume").text)}).location == "/end"
    assert "DONE1234" in other.get("/end").text
    for c in (client, other):
        assert post_answer(c, csrf if c is client else token(other.get("/end").text), 1, [0]).status_code == 409
        resp = c.post(
            "/api/task/1/events",
            json={"phase": 1, "events": [{"kind": "blur", "ts": 1}]},
            headers={"X-CSRFToken": csrf if c is client else token(other.get("/end").text)},
        )
        assert resp.status_code == 409
    assert stored_counts(app) == before
