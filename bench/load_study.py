"""Load and fault test: gunicorn on PostgreSQL, hundreds of simulated participants at once.

    . .venv/bin/activate
    python -m bench.load_study                        # 200 bots, then 50 more while a worker is killed
    python -m bench.load_study --bots 300 --workers 6
    python -m bench.load_study --bots 2 --fault-bots 2 --kill-after 1 --workers 2   # seconds: the figures only

Creates a fresh database ``codeq_load_<random>`` on the server (dropped at the end), upgrades it with
the app's migrations, loads ``--study`` (default instruments/pilot: 12 tasks per participant, two
phases, attention checks), starts gunicorn with gunicorn.conf.py (gthread workers) and:

1. load: ``--bots`` bots take the whole study in parallel (one thread each). Prints throughput,
   p50/p95/p99 latency of the answer endpoint, and acknowledged vs stored answers and selections.
2. fault: ``--fault-bots`` more bots start; after ``--kill-after`` seconds one gunicorn worker is
   SIGKILLed. Bots retry failed requests; every acknowledged (2xx) answer must be stored.

With ``--open-loop N`` it runs one realistic phase instead: N participants arrive over the first
``--ramp`` seconds (Poisson arrivals: exponential gaps with mean ramp/N), and each thinks before
every answer for a time drawn uniformly from ``--think`` (default 20-60 s, a task's reading and
clicking time in the pilot). After ``--duration`` seconds everyone still in the study stops. As a
whole study lasts longer than the run, about N participants are in the study at once after the ramp.
Prints p50/p95/p99 of the answer latency seen by the participants and of the server's own time
(its ``Server-Timing`` header), and acknowledged vs stored answers.

    python -m bench.load_study --open-loop 300 --duration 300
"""

from __future__ import annotations

import os
import secrets
import signal
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path

import click
import numpy as np
import psycopg
import requests
import sqlalchemy as sa

from study_app import create_app
from study_app.extensions import db
from study_app.instrument import InstrumentError, load_instrument
from study_app.models import Study
from study_app.simulate import Catalog, Settings, run_bots

ROOT = Path(__file__).resolve().parents[1]
PILOT = ROOT / "instruments" / "pilot"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def admin_url(server_url: str, dbname: str) -> tuple[str, str]:
    """Return (libpq URL of the maintenance database, SQLAlchemy URL of ``dbname``)."""
    base = sa.make_url(server_url)
    return (
        base.set(drivername="postgresql", database="postgres").render_as_string(hide_password=False),
        base.set(drivername="postgresql+psycopg", database=dbname).render_as_string(hide_password=False),
    )


def flask(env: dict, *args: str) -> None:
    subprocess.run(
        [sys.executable, "-m", "flask", "--app", "study_app", *args],
        env=env,
        cwd=ROOT,
        check=True,
        stdout=subprocess.DEVNULL,
    )


def worker_pids(master: int) -> list[int]:
    out = subprocess.run(["ps", "-o", "pid=", "--ppid", str(master)], capture_output=True, text=True).stdout
    return [int(p) for p in out.split()]


def wait_until_up(url: str, proc: subprocess.Popen, seconds: float = 60) -> None:
    deadline = time.time() + seconds
    while time.time() < deadline:
        if proc.poll() is not None:
            raise click.ClickException("gunicorn exited during start-up")
        try:
            requests.get(url, timeout=10)
            return
        except requests.RequestException:  # not listening yet, or workers still importing
            time.sleep(0.3)
    raise click.ClickException(f"gunicorn did not answer at {url} within {seconds} s")


def stored(engine: sa.Engine, prefix: str) -> tuple[set, int, set, int]:
    """Return what bots named ``prefix``... have in the database.

    That is: their (bot, position, phase, unit) selections, the number of selection rows (to see
    duplicates), their (bot, position, phase) answers and their number of participant rows.
    """
    with engine.connect() as conn:
        rows = conn.execute(
            sa.text(
                "SELECT p.prolific_pid, a.position, r.phase, s.unit_index FROM selection s "
                "JOIN response r ON r.id = s.response_id JOIN assignment a ON a.id = r.assignment_id "
                "JOIN participant p ON p.id = r.participant_id WHERE p.prolific_pid LIKE :p"
            ),
            {"p": prefix + "%"},
        ).all()
        answers = conn.execute(
            sa.text(
                "SELECT p.prolific_pid, a.position, r.phase FROM response r JOIN assignment a ON a.id = r.assignment_id "
                "JOIN participant p ON p.id = r.participant_id WHERE p.prolific_pid LIKE :p"
            ),
            {"p": prefix + "%"},
        ).all()
        people = conn.scalar(
            sa.text("SELECT count(*) FROM participant WHERE prolific_pid LIKE :p"), {"p": prefix + "%"}
        )
    return {tuple(r) for r in rows}, len(rows), {tuple(r) for r in answers}, people


