"""Export time for a large study: 1,000 finished participants of the pilot study.

    python bench/export_study.py                          # SQLite in a temporary folder
    python bench/export_study.py --database postgresql+psycopg://postgres@127.0.0.1:5432/test
    python bench/export_study.py --participants 3 --events 1   # seconds: the figures only

Loads ``--study`` (default instruments/pilot: 22 main tasks, 12 per participant, two phases, two
attention checks and the tutorial) into a fresh database, seeds ``--participants`` finished
participants (``--events`` telemetry events per task), then times what the admin's "Download zip"
does in one request (read rows, build tables, write CSV, zip) and the same through the HTTP route,
and prints seconds, rows and zip size next to gunicorn's worker timeout. On PostgreSQL the tables
are created in a private schema, dropped at the end.

    python -m bench.export_study --database postgresql+psycopg://postgres@127.0.0.1:5432/test --events 1 --dashboard 90

With ``--dashboard SECONDS`` it then serves the app with gunicorn in a subprocess (one worker, as
gunicorn.conf.py configures it otherwise), lets ``--bots`` simulated participants take the study from
another process, over HTTP, while this one reloads the dashboard every ``--every`` seconds, and prints
the first (cold) load, the percentiles of the later ones, how many showed figures behind the
database, how often and how long the figures were recomputed (study_app/admin/figure_cache.py, at
most once per ``--refresh`` seconds), the CPU time of server and bots and the load average.
"""

from __future__ import annotations

import multiprocessing
import os
import random
import re
import resource
import secrets
import socket
import subprocess
import sys
import tempfile
import time
from concurrent.futures import ProcessPoolExecutor
from datetime import timedelta
from pathlib import Path

import click
import numpy as np
import requests
import sqlalchemy as sa

from study_app import create_app
from study_app.admin.commands import create_admin
from study_app.export.bundle import build_export
from study_app.export.writers import render, zip_bytes
from study_app.extensions import db
from study_app.instrument import InstrumentError, load_instrument
from study_app.models import Assignment, Event, Participant, QuestionnaireAnswer, Response, Selection, Study, utcnow
from study_app.studies import import_study

ROOT = Path(__file__).resolve().parents[1]
PILOT = ROOT / "instruments" / "pilot"
GUNICORN_TIMEOUT_S = 30  # gunicorn.conf.py's default worker timeout


