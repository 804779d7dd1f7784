"""A real server (werkzeug in a thread, SQLite) with a study loaded, and a headless Debian chromium."""

from __future__ import annotations

import secrets
import threading
from pathlib import Path

import pytest
from werkzeug.serving import make_server

from study_app import create_app
from study_app.extensions import db
from study_app.instrument import load_instrument
from study_app.limits import limiter
from study_app.studies import import_study

ROOT = Path(__file__).resolve().parents[2]
CHROMIUM = Path("/usr/bin/chromium")
SCREENSHOTS = ROOT / "screenshots"


def study_folder() -> Path:
    """The bundled pilot once `codeq prepare` has written its tasks, else the small test fixture."""
    pilot = ROOT / "instruments" / "pilot"
    return (
        pilot
        if (pilot / "tasks.jsonl").exists() and (pilot / "study.toml").exists()
        else ROOT / "tests" / "study_app" / "fixtures" / "pilot"
    )


@pytest.fixture(scope="module")
def live(tmp_path_factory):
    """Serve a fresh database with the study loaded; yield (app, base url, slug)."""
    db_path = tmp_path_factory.mktemp("e2e") / "study.db"
    app = create_app({"SQLALCHEMY_DATABASE_URI": f"sqlite:///{db_path}", "SECRET_KEY": secrets.token_hex(16)})
    # the login limits count in Redis, shared by every app of this process: each module's researcher
    # logs in afresh, so the earlier modules' attempts must not count against it
    limiter.reset()
    with app.app_context():
        db.create_all()
        study, _ = import_study(load_instrument(study_folder()))
        slug = study.slug
    server = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield app, f"http://127.0.0.1:{server.server_port}", slug
    server.shutdown()
    thread.join()


@pytest.fixture(scope="module")
def browser(service_missing):
    if not CHROMIUM.exists():
        service_missing(f"Debian's chromium is not at {CHROMIUM} (apt-get install chromium)")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as pw:
        browser = pw.chromium.launch(
            executable_path=str(CHROMIUM),
            headless=True,
            args=["--no-sandbox", "--disable-gpu", "--disable-background-networking"],
        )
        yield browser
        browser.close()


@pytest.fixture
def page(browser):
    context = browser.new_context(viewport={"width": 1400, "height": 900})
    page = context.new_page()
    yield page
    context.close()


@pytest.fixture(scope="session")
def screenshots() -> Path:
    SCREENSHOTS.mkdir(exist_ok=True)
    return SCREENSHOTS
