"""The dashboard's figures computed in a process of their own, so serving never waits for them.

Computing the figures reads every row of a study and runs the analysis: seconds of pure Python and
pandas for a thousand participants. In a thread of the serving process that holds the interpreter
lock, and every request served meanwhile (a participant's answer, a dashboard reload) waits its turn.
Each app therefore starts one worker process (spawned, not forked: a fork would copy the serving
process's threads and database connections) that builds its own app from the same config and
computes there; the serving process only waits on a pipe, which holds no lock.

``DASHBOARD_PROCESS`` (app config, env ``DASHBOARD_PROCESS=0`` or ``1``) chooses it: unset, the
process is used except under ``TESTING`` (each test's app would start one). An in-memory SQLite
database lives only in the serving process, so there the figures are always computed in-process.
"""

from __future__ import annotations

import logging
import multiprocessing
import threading
from collections.abc import Callable
from concurrent.futures import ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool

from flask import Flask
from sqlalchemy.engine import make_url

from study_app import create_app
from study_app.extensions import db

log = logging.getLogger(__name__)

KEY = "dashboard_process"
_start_lock = threading.Lock()
_worker_app: Flask | None = None  # in the worker process: the app it computes with


def in_memory(url: str) -> bool:
    parsed = make_url(url)
    return parsed.get_backend_name() == "sqlite" and parsed.database in (None, "", ":memory:")


def uses_process(app: Flask) -> bool:
    """Whether ``app`` computes its figures in a worker process."""
    if in_memory(app.config["SQLALCHEMY_DATABASE_URI"]):
        return False
    chosen = app.config.get("DASHBOARD_PROCESS")
    return not app.testing if chosen is None else bool(chosen)


def _start(config: dict) -> None:
    """Initialise the worker process: its own app, engine and connections, from the server's config."""
    global _worker_app
    _worker_app = create_app(config)


def _compute(compute: Callable[[str], dict], slug: str) -> dict:
    assert _worker_app is not None, "the worker process was started without its app"
    with _worker_app.app_context():
        try:
            return compute(slug)
        finally:
            db.session.remove()


def worker(app: Flask) -> ProcessPoolExecutor:
    """The app's worker process, started on first use."""
    with _start_lock:
        pool = app.extensions.get(KEY)
        if pool is None:
            pool = ProcessPoolExecutor(
                max_workers=1,
                mp_context=multiprocessing.get_context("spawn"),
                initializer=_start,
                initargs=(dict(app.config),),
            )
            app.extensions[KEY] = pool
        return pool


def stop_worker(app: Flask) -> None:
    """End the app's worker process, if it started one (the interpreter's exit does it otherwise)."""
    with _start_lock:
        pool = app.extensions.pop(KEY, None)
    if pool is not None:
        pool.shutdown(wait=True, cancel_futures=True)


def compute_figures(app: Flask, slug: str, compute: Callable[[str], dict]) -> dict:
    """Return ``compute(slug)``, run in ``app``'s worker process (or, without one, here, in a fresh app
    context). ``compute`` must be a module-level function: the worker process imports it by name."""
    if not uses_process(app):
        with app.app_context():
            try:
                return compute(slug)
            finally:
                db.session.remove()
    pool = worker(app)
    try:
        return pool.submit(_compute, compute, slug).result()
    except BrokenProcessPool:  # the worker died (killed, out of memory): the next call starts another
        with _start_lock:
            if app.extensions.get(KEY) is pool:
                del app.extensions[KEY]
        log.error("dashboard figures of %s: the worker process died; a new one starts on the next refresh", slug)
        raise