def seed(n: int, tasks_each: int, events_per_task: int, rng: random.Random) -> dict[str, int]:
    """Insert ``n`` finished participants, each with ``tasks_each`` main tasks, answers, selections and
    telemetry; return row counts."""
    study = db.session.scalar(sa.select(Study))
    tasks = sorted(study.tasks, key=lambda t: t.position)
    main = [t for t in tasks if t.kind == "main"]
    tutorial = next(t for t in tasks if t.kind == "tutorial")
    attention = [t for t in tasks if t.kind == "attention"]
    counts = dict.fromkeys(("participants", "responses", "selections", "events"), 0)
    t0 = utcnow() - timedelta(days=2)
    for start in range(0, n, 100):  # in chunks, so memory stays flat
        chunk = range(start, min(n, start + 100))
        people = [
            {
                "study_id": study.id,
                "public_id": secrets.token_urlsafe(16),
                "resume_code": secrets.token_hex(6),
                "prolific_pid": secrets.token_hex(12),
                "status": "finished",
                "created_at": t0,
                "finished_at": t0 + timedelta(minutes=25),
                "completion_code": "C0DE1234",
            }
            for _ in chunk
        ]
        ids = db.session.scalars(sa.insert(Participant).returning(Participant.id), people).all()
        counts["participants"] += len(ids)
        db.session.execute(
            sa.insert(QuestionnaireAnswer),
            [
                {"participant_id": pid, "question_id": q, "value": v}
                for pid in ids
                for q, v in (
                    ("role", "Student"),
                    ("years_programming", "5"),
                    ("python_expertise", "3 - Intermediate"),
                    ("ml_background", "Not at all"),
                )
            ],
        )
        assignments = []
        for pid in ids:
            drawn = rng.sample(main, tasks_each) + attention
            assignments += [
                {"participant_id": pid, "study_task_id": t.id, "position": pos, "kind": t.kind}
                for pos, t in enumerate([tutorial, *drawn])
            ]
        rows = db.session.execute(
            sa.insert(Assignment).returning(
                Assignment.id, Assignment.participant_id, Assignment.study_task_id, Assignment.kind
            ),
            assignments,
        ).all()
        payload = {t.id: t.payload for t in tasks}
        responses, evs = [], []
        for a in rows:
            phases = (1, 2) if a.kind == "main" else (1,)
            for phase in phases:
                responses.append(
                    {
                        "participant_id": a.participant_id,
                        "assignment_id": a.id,
                        "phase": phase,
                        "shown_at": t0,
                        "submitted_at": t0 + timedelta(seconds=30),
                        "active_ms": 25000,
                        "confidence": 3 if phase == 1 else None,
                        "would_predict": "yes" if phase == 1 else None,
                        "agreement": 4 if phase == 2 else None,
                    }
                )
            evs += [
                {
                    "participant_id": a.participant_id,
                    "study_task_id": a.study_task_id,
                    "kind": "toggle",
                    "client_ts": 1_700_000_000_000 + k,
                    "payload": {"phase": 1, "unit": k, "on": True, "selected": [k]},
                    "server_ts": t0,
                }
                for k in range(events_per_task)
            ]
        resp_rows = db.session.execute(
            sa.insert(Response).returning(Response.id, Response.assignment_id), responses
        ).all()
        task_of = {a.id: a.study_task_id for a in rows}
        sels = []
        for r in resp_rows:
            p = payload[task_of[r.assignment_id]]
            can = range(p["context_start"], p["target"]["unit_index"])
            sels += [{"response_id": r.id, "unit_index": k} for k in rng.sample(list(can), min(3, len(can)))]
        db.session.execute(sa.insert(Selection), sels)
        db.session.execute(sa.insert(Event), evs)
        db.session.commit()
        counts["responses"] += len(resp_rows)
        counts["selections"] += len(sels)
        counts["events"] += len(evs)
    return counts


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


def answer(base: str, slug: str, tasks: list, checks: list, expected: dict, bots: int, seconds: float) -> int:
    """Let ``bots`` simulated participants take study ``slug`` at ``base`` for ``seconds`` (run in a process
    of its own); return how many answers the server acknowledged."""
    from study_app.simulate import Catalog, Settings, run_bots  # the bot runner, imported in its process

    settings = Settings(policy="noisy-model", noise=0.1, think_s=(0.5, 2.0), deadline=time.monotonic() + seconds)
    results = run_bots(base, slug, Catalog(tasks, checks, expected), settings, bots, threads=bots, progress=False)
    return sum(len(r.answers) for r in results)


def serve(database: str, port: int, refresh_s: float, log: Path) -> subprocess.Popen:
    """Serve the app with gunicorn (gunicorn.conf.py: one worker, gthread) in a subprocess, as deployed."""
    env = os.environ | {
        "DATABASE_URL": database,
        "SECRET_KEY": secrets.token_hex(32),
        "EXPORT_KEY": secrets.token_hex(32),
        "RATELIMIT_STORAGE_URI": "memory://",
        "CODEQ_LOG_LEVEL": "INFO",  # figure_cache logs each refresh
        "DASHBOARD_REFRESH_SECONDS": str(refresh_s),
        "GUNICORN_BIND": f"127.0.0.1:{port}",
        "GUNICORN_WORKERS": "1",  # one cache: every reload meets the same figures
        "GUNICORN_THREADS": "16",
        "GUNICORN_TIMEOUT": "120",
    }
    server = subprocess.Popen(
        [sys.executable, "-m", "gunicorn", "-c", str(ROOT / "gunicorn.conf.py"), "study_app:create_app()"],
        cwd=ROOT,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=log.open("w"),
    )
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        try:
            requests.get(f"http://127.0.0.1:{port}/admin/login", timeout=5).raise_for_status()
            return server
        except requests.ConnectionError:
            if server.poll() is not None:
                break
            time.sleep(0.5)
    server.kill()
    raise click.ClickException(f"the server did not start; its log: {log}")


