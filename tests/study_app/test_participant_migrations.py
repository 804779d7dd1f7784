"""`flask db upgrade` builds the same tables and columns as the models, on SQLite and PostgreSQL."""

from __future__ import annotations

import pytest
import sqlalchemy as sa

from study_app import create_app
from study_app.extensions import db


@pytest.mark.parametrize("backend", ["sqlite", "postgres"])
def test_upgrade_creates_every_model_table(request, tmp_path, backend):
    if backend == "sqlite":
        config = {"SQLALCHEMY_DATABASE_URI": f"sqlite:///{tmp_path / 'm.db'}"}
    else:
        url, options = request.getfixturevalue("postgres_schema")
        config = {"SQLALCHEMY_DATABASE_URI": url, "SQLALCHEMY_ENGINE_OPTIONS": options}
    app = create_app({"TESTING": True, **config})
    result = app.test_cli_runner().invoke(args=["db", "upgrade"])
    assert result.exit_code == 0, result.output
    with app.app_context():
        inspector = sa.inspect(db.engine)
        try:
            assert set(db.metadata.tables) <= set(inspector.get_table_names())
            for name, table in db.metadata.tables.items():  # a column added without a migration fails here
                assert {c["name"] for c in inspector.get_columns(name)} == set(table.columns.keys()), name
        finally:
            db.drop_all()
            db.session.execute(sa.text("DROP TABLE alembic_version"))
            db.session.commit()
            db.engine.dispose()
