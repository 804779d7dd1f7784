"""The app logs study loads, exports and refused requests through the standard logging module."""

from __future__ import annotations

import logging

import pytest


def test_loads_exports_and_refused_requests_are_logged(app, runner, client, study_dir, caplog):
    caplog.set_level(logging.INFO, logger="study_app")
    assert runner.invoke(args=["load-study", str(study_dir)]).exit_code == 0
    assert client.get("/s/no-such-study").status_code == 404
    assert runner.invoke(args=["export", str(study_dir.parent / "unused.zip"), "--study", "nope"]).exit_code == 1
    with app.app_context():
        from study_app.export.bundle import build_export

        build_export("fixture")
    records = [(r.name, r.levelname, r.getMessage()) for r in caplog.records if r.name.startswith("study_app")]
    assert records[0] == ("study_app.commands", "INFO", f"study fixture from {study_dir}: new version 1")
    assert records[1][:2] == ("study_app.errors", "INFO") and records[1][2].startswith("GET /s/no-such-study: 404 ")
    assert records[2] == ("study_app.export.bundle", "INFO", "export of fixture: 0 participants, 0 responses")
    assert len(records) == 3


def test_the_level_comes_from_the_environment(monkeypatch):
    from contract.logs import configure_logging, log_level
    from study_app import create_app

    monkeypatch.setenv("CODEQ_LOG_LEVEL", "debug")
    assert log_level() == logging.DEBUG and log_level("error") == logging.ERROR
    try:
        create_app({"TESTING": True, "SQLALCHEMY_DATABASE_URI": "sqlite://"})
        assert logging.getLogger("study_app").level == logging.DEBUG
    finally:
        configure_logging("WARNING")
    monkeypatch.setenv("CODEQ_LOG_LEVEL", "loud")
    with pytest.raises(
        ValueError,
        match=r"^unknown log level 'LOUD': use one of DEBUG, INFO, WARNING, ERROR "
        r"\(--log-level or CODEQ_LOG_LEVEL\)$",
    ):
        log_level()