def children_cpu() -> float:
    """CPU seconds of this process's ended (and waited-for) children and their descendants."""
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def time_dashboard(
    app, database: str, slug: str, bots: int, seconds: float, every: float, refresh_s: float, log: Path
) -> None:
    """Reload the dashboard every ``every`` s for ``seconds`` while ``bots`` simulated participants answer.

    Server, bots and researcher are three processes, as in a study: the server is gunicorn in a
    subprocess, the bots run in another, this process only reloads the dashboard and counts.
    """
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    base = f"http://127.0.0.1:{port}"
    with app.app_context():
        study = db.session.scalar(sa.select(Study).where(Study.slug == slug).order_by(Study.id.desc()).limit(1))
        tasks, checks = [(t.kind, t.payload) for t in study.tasks], study.definition.attention_checks
        expected = study.expected_units
        answers_before = db.session.scalar(sa.select(sa.func.count(Response.id)))
    load_before, cpu_before = os.getloadavg()[0], children_cpu()
    server = serve(database, port, refresh_s, log)
    try:
        session = researcher(base)
        cold, shown, _ = reload_dashboard(session, base)
        print(f"dashboard first load (computes the figures): {cold:.2f} s; figures as of {shown}")
        deadline = time.monotonic() + seconds
        with ProcessPoolExecutor(max_workers=1, mp_context=multiprocessing.get_context("spawn")) as pool:
            answering = pool.submit(answer, base, slug, tasks, checks, expected, bots, seconds)
            loads = []
            while time.monotonic() < deadline:
                loads.append(reload_dashboard(session, base))
                time.sleep(max(0.0, every - loads[-1][0]))
            acknowledged = answering.result()
        bots_cpu = children_cpu() - cpu_before
        load_after = os.getloadavg()[0]
    finally:
        server.terminate()
        server.wait(timeout=60)
    server_cpu = children_cpu() - cpu_before - bots_cpu
    with app.app_context():
        arrived = db.session.scalar(sa.select(sa.func.count(Response.id))) - answers_before
    refreshes = [float(m) for m in re.findall(r"refreshed in ([\d.]+) s", log.read_text())]
    times = np.array([s for s, _, _ in loads]) * 1000
    print(
        f"dashboard: {len(loads)} reloads while {bots} bots answered ({arrived} answers stored): p50 "
        f"{np.percentile(times, 50):.0f} ms, p95 {np.percentile(times, 95):.0f} ms, max {times.max():.0f} ms; "
        f"{sum(b for _, _, b in loads)} showed figures behind the database; "
        f"{len({a for _, a, _ in loads})} distinct computations shown; "
        f"{len(refreshes)} background refreshes ({', '.join(f'{r:.1f}' for r in refreshes) or 'none'} s); "
        f"{acknowledged} answers acknowledged to the bots"
    )
    print(
        f"CPU: server with its figure process {server_cpu:.1f} s, bots {bots_cpu:.1f} s; "
        f"load average (1 min) {load_before:.1f} before, {load_after:.1f} at the end; {os.cpu_count()} cores"
    )


