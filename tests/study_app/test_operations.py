"""Operations: one-line advice on an un-upgraded database, pool_pre_ping, access log, Server-Timing."""

from __future__ import annotations

import re
import runpy
from datetime import timedelta
from pathlib import Path
from types import SimpleNamespace

import pytest
import sqlalchemy as sa
from gunicorn.glogging import Logger

from study_app import create_app
from study_app.config import engine_options
from study_app.extensions import db

ROOT = Path(__file__).resolve().parents[2]
UPGRADE = "run `flask --app study_app db upgrade` first"


@pytest.mark.parametrize(
    "args",
    [
        ["load-study", "tests/study_app/fixtures/pilot"],
        ["create-admin", "--password", "long-enough"],
        ["export", "out"],
        ["delete-participant", "ABCD", "--yes"],
    ],
)
def test_commands_on_a_never_upgraded_database_say_how_to_fix_it(tmp_path, args):
    app = create_app(
        {"TESTING": True, "SECRET_KEY": "test", "SQLALCHEMY_DATABASE_URI": f"sqlite:///{tmp_path / 'n.db'}"}
    )
    result = app.test_cli_runner().invoke(args=[a if a != "out" else str(tmp_path / "out") for a in args])
    assert result.exit_code == 1
    assert result.output.strip() == f"Error: the database has none of the study app's tables: {UPGRADE}"


def test_a_database_behind_the_code_names_what_it_lacks(app, runner, study_dir):
    with app.app_context():
        db.session.execute(sa.text("ALTER TABLE admin_user DROP COLUMN session_token"))
        db.session.commit()
    result = runner.invoke(args=["load-study", str(study_dir)])
    assert result.exit_code == 1
    assert result.output.strip() == f"Error: the table admin_user lacks the column(s) session_token: {UPGRADE}"
    with app.app_context():
        db.session.execute(sa.text("ALTER TABLE admin_user ADD COLUMN session_token VARCHAR(64)"))
        db.session.commit()
    assert runner.invoke(args=["load-study", str(study_dir)]).exit_code == 0


def test_an_upgraded_database_passes(request, tmp_path):
    app = create_app(
        {"TESTING": True, "SECRET_KEY": "test", "SQLALCHEMY_DATABASE_URI": f"sqlite:///{tmp_path / 'u.db'}"}
    )
    runner = app.test_cli_runner()
    assert runner.invoke(args=["db", "upgrade"]).exit_code == 0
    result = runner.invoke(args=["load-study", str(ROOT / "tests/study_app/fixtures/pilot")])
    assert result.exit_code == 0 and "loaded as version 1" in result.output


def test_postgresql_connections_are_checked_before_use():
    assert engine_options("postgresql+psycopg://u@h/db") == {"pool_pre_ping": True}
    assert engine_options("sqlite:///x.db") == {}
    app = create_app(
        {
            "TESTING": True,
            "SECRET_KEY": "test",
            "SQLALCHEMY_DATABASE_URI": "postgresql+psycopg://u@h/db",
            "SQLALCHEMY_ENGINE_OPTIONS": engine_options("postgresql+psycopg://u@h/db"),
        }
    )
    with app.app_context():
        assert db.engine.pool._pre_ping is True


def test_access_log_has_no_query_string():
    fmt = runpy.run_path(str(ROOT / "gunicorn.conf.py"))["access_log_format"]
    link = "/s/pilot?PROLIFIC_PID=60a1b2c3d4e5f60718293a4b"
    environ = {
        "REMOTE_ADDR": "10.0.0.1",
        "REQUEST_METHOD": "GET",
        "RAW_URI": link,
        "PATH_INFO": "/s/pilot",
        "QUERY_STRING": link.split("?")[1],
        "SERVER_PROTOCOL": "HTTP/1.1",
        "HTTP_USER_AGENT": "test",
        "HTTP_REFERER": "https://example.org/" + link,
    }
    response = SimpleNamespace(status="302 FOUND", sent=0, headers=[])
    logger = Logger.__new__(Logger)  # gunicorn's own formatting of the access line, without its log setup
    line = fmt % logger.atoms(response, [], environ, timedelta(milliseconds=12))
    assert '"GET /s/pilot HTTP/1.1" 302 0 12ms "test"' in line
    assert "PROLIFIC" not in line and "60a1b2" not in line and "example.org" not in line


def test_every_response_carries_server_timing(client):
    for resp in (client.get("/resume"), client.post("/api/task/1/answer", json={})):
        match = re.fullmatch(r"app;dur=(\d+\.\d)", resp.headers["Server-Timing"])
        assert match and 0 <= float(match.group(1)) < 10_000


def test_pages_on_a_never_upgraded_database_are_a_503_and_one_log_line(tmp_path, caplog):
    app = create_app(
        {"TESTING": True, "SECRET_KEY": "test", "SQLALCHEMY_DATABASE_URI": f"sqlite:///{tmp_path / 'w.db'}"}
    )
    client = app.test_client()
    page = client.get("/s/pilot")
    assert page.status_code == 503 and "not available right now" in page.text
    assert client.post("/resume", data={"code": "X"}).status_code in (400, 503)  # CSRF may answer first
    assert [r.getMessage() for r in caplog.records if r.levelname == "ERROR"][
        -1
    ] == f"the database has none of the study app's tables: {UPGRADE}"
