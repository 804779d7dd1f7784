"""Researcher commands: ``create-admin``, ``export`` and ``simulate``."""

from __future__ import annotations

from pathlib import Path

import click
import requests
from flask import Flask, current_app
from flask.cli import with_appcontext
from sqlalchemy import select

from study_app import require_keys
from study_app.admin.models import AdminUser
from study_app.export.bundle import build_export
from study_app.export.tables import ExportRequestError, find_slug
from study_app.export.writers import FORMATS, linkage_bytes, render, write_dir, zip_bytes
from study_app.extensions import db
from study_app.schema import require_schema
from study_app.simulate import POLICIES, Catalog, Settings, run_bots
from study_app.studies import latest_study


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
    require_schema()
    create_admin(username, password)
    click.echo(f"Admin '{username}' can log in at /admin/login.")


@click.command("export")
@click.argument("out", type=click.Path(path_type=Path))
@click.option("--format", "fmt", type=click.Choice(FORMATS), default="csv", show_default=True)
@click.option("--study", "slug", help="Study slug; may be left out when the database holds one study.")
@click.option("--drop-excluded", is_flag=True, help="Leave excluded participants out entirely.")
@click.option("--include-test", is_flag=True, help="Keep test participants (left out by default).")
@click.option(
    "--linkage",
    type=click.Path(path_type=Path, dir_okay=False),
    help="Also write the linkage table (pseudonym -> Prolific ids, completion codes) to this CSV file. "
    "It identifies people: keep it private, apart from OUT.",
)
@with_appcontext
def export_command(
    out: Path, fmt: str, slug: str | None, drop_excluded: bool, include_test: bool, linkage: Path | None
) -> None:
    """Export a study to the folder OUT (or to a zip if OUT ends in .zip), without recruiter ids."""
    if linkage is not None and (linkage.resolve() == out.resolve() or out.resolve() in linkage.resolve().parents):
        raise click.ClickException(
            f"--linkage {linkage} lies inside {out}: keep recruiter ids apart from the shared data"
        )
    require_keys(current_app.config)  # the pseudonyms are keyed hashes
    require_schema()
    try:
        export = build_export(slug, drop_excluded=drop_excluded, include_test=include_test)
        files = render(export, fmt)
    except (ExportRequestError, ValueError) as err:
        raise click.ClickException(str(err)) from None
    if out.suffix == ".zip":
        out.parent.mkdir(parents=True, exist_ok=True)
        out.write_bytes(zip_bytes(files))
    else:
        write_dir(files, out)
    click.echo(f"Wrote {len(files)} files to {out} (pseudonymous: no recruiter ids).")
    if linkage is not None:
        linkage.parent.mkdir(parents=True, exist_ok=True)
        linkage.write_bytes(linkage_bytes(export))
        linkage.chmod(0o600)
        click.echo(f"Wrote the linkage table to {linkage} (Prolific ids and completion codes: keep it private).")


@click.command("simulate")
@click.argument("n", type=click.IntRange(min=1))
@click.option("--url", default="http://127.0.0.1:5000", show_default=True, help="Base URL of the running study app.")
@click.option("--policy", type=click.Choice(POLICIES), default="model", show_default=True)
@click.option("--study", "slug", help="Study slug; may be left out when the database holds one study.")
@click.option("--rate", default=0.2, show_default=True, help="random: chance to select each unit.")
@click.option("--noise", default=0.1, show_default=True, help="noisy-model: chance to flip each unit.")
@click.option("--attention-fail", default=0.0, show_default=True, help="Chance to fail an attention check.")
@click.option("--threads", default=4, show_default=True, help="Bots running at once.")
@click.option("--seed", default=0, show_default=True)
@with_appcontext
def simulate_command(
    n: int,
    url: str,
    policy: str,
    slug: str | None,
    rate: float,
    noise: float,
    attention_fail: float,
    threads: int,
    seed: int,
) -> None:
    """Run N simulated participants through the study served at --url.

    The bots recognise tasks from this app's database, which must hold the same study as the server.
    """
    require_schema()
    try:
        study = latest_study(find_slug(slug))
    except ExportRequestError as err:
        raise click.ClickException(str(err)) from None
    try:  # one clear line instead of every bot retrying a server that is not there
        requests.get(url, timeout=10)
    except requests.RequestException as err:
        raise click.ClickException(
            f"no study app answers at {url} ({type(err).__name__}): start it (bash scripts/serve.sh) or pass --url"
        ) from None
    settings = Settings(policy=policy, rate=rate, noise=noise, attention_fail=attention_fail)
    results = run_bots(url, study.slug, Catalog.from_study(study), settings, n, threads=threads, seed=seed)
    done = [b for b in results if b.error is None]
    click.echo(
        f"{len(done)} of {n} bots finished; {sum(len(b.answers) for b in results)} answers acknowledged, "
        f"{sum(b.retries for b in results)} retries."
    )
    for b in results:
        if b.error is not None:
            click.echo(f"{b.prolific_pid}: {b.error}", err=True)
    if len(done) < n:
        raise SystemExit(1)


def init_app(app: Flask) -> None:
    """Register the commands with the app."""
    app.cli.add_command(create_admin_command)
    app.cli.add_command(export_command)
    app.cli.add_command(simulate_command)
