"""Admin: login, the guard on every admin route, dashboard figures, exclusions, zip download."""

from __future__ import annotations

import io
import zipfile
from datetime import timedelta

import pandas as pd
import pytest
import sqlalchemy as sa
from test_export import T0, seed

from codeq.agreement import cohen_kappa
from study_app.admin.commands import create_admin
from study_app.admin.models import AdminUser, Exclusion
from study_app.admin.stats import participant_summary
from study_app.export.bundle import build_export
from study_app.extensions import db
from study_app.models import Participant

PASSWORD = "correct horse battery"


@pytest.fixture
def admin(app):
    with app.app_context():
        create_admin("alice", PASSWORD)


def login(client, csrf_of, password=PASSWORD):
    token = csrf_of(client.get("/admin/login").text)
    return client.post("/admin/login", data={"username": "alice", "password": password, "csrf_token": token})


def admin_urls(app) -> list[tuple[str, str]]:
    """Every admin route with its method, placeholders filled with a plausible value."""
    out = []
    for rule in app.url_map.iter_rules():
        if rule.endpoint.startswith("admin.") and rule.endpoint != "admin.login":
            url = rule.rule.replace("<public_id>", "pub0000")
            out += [(m, url) for m in sorted(rule.methods - {"HEAD", "OPTIONS"})]
    return out


def test_every_admin_route_is_closed_when_logged_out(app, client, loaded):
    seed(app)
    urls = admin_urls(app)
    assert len(urls) >= 8  # dashboard, participants, participant, exclude, include, export x2, logout
    app.config["WTF_CSRF_ENABLED"] = False  # so a POST reaches the guard rather than the CSRF check
    for method, url in urls:
        resp = client.open(url, method=method)
        assert resp.status_code in (302, 401), (method, url)
        if resp.status_code == 302:
            assert resp.headers["Location"].startswith("/admin/login"), (method, url)


def test_login_with_hashed_password(app, client, csrf_of, admin):
    with app.app_context():
        stored = db.session.scalar(sa.select(AdminUser.password_hash))
    assert PASSWORD not in stored and stored.startswith("scrypt:")
    assert "Wrong username or password" in login(client, csrf_of, "wrong").text
    assert client.get("/admin/").status_code == 302
    assert login(client, csrf_of).headers["Location"] == "/admin/"
    assert client.get("/admin/").status_code == 200
    client.post("/admin/logout", data={"csrf_token": csrf_of(client.get("/admin/").text)})
    assert client.get("/admin/").status_code == 302


def test_login_does_not_redirect_off_site(client, csrf_of, admin):
    token = csrf_of(client.get("/admin/login").text)
    resp = client.post("/admin/login?next=https://evil.example/", data={
        "username": "alice", "password": PASSWORD, "csrf_token": token})
    assert resp.headers["Location"] == "/admin/"


def test_create_admin_command(app, runner):
    result = runner.invoke(args=["create-admin", "--username", "bob", "--password", "s3cret-pass"])
    assert result.exit_code == 0, result.output
    result = runner.invoke(args=["create-admin", "--username", "eve", "--password", "short"])
    assert result.exit_code != 0 and "at least 8" in result.output and "Traceback" not in result.output
    result = runner.invoke(args=["create-admin", "--username", "carol"], input="pass-word-1\npass-word-1\n")
    assert result.exit_code == 0, result.output
    with app.app_context():
        users = {u.username: u for u in db.session.scalars(sa.select(AdminUser))}
        assert set(users) == {"bob", "carol"} and users["carol"].check_password("pass-word-1")


def test_dashboard_figures(app, client, csrf_of, admin, loaded):
    seed(app)
    login(client, csrf_of)
    page = client.get("/admin/").text
    with app.app_context():
        export = build_export("fixture")
    # 4 participants: pub0000 and pub0002 finished after 20 min and 20 min 2 s, the others idle since 2026
    assert '<b>4</b>started' in page and '<b>2</b>finished' in page and '<b>2</b>dropped out' in page
    assert '<b>20.0</b>median minutes' in page
    # mean kappa of fx-0, recomputed from the exported vectors with codeq.agreement.cohen_kappa
    sel, rat = export.tables["selections"], export.tables["model_rationales"]
    model = rat[rat["task_id"] == "fx-0"].sort_values("unit_index")["in_rationale"].to_numpy()
    kappas = [cohen_kappa(rows.sort_values("unit_index")["selected"].to_numpy(), model)[0]
              for _, rows in sel[sel["task_id"] == "fx-0"].groupby("participant_id")]
    answered = len(kappas)
    expected = pd.Series(kappas).mean()
    assert f"<td>fx-0</td><td class=\"num\">{answered}</td>" in page
    assert f"{expected:.2f}" in page
    failures = export.tables["responses"]["attention_passed"].eq(0).sum()
    assert ("None so far" in page) == (failures == 0)


def test_participant_summary_dropout_window(app, loaded):
    seed(app)
    with app.app_context():
        tables = build_export("fixture").tables
    # the last answer of pub0001 (unfinished) is at T0 + 1 min + 3 min + 40 s (phase 2 is on main tasks only)
    soon = participant_summary(tables, T0 + timedelta(minutes=5), dropout_minutes=60)
    late = participant_summary(tables, T0 + timedelta(hours=2), dropout_minutes=60)
    assert (soon["in_progress"], soon["dropped_out"]) == (2, 0)
    assert (late["in_progress"], late["dropped_out"]) == (0, 2)


def test_exclusion_round_trip_and_export_download(app, client, csrf_of, admin, loaded):
    seed(app)
    login(client, csrf_of)
    page = client.get("/admin/participants/pub0001")
    assert page.status_code == 200 and "pub0001" in page.text
    client.post("/admin/participants/pub0001/exclude", data={"reason": "failed attention", "csrf_token": csrf_of(page.text)})
    with app.app_context():
        excl = db.session.scalar(sa.select(Exclusion).join(Participant))
        assert excl.reason == "failed attention" and excl.admin_id is not None
    page = client.get("/admin/participants/pub0001")
    assert "Excluded: failed attention" in page.text
    resp = client.post("/admin/export", data={"format": "csv", "drop_excluded": "y", "csrf_token": csrf_of(page.text)})
    assert resp.mimetype == "application/zip"
    people = pd.read_csv(zipfile.ZipFile(io.BytesIO(resp.data)).open("participants.csv"))
    assert len(people) == 3 and people["excluded"].sum() == 0
    client.post("/admin/participants/pub0001/include", data={"csrf_token": csrf_of(page.text)})
    with app.app_context():
        assert db.session.scalar(sa.select(sa.func.count()).select_from(Exclusion)) == 0
    assert client.get("/admin/participants/nobody").status_code == 404


def test_dashboard_without_a_study(client, csrf_of, admin):
    login(client, csrf_of)
    page = client.get("/admin/")
    assert page.status_code == 200 and "No study yet" in page.text


def test_dashboard_leaves_excluded_participants_out(app, client, csrf_of, admin, loaded):
    seed(app)
    with app.app_context():
        finished = db.session.scalar(sa.select(Participant).where(Participant.public_id == "pub0000"))
        db.session.add(Exclusion(participant_id=finished.id, reason="test"))
        db.session.commit()
    login(client, csrf_of)
    page = client.get("/admin/").text
    # 3 left: pub0002 finished after 20 min 2 s, pub0001 and pub0003 idle
    assert '<b>3</b>started' in page and '<b>1</b>finished' in page and '<b>20.0</b>median minutes' in page
