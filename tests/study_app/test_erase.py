"""Data rights: a participant who withdraws is erased from every table, by command or admin button."""

from __future__ import annotations

import sqlalchemy as sa
from test_admin import admin, login  # noqa: F401  (admin is a fixture)
from test_export import seed

from study_app.admin.models import Exclusion
from study_app.extensions import db
from study_app.models import Event, PageView, Participant, Study

# Every table that holds participant data, with SQL naming the rows of participant :p (an oracle
# written apart from the code under test).
OWNED = {
    "participant": "SELECT count(*) FROM participant WHERE id = :p",
    "assignment": "SELECT count(*) FROM assignment WHERE participant_id = :p",
    "response": "SELECT count(*) FROM response WHERE participant_id = :p",
    "selection": "SELECT count(*) FROM selection s JOIN response r ON r.id = s.response_id WHERE r.participant_id = :p",
    "page_view": "SELECT count(*) FROM page_view v JOIN assignment a ON a.id = v.assignment_id WHERE a.participant_id = :p",
    "event": "SELECT count(*) FROM event WHERE participant_id = :p",
    "questionnaire_answer": "SELECT count(*) FROM questionnaire_answer WHERE participant_id = :p",
    "exclusion": "SELECT count(*) FROM exclusion WHERE participant_id = :p",
}


def seeded_with_everything(app) -> dict[str, int]:
    """Seed 4 participants, give each page views, events and pub0001 an exclusion; return public id -> db id."""
    seed(app)
    with app.app_context():
        ids = dict(db.session.execute(sa.select(Participant.public_id, Participant.id)).all())
        for pid in ids.values():
            for a in db.session.execute(
                sa.text("SELECT id, study_task_id FROM assignment WHERE participant_id = :p"), {"p": pid}
            ).all():
                db.session.add(PageView(assignment_id=a.id, phase=1))
                db.session.add(Event(participant_id=pid, study_task_id=a.study_task_id, kind="focus", client_ts=1))
        db.session.add(Exclusion(participant_id=ids["pub0001"], reason="withdrew"))
        db.session.commit()
    return ids


def rows_of(app, participant_id: int) -> dict[str, int]:
    with app.app_context():
        return {t: db.session.scalar(sa.text(sql), {"p": participant_id}) for t, sql in OWNED.items()}


def test_every_model_table_is_covered(app):
    assert set(db.metadata.tables) - set(OWNED) == {"study", "study_task", "admin_user"}


def test_delete_participant_command_erases_every_row(app, runner, loaded):
    ids = seeded_with_everything(app)
    target = rows_of(app, ids["pub0001"])
    others = {k: rows_of(app, v) for k, v in ids.items() if k != "pub0001"}
    assert all(n > 0 for n in target.values()), target
    result = runner.invoke(args=["delete-participant", "rc00-01", "--yes"])  # the resume code, as typed
    assert result.exit_code == 0, result.output
    assert f"{sum(target.values())} rows deleted" in result.output
    assert rows_of(app, ids["pub0001"]) == dict.fromkeys(OWNED, 0)
    assert {k: rows_of(app, v) for k, v in ids.items() if k != "pub0001"} == others
    with app.app_context():
        assert db.session.scalar(sa.select(sa.func.count(Study.id))) == 1


def test_confirmation_is_asked_and_no_keeps_everything(app, runner, loaded):
    ids = seeded_with_everything(app)
    before = rows_of(app, ids["pub0002"])
    result = runner.invoke(args=["delete-participant", "PROLIFIC0002"], input="n\n")
    assert result.exit_code != 0 and f"{sum(before.values())} rows" in result.output and "Erase them" in result.output
    assert rows_of(app, ids["pub0002"]) == before
    result = runner.invoke(args=["delete-participant", "pub0002"], input="y\n")
    assert result.exit_code == 0 and rows_of(app, ids["pub0002"]) == dict.fromkeys(OWNED, 0)


def test_unknown_or_ambiguous_names_are_one_line_errors(app, runner, loaded):
    ids = seeded_with_everything(app)
    result = runner.invoke(args=["delete-participant", "NOBODY", "--yes"])
    assert result.exit_code != 0 and "no participant has" in result.output and "Traceback" not in result.output
    with app.app_context():  # the same recruiter id in a second study version
        study = db.session.scalar(sa.select(Study))
        newer = Study(slug=study.slug, version=2, title=study.title, config=study.config, content_hash="x")
        db.session.add(newer)
        db.session.flush()
        db.session.add(
            Participant(study_id=newer.id, public_id="pubV2", resume_code="RCV2", prolific_pid="PROLIFIC0003")
        )
        db.session.commit()
    result = runner.invoke(args=["delete-participant", "PROLIFIC0003", "--yes"])
    assert result.exit_code != 0 and "2 participants match" in result.output
    assert rows_of(app, ids["pub0003"])["participant"] == 1


def test_admin_button_erases_after_confirmation(app, client, csrf_of, admin, loaded):
    ids = seeded_with_everything(app)
    before = rows_of(app, ids["pub0001"])
    login(client, csrf_of)
    page = client.get("/admin/participants/pub0001")
    assert "Erase participant" in page.text
    unconfirmed = client.post("/admin/participants/pub0001/erase", data={"csrf_token": csrf_of(page.text)})
    assert unconfirmed.location == "/admin/participants/pub0001" and rows_of(app, ids["pub0001"]) == before
    done = client.post("/admin/participants/pub0001/erase", data={"confirm": "y", "csrf_token": csrf_of(page.text)})
    assert done.status_code == 302 and rows_of(app, ids["pub0001"]) == dict.fromkeys(OWNED, 0)
    assert f"{sum(before.values())} rows deleted" in client.get(done.location).text
    assert rows_of(app, ids["pub0000"])["participant"] == 1


def test_consent_page_says_how_to_withdraw(client, loaded):
    page = client.get("/s/fixture").text
    assert "withdraw at any time" in page and "lab@example.org" in page and "resume code" in page
