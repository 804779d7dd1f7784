"""Researcher commands: ``create-admin``, ``export`` and ``simulate``."""

from __future__ import annotations

from pathlib import Path

import click
from flask import Flask
from flask.cli import with_appcontext
from sqlalchemy import select

from study_app.admin.models import AdminUser
from study_app.export.bundle import build_export
from study_app.export.tables import ExportError
from study_app.export.writers import FORMATS, render, write_dir, zip_bytes
from study_app.extensions import db


def create_admin(username: str, password: str) -> AdminUser:
    """Create an admin, or set the password of an existing one."""
    user = db.session.scalar(select(AdminUser).where(AdminUser.username == username))
    if user is None:
        user = AdminUser(username=username)
        db.session.add(user)
    user.set_password(password)
    db.session.commit()
    return user


@click.command("create-admin")
@click.option("--username", default="admin", show_default=True)
@click.password_option("--password", help="Prompted for (twice, hidden) when left out.")
@with_appcontext
def create_admin_command(username: str, password: str) -> None:
    """Create an admin account (or reset its password)."""
    if len(password) < 8:
        raise click.ClickException("the password must have at least 8 characters")
    create_admin(username, password)
    click.echo(f"Admin '{username}' can log in at /admin/login.")


@click.command("export")
@click.argument("out", type=click.Path(path_type=Path))
@click.option("--format", "fmt", type=click.Choice(FORMATS), default="csv", show_default=True)
@click.option("--study", "slug", help="Study slug; may be left out when the database holds one study.")
@click.option("--drop-excluded", is_flag=True, help="Leave excluded participants out entirely.")
@with_appcontext
def export_command(out: Path, fmt: str, slug: str | None, drop_excluded: bool) -> None:
    """Export a study to the folder OUT (or to a zip if OUT ends in .zip)."""
    try:
        files = render(build_export(slug, drop_excluded=drop_excluded), fmt)
    except (ExportError, ValueError) as err:
        raise click.ClickException(str(err)) from None
    if out.suffix == ".zip":
        out.parent.mkdir(parents=True, exist_ok=True)
        out.write_bytes(zip_bytes(files))
    else:
        write_dir(files, out)
    click.echo(f"Wrote {len(files)} files to {out} (linkage.csv holds recruitment ids: keep it private).")


def init_app(app: Flask) -> None:
    """Register the commands with the app."""
    app.cli.add_command(create_admin_command)
    app.cli.add_command(export_command)
