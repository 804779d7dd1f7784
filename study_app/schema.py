"""Check that the database has the app's tables before a command uses it.

A database that was never upgraded (or is behind the code) would otherwise end a command in a
SQLAlchemy traceback; this names the fix in one line instead.
"""

from __future__ import annotations

import click
import sqlalchemy as sa

from study_app.extensions import db

UPGRADE = "run `flask --app study_app db upgrade` first"


def schema_problem() -> str | None:
    """Return what the database lacks compared with the models, or None if it has everything."""
    inspector = sa.inspect(db.engine)
    present = set(inspector.get_table_names())
    missing = [name for name in db.metadata.tables if name not in present]
    if len(missing) == len(db.metadata.tables):
        return "the database has none of the study app's tables"
    if missing:
        return f"the database lacks the table(s) {', '.join(sorted(missing))}"
    for name, table in db.metadata.tables.items():
        columns = {c["name"] for c in inspector.get_columns(name)}
        lacking = [c.name for c in table.columns if c.name not in columns]
        if lacking:
            return f"the table {name} lacks the column(s) {', '.join(lacking)}"
    return None


def require_schema() -> None:
    """Stop a command with one line if the database is not upgraded."""
    try:
        problem = schema_problem()
    except sa.exc.OperationalError as err:
        raise click.ClickException(f"cannot open the database: {str(err.orig).splitlines()[0]}") from None
    if problem is not None:
        raise click.ClickException(f"{problem}: {UPGRADE}")
