"""Command-line commands: ``flask --app study_app init-db`` and ``load-study <folder>``."""

from __future__ import annotations

import logging

import click
from flask import Flask
from flask.cli import with_appcontext

from study_app.extensions import db
from study_app.instrument import InstrumentError, load_instrument
from study_app.schema import require_schema
from study_app.studies import import_study

log = logging.getLogger(__name__)


@click.command("init-db")
@with_appcontext
def init_db_command() -> None:
    """Create the tables directly (tests and quick trials; deployments use `flask db upgrade`)."""
    db.create_all()
    click.echo("Initialized the database.")


@click.command("load-study")
@click.argument("folder", type=click.Path())
@with_appcontext
def load_study_command(folder: str) -> None:
    """Load the study in FOLDER (instruments/<study>/); a changed study becomes a new version."""
    require_schema()
    try:
        inst = load_instrument(folder)
    except InstrumentError as err:
        raise click.ClickException(str(err)) from None
    study, created = import_study(inst)
    log.info("study %s from %s: %s version %d", study.slug, folder, "new" if created else "unchanged", study.version)
    state = "loaded as" if created else "unchanged, still"
    click.echo(
        f"Study '{study.slug}' {state} version {study.version} "
        f"({len(inst.tasks)} tasks, {len(inst.attention)} attention checks)."
    )


@click.command("delete-participant")
@click.argument("identifier")
@click.option("--yes", is_flag=True, help="Do not ask for confirmation.")
@with_appcontext
def delete_participant_command(identifier: str, yes: bool) -> None:
    """Erase a participant who withdraws: every row, in every table, at once.

    IDENTIFIER is their resume code, public id or PROLIFIC_PID. Exports made before keep what they hold.
    """
    from study_app.erase import EraseError, count_rows, erase, find_participant

    require_schema()
    try:
        participant = find_participant(identifier)
    except EraseError as err:
        raise click.ClickException(str(err)) from None
    counts = count_rows(participant)
    listed = ", ".join(f"{n} {table}" for table, n in counts.items() if n)
    click.echo(
        f"Participant {participant.public_id} (study {participant.study.slug}, status {participant.status}): "
        f"{sum(counts.values())} rows ({listed})."
    )
    if not yes:
        click.confirm("Erase them for good?", abort=True)
    deleted = erase(participant)
    click.echo(f"Erased participant {participant.public_id}: {sum(deleted.values())} rows deleted.")


def init_app(app: Flask) -> None:
    """Register the commands with the app."""
    app.cli.add_command(init_db_command)
    app.cli.add_command(load_study_command)
    app.cli.add_command(delete_participant_command)