def report(name: str, results, seconds: float, engine: sa.Engine, prefix: str) -> bool:
    """Print the phase's figures; return whether nothing acknowledged was lost or duplicated."""
    lat = np.array([x for b in results for x in b.answer_latencies_ms])
    sent_sel = {(b.prolific_pid, a.position, a.phase, k) for b in results for a in b.answers for k in a.selected}
    sent_ans = {(b.prolific_pid, a.position, a.phase) for b in results for a in b.answers}
    got_sel, n_rows, got_ans, people = stored(engine, prefix)
    n_requests = sum(b.requests for b in results)
    finished = sum(b.error is None for b in results)
    print(f"\n== {name} ==")
    print(f"bots finished            {finished} / {len(results)}  ({sum(b.retries for b in results)} retried requests)")
    print(f"wall time                {seconds:.1f} s")
    print(
        f"throughput               {n_requests / seconds:.1f} requests/s ({n_requests} requests), "
        f"{len(sent_ans) / seconds:.1f} answers/s"
    )
    print(
        f"participants stored      {people} for {len(results)} bots "
        f"({sum(b.stopped for b in results)} stopped by the end of the run)"
    )
    if lat.size:
        p50, p95, p99 = np.percentile(lat, [50, 95, 99])
        print(f"answer latency ms        p50 {p50:.0f}  p95 {p95:.0f}  p99 {p99:.0f}  max {lat.max():.0f}")
    server = np.array([x for b in results for x in b.answer_server_ms])
    if server.size:
        p50, p95, p99 = np.percentile(server, [50, 95, 99])
        print(
            f"server time ms           p50 {p50:.1f}  p95 {p95:.1f}  p99 {p99:.1f}  max {server.max():.1f}  "
            f"(Server-Timing of the answers)"
        )
    print(
        f"answers ack'd/stored     {len(sent_ans)} / {len(got_ans)}  (acknowledged but missing: {len(sent_ans - got_ans)}, "
        f"stored but never acknowledged: {len(got_ans - sent_ans)})"
    )
    print(
        f"selections sent/stored   {len(sent_sel)} / {len(got_sel)}  (duplicate rows: {n_rows - len(got_sel)}, "
        f"acknowledged but missing: {len(sent_sel - got_sel)})"
    )
    for b in results:
        if b.error:
            print(f"  {b.prolific_pid}: {b.error}")
    return not (sent_ans - got_ans) and not (sent_sel - got_sel) and n_rows == len(got_sel)


def open_loop_phase(
    base: str,
    slug: str,
    catalog: Catalog,
    policy: str,
    n: int,
    ramp: float,
    duration: float,
    think_s: tuple[float, float],
    engine: sa.Engine,
) -> bool:
    """Run ``n`` participants arriving over ``ramp`` s and thinking ``think_s`` s per answer, for ``duration`` s."""
    rng = np.random.default_rng(3)
    arrivals = np.cumsum(rng.exponential(ramp / n, n)).tolist()
    settings = Settings(policy=policy, timeout=120, think_s=think_s, deadline=time.monotonic() + duration)
    print(
        f"open loop: {n} participants arriving over {arrivals[-1]:.0f} s, thinking {think_s[0]:.0f}-{think_s[1]:.0f} s "
        f"(uniform) before each answer, for {duration:.0f} s"
    )
    start = time.perf_counter()
    results = run_bots(base, slug, catalog, settings, n, threads=n, seed=3, prefix="0be7", arrivals=arrivals)
    return report(f"open loop: {n} participants", results, time.perf_counter() - start, engine, "0be7")


