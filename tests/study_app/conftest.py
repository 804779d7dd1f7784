"""Fixtures for the study app, run against SQLite and against PostgreSQL.

PostgreSQL runs at CODEQ_TEST_POSTGRES_URL; the database is shared, so each test session works in
its own schema (created here, dropped at the end) and each test empties its tables afterwards.
"""

from __future__ import annotations

import os
import re
import secrets
from pathlib import Path

import pytest
import sqlalchemy as sa

from study_app import create_app
from study_app.extensions import db

FIXTURE_STUDY = Path(__file__).parent / "fixtures" / "pilot"
POSTGRES_URL = os.environ.get("CODEQ_TEST_POSTGRES_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test")


@pytest.fixture(scope="session")
def postgres_schema(service_missing):
    """Create a private schema on the shared server; yield (url, engine options); drop it after."""
    schema = f"t_{secrets.token_hex(6)}"
    engine = sa.create_engine(POSTGRES_URL)
    try:
        with engine.begin() as conn:
            conn.execute(sa.text(f"CREATE SCHEMA {schema}"))
    except sa.exc.OperationalError as err:
        engine.dispose()
        service_missing(f"PostgreSQL is unreachable at {POSTGRES_URL}: {str(err).splitlines()[0]}")
    yield POSTGRES_URL, {"connect_args": {"options": f"-csearch_path={schema}"}}
    with engine.begin() as conn:
        conn.execute(sa.text(f"DROP SCHEMA {schema} CASCADE"))
    engine.dispose()


def database_config(request, tmp_path: Path) -> dict:
    """Return the SQLAlchemy settings for the backend the test is parametrized with."""
    if request.param == "sqlite":
        return {"SQLALCHEMY_DATABASE_URI": f"sqlite:///{tmp_path / 'test.db'}"}
    url, options = request.getfixturevalue("postgres_schema")
    return {"SQLALCHEMY_DATABASE_URI": url, "SQLALCHEMY_ENGINE_OPTIONS": options}


@pytest.fixture(params=["sqlite", "postgres"])
def app(request, tmp_path):
    """An app with empty tables on the parametrized backend."""
    app = create_app({"TESTING": True, "SECRET_KEY": "test", **database_config(request, tmp_path)})
    with app.app_context():
        db.create_all()
    yield app
    with app.app_context():
        db.session.remove()
        db.drop_all()
        db.engine.dispose()


@pytest.fixture
def client(app):
    return app.test_client()


@pytest.fixture
def runner(app):
    return app.test_cli_runner()


@pytest.fixture
def study_dir() -> Path:
    """The fixture instrument folder: 3 main tasks, 2 per participant, one tutorial, one attention check."""
    return FIXTURE_STUDY


@pytest.fixture
def loaded(app, runner, study_dir):
    """Load the fixture study into the app; return its slug."""
    result = runner.invoke(args=["load-study", str(study_dir)])
    assert result.exit_code == 0, result.output
    return "fixture"


@pytest.fixture
def csrf_of():
    """Return a function reading the CSRF token from a page's <meta name="csrf-token">."""
    return lambda html: re.search(r'name="csrf-token" content="([^"]+)"', html).group(1)