@click.command()
@click.option("--participants", default=1000, show_default=True)
@click.option("--events", "events_per_task", default=20, show_default=True, help="Telemetry events per task.")
@click.option("--database", default=None, help="SQLAlchemy URL (default: SQLite in a temporary folder).")
@click.option("--study", "folder", type=click.Path(path_type=Path), default=PILOT, help="Instrument folder.")
@click.option("--dashboard", "dashboard_s", default=0.0, help="Then reload the dashboard for this many seconds.")
@click.option("--bots", default=10, show_default=True, help="Simulated participants answering during --dashboard.")
@click.option("--every", default=1.0, show_default=True, help="Seconds between two dashboard reloads.")
@click.option("--refresh", "refresh_s", default=30.0, show_default=True, help="The server's DASHBOARD_REFRESH_SECONDS.")
def main(
    participants: int,
    events_per_task: int,
    database: str | None,
    folder: Path,
    dashboard_s: float,
    bots: int,
    every: float,
    refresh_s: float,
) -> None:
    """Seed a large study and time its export (and, with --dashboard, the dashboard under load)."""
    try:
        inst = load_instrument(folder)
    except InstrumentError as err:
        raise click.ClickException(str(err)) from None
    tmp = Path(tempfile.mkdtemp(prefix="codeq-export-"))
    config = {"TESTING": True, "SECRET_KEY": secrets.token_hex(16)}
    schema = None
    if database is None:
        config["SQLALCHEMY_DATABASE_URI"] = f"sqlite:///{tmp / 'study.db'}"
    else:
        schema = f"bench_{secrets.token_hex(4)}"
        engine = sa.create_engine(database)
        with engine.begin() as conn:
            conn.execute(sa.text(f"CREATE SCHEMA {schema}"))
        config |= {
            "SQLALCHEMY_DATABASE_URI": database,
            "SQLALCHEMY_ENGINE_OPTIONS": {"connect_args": {"options": f"-csearch_path={schema}"}},
        }
    app = create_app(config)
    try:
        with app.app_context():
            db.create_all()
            import_study(inst)
            create_admin("bench", "bench-password")
            start = time.perf_counter()
            counts = seed(
                participants, inst.config["study"]["tasks_per_participant"], events_per_task, random.Random(0)
            )
            print(f"seeded {counts} in {time.perf_counter() - start:.1f} s on {db.engine.dialect.name}")
            start, cpu = time.perf_counter(), time.process_time()
            export = build_export()
            built = time.perf_counter() - start
            files = render(export, "csv")
            rendered = time.perf_counter() - start
            data = zip_bytes(files)
            total, cpu = time.perf_counter() - start, time.process_time() - cpu
            print(
                f"export in process: build {built:.1f} s, +CSV {rendered - built:.1f} s, +zip {total - rendered:.1f} s "
                f"= {total:.1f} s wall, {cpu:.1f} s CPU; zip {len(data) / 1e6:.1f} MB; "
                f"rows {', '.join(f'{k} {len(v)}' for k, v in export.tables.items())}"
            )
        client = app.test_client()
        page = client.get("/admin/login").text
        token = page.split('name="csrf-token" content="')[1].split('"')[0]
        client.post("/admin/login", data={"username": "bench", "password": "bench-password", "csrf_token": token})
        start = time.perf_counter()
        resp = client.post("/admin/export", data={"format": "csv", "csrf_token": token})
        http = time.perf_counter() - start
        print(
            f"admin download (HTTP route): {http:.1f} s, {len(resp.data) / 1e6:.1f} MB, status {resp.status_code}; "
            f"gunicorn worker timeout {GUNICORN_TIMEOUT_S} s: "
            f"{'within' if http < GUNICORN_TIMEOUT_S else 'OVER: use flask export'}"
        )
        if dashboard_s > 0:
            url = config["SQLALCHEMY_DATABASE_URI"]
            if schema is not None:  # the server process finds the bench's tables through the URL alone
                url = f"{url}{'&' if '?' in url else '?'}options=-csearch_path%3D{schema}"
            time_dashboard(app, url, inst.slug, bots, dashboard_s, every, refresh_s, tmp / "server.log")
    finally:
        with app.app_context():
            db.session.remove()
            db.engine.dispose()
        if schema is not None:
            with engine.begin() as conn:
                conn.execute(sa.text(f"DROP SCHEMA {schema} CASCADE"))
            engine.dispose()


if __name__ == "__main__":
    main()