@click.command()
@click.option("--study", "folder", type=click.Path(path_type=Path), default=PILOT, help="Instrument folder.")
@click.option("--bots", default=200, show_default=True)
@click.option("--fault-bots", default=50, show_default=True)
@click.option("--kill-after", default=8.0, show_default=True, help="Seconds into the fault phase.")
@click.option("--workers", default=4, show_default=True)
@click.option("--threads", default=4, show_default=True, help="Threads per gunicorn worker.")
@click.option("--policy", default="noisy-model", show_default=True)
@click.option(
    "--server",
    default=os.environ.get("CODEQ_TEST_POSTGRES_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test"),
    show_default=True,
    help="Any database URL on the PostgreSQL server to use.",
)
@click.option(
    "--open-loop",
    "open_loop",
    type=int,
    default=None,
    help="Instead of load + fault: N participants arriving over --ramp, thinking between answers.",
)
@click.option("--ramp", default=60.0, show_default=True, help="Open loop: seconds over which participants arrive.")
@click.option("--duration", default=300.0, show_default=True, help="Open loop: seconds the run lasts.")
@click.option("--think", default="20-60", show_default=True, help="Open loop: seconds before each answer, low-high.")
def main(
    folder: Path,
    bots: int,
    fault_bots: int,
    kill_after: float,
    workers: int,
    threads: int,
    policy: str,
    server: str,
    open_loop: int | None,
    ramp: float,
    duration: float,
    think: str,
) -> None:
    """Run the load test, then the fault test (or the open-loop test), and print the figures."""
    try:
        think_s = tuple(float(x) for x in think.split("-"))
        assert len(think_s) == 2 and 0 <= think_s[0] <= think_s[1]
    except (ValueError, AssertionError):
        raise click.BadParameter(f"--think {think!r}: give low-high seconds, e.g. 20-60") from None
    try:
        inst = load_instrument(folder)
    except InstrumentError as err:
        raise click.ClickException(str(err)) from None
    dbname = f"codeq_load_{secrets.token_hex(4)}"
    maintenance, url = admin_url(server, dbname)
    try:
        with psycopg.connect(maintenance, autocommit=True) as conn:
            conn.execute(f"CREATE DATABASE {dbname}")
    except psycopg.OperationalError as err:
        raise click.ClickException(f"cannot reach PostgreSQL at {server}: {str(err).splitlines()[0]}") from None
    port = free_port()
    env = {
        **os.environ,
        "DATABASE_URL": url,
        "SECRET_KEY": secrets.token_hex(16),
        "GUNICORN_ACCESSLOG": "/dev/null",
        "GUNICORN_BIND": f"127.0.0.1:{port}",
        "GUNICORN_WORKERS": str(workers),
        "GUNICORN_THREADS": str(threads),
        "GUNICORN_LOGLEVEL": "warning",
    }
    engine = sa.create_engine(url)
    proc = None
    try:
        flask(env, "db", "upgrade")
        flask(env, "load-study", str(folder))
        proc = subprocess.Popen(
            [sys.executable, "-m", "gunicorn", "-c", "gunicorn.conf.py", "study_app:create_app()"], env=env, cwd=ROOT
        )
        base = f"http://127.0.0.1:{port}"
        wait_until_up(base, proc)
        n_tasks = inst.config["study"]["tasks_per_participant"]
        print(
            f"study {inst.slug}: {n_tasks} tasks per participant; gunicorn {workers} workers x {threads} threads "
            f"(gthread) on PostgreSQL database {dbname}; {os.cpu_count()} CPU cores shared with the bots"
        )
        with engine.connect() as conn:
            study_id = conn.scalar(
                sa.text("SELECT id FROM study WHERE slug = :s ORDER BY version DESC"), {"s": inst.slug}
            )
        app = create_app({"SQLALCHEMY_DATABASE_URI": url, "SECRET_KEY": env["SECRET_KEY"]})
        with app.app_context():
            catalog = Catalog.from_study(db.session.get(Study, study_id))
            db.engine.dispose()
        if open_loop is not None:
            ok = open_loop_phase(base, inst.slug, catalog, policy, open_loop, ramp, duration, think_s, engine)
            print(f"\nnothing acknowledged lost, no duplicates: {ok}")
            return
        # 200 clients queue for 16 server threads: a request may wait long, which is not a failure
        settings = Settings(policy=policy, timeout=120)

        start = time.perf_counter()
        results = run_bots(base, inst.slug, catalog, settings, bots, threads=bots, seed=1, prefix="10ad")
        ok_load = report(f"load: {bots} bots at once", results, time.perf_counter() - start, engine, "10ad")

        victims: list[int] = []

        def kill_one() -> None:
            time.sleep(kill_after)
            victims.append(worker_pids(proc.pid)[0])
            os.kill(victims[0], signal.SIGKILL)

        killer = threading.Thread(target=kill_one)
        start = time.perf_counter()
        killer.start()
        results = run_bots(base, inst.slug, catalog, settings, fault_bots, threads=fault_bots, seed=2, prefix="fa17")
        killer.join()
        print(
            f"\nSIGKILLed gunicorn worker {victims[0]} {kill_after:.0f} s into the fault phase; "
            f"workers now {worker_pids(proc.pid)}"
        )
        ok_fault = report(
            f"fault: {fault_bots} bots, one worker killed", results, time.perf_counter() - start, engine, "fa17"
        )
        print(f"\nnothing acknowledged lost, no duplicates: load {ok_load}, fault {ok_fault}")
    finally:
        if proc is not None:
            proc.terminate()
            proc.wait(timeout=30)
        engine.dispose()
        with psycopg.connect(maintenance, autocommit=True) as conn:
            conn.execute(f"DROP DATABASE IF EXISTS {dbname} WITH (FORCE)")


if __name__ == "__main__":
    main()
