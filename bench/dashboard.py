"""The admin dashboard under load: 1,000 finished participants, more answering, a researcher reloading.

    python -m bench.dashboard                                   # SQLite in a temporary folder
    python -m bench.dashboard --database postgresql+psycopg://postgres@127.0.0.1:5432/test

Loads the pilot, seeds ``--participants`` finished participants (:func:`bench.export_study.seed`), serves the app from
a threaded server, lets ``--bots`` simulated participants (``study_app.simulate``, real pages) take the
study while a researcher logs in and reloads the dashboard every ``--every`` seconds for
``--seconds``. Prints the first (cold) load, the percentiles of the later loads, how many of them
showed figures behind the database, how often the figures were recomputed, and the answers stored
meanwhile. On PostgreSQL the tables live in a private schema, dropped at the end.
"""

from __future__ import annotations

import random
import re
import secrets
import tempfile
import threading
import time
from pathlib import Path

import click
import numpy as np
import requests
import sqlalchemy as sa
from werkzeug.serving import make_server

from bench.export_study import PILOT, seed
from study_app import create_app
from study_app.admin.commands import create_admin
from study_app.extensions import db
from study_app.instrument import load_instrument
from study_app.models import Response, Study
from study_app.simulate import Catalog, Settings, run_bots
from study_app.studies import import_study


def researcher(base: str) -> requests.Session:
    """A logged-in admin session."""
    session = requests.Session()
    page = session.get(f"{base}/admin/login").text
    token = re.search(r'name="csrf-token" content="([^"]+)"', page).group(1)
    # no redirect: the login would land on the dashboard, and the first load below is the cold one
    session.post(
        f"{base}/admin/login",
        data={"username": "bench", "password": "bench-password", "csrf_token": token},
        allow_redirects=False,
    )
    return session


def reload_dashboard(session: requests.Session, base: str) -> tuple[float, str, bool]:
    """GET the dashboard; return seconds, the "as of" time it shows and whether it said it is behind."""
    start = time.perf_counter()
    page = session.get(f"{base}/admin/", timeout=300)
    page.raise_for_status()
    seconds = time.perf_counter() - start
    as_of = re.search(r"Figures as of ([^<;]+) UTC", page.text).group(1)
    finished = re.search(r'data-stat="finished">(\d+)<', page.text).group(1)
    responses = re.search(r'data-stat="kappa-n">(\d+)<', page.text).group(1)
    return seconds, f"{as_of} ({finished} finished, {responses} responses)", "new answers have arrived" in page.text


@click.command()
@click.option("--participants", default=1000, show_default=True, help="Finished participants seeded.")
@click.option("--bots", default=10, show_default=True, help="Simulated participants answering meanwhile.")
@click.option("--seconds", default=60.0, show_default=True, help="How long the researcher keeps reloading.")
@click.option("--every", default=1.0, show_default=True, help="Seconds between two reloads.")
@click.option("--database", default=None, help="SQLAlchemy URL (default: SQLite in a temporary folder).")
def main(participants, bots, seconds, every, database):
    """Time dashboard reloads while answers keep arriving."""
    tmp = Path(tempfile.mkdtemp(prefix="codeq-dashboard-"))
    config = {"TESTING": True, "SECRET_KEY": secrets.token_hex(16), "SQLALCHEMY_DATABASE_URI": f"sqlite:///{tmp}/db"}
    schema = engine = None
    if database is not None:
        schema = f"bench_{secrets.token_hex(4)}"
        engine = sa.create_engine(database)
        with engine.begin() as conn:
            conn.execute(sa.text(f"CREATE SCHEMA {schema}"))
        config |= {
            "SQLALCHEMY_DATABASE_URI": database,
            "SQLALCHEMY_ENGINE_OPTIONS": {"connect_args": {"options": f"-csearch_path={schema}"}},
        }
    app = create_app(config)
    server = None
    try:
        with app.app_context():
            db.create_all()
            import_study(load_instrument(PILOT))
            create_admin("bench", "bench-password")
            counts = seed(participants, 12, 1, random.Random(0))  # the pilot's 12 main tasks each; one event a task
            study = db.session.scalar(sa.select(Study))
            slug, catalog = study.slug, Catalog.from_study(study)
            answers_before = db.session.scalar(sa.select(sa.func.count(Response.id)))
        print(f"seeded {counts} on {config['SQLALCHEMY_DATABASE_URI'].split(':')[0]}")
        server = make_server("127.0.0.1", 0, app, threaded=True)
        threading.Thread(target=server.serve_forever, daemon=True).start()
        base = f"http://127.0.0.1:{server.server_port}"
        session = researcher(base)
        cpu = time.process_time()
        cold, shown, _ = reload_dashboard(session, base)
        print(f"first load (computes the figures): {cold:.2f} s; figures as of {shown}")
        deadline = time.monotonic() + seconds
        settings = Settings(policy="noisy-model", noise=0.1, think_s=(0.5, 2.0), deadline=deadline)
        answering = threading.Thread(
            target=run_bots, args=(base, slug, catalog, settings, bots), kwargs={"threads": bots, "progress": False}
        )
        answering.start()
        loads = []
        while time.monotonic() < deadline:
            loads.append(reload_dashboard(session, base))
            time.sleep(max(0.0, every - loads[-1][0]))
        answering.join()
        cpu = time.process_time() - cpu
        with app.app_context():
            arrived = db.session.scalar(sa.select(sa.func.count(Response.id))) - answers_before
        times = np.array([s for s, _, _ in loads]) * 1000
        print(
            f"{len(loads)} reloads while {bots} bots answered ({arrived} answers stored): p50 "
            f"{np.percentile(times, 50):.0f} ms, p95 {np.percentile(times, 95):.0f} ms, max {times.max():.0f} ms; "
            f"{sum(b for _, _, b in loads)} showed figures behind the database; "
            f"{len({a for _, a, _ in loads})} distinct computations shown; process CPU {cpu:.1f} s"
        )
    finally:
        if server is not None:
            server.shutdown()
        with app.app_context():
            db.session.remove()
            db.engine.dispose()
        if schema is not None:
            with engine.begin() as conn:
                conn.execute(sa.text(f"DROP SCHEMA {schema} CASCADE"))
            engine.dispose()


if __name__ == "__main__":
    main()
