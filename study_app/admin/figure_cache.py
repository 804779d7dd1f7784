"""The dashboard's figures, cached per study and refreshed when the study's answers change.

Computing the figures reads every row of a study and runs the analysis on them: seconds for a
thousand participants. A cheap query (:func:`answers_version`: counts and largest ids of the
participants, responses and exclusions, the finished count, the latest load of the study) tells
whether anything changed since. Unchanged: the cached figures are served. Changed: the stale
figures are served at once, marked with the time they were computed, while one background thread
per study has them recomputed (``DASHBOARD_BACKGROUND_REFRESH``, on by default; off, the view
recomputes before answering), at most once per ``DASHBOARD_REFRESH_SECONDS`` (default 30) counted
from the start of the previous computation: answers arriving all the time cost one computation
per interval, not one per view. The thread only waits on :mod:`study_app.admin.figure_worker`,
which computes in a process of its own. The first view of a study computes before answering, and
so does the first view after a researcher's own change on the dashboard (:func:`forget_figures`):
whoever excludes a participant expects the next page to show it.

The cache lives in the app object (``app.extensions``), so each worker process keeps its own copy;
it holds only numbers derived from the database, which stays the one source of truth.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime

import sqlalchemy as sa
from flask import Flask, current_app

from study_app.admin.figure_worker import compute_figures
from study_app.admin.models import Exclusion
from study_app.extensions import db
from study_app.models import Participant, Response, Study, utcnow

log = logging.getLogger(__name__)


@dataclass
class Figures:
    """One study's computed figures, the answers version they were computed from, and when."""

    version: tuple
    figures: dict
    started: float  # time.monotonic() when their computation began
    computed_at: datetime = field(default_factory=utcnow)
    refresh: threading.Thread | None = None  # the background refresh under way, if any

    @property
    def refreshing(self) -> bool:
        return self.refresh is not None and self.refresh.is_alive()

    def refresh_due(self, interval_s: float) -> bool:
        return not self.refreshing and time.monotonic() - self.started >= interval_s


@dataclass
class FigureCache:
    entries: dict[str, Figures] = field(default_factory=dict)
    lock: threading.Lock = field(default_factory=threading.Lock)


def figure_cache(app: Flask) -> FigureCache:
    return app.extensions.setdefault("dashboard_figures", FigureCache())


def forget_figures(slug: str) -> None:
    """Drop study ``slug``'s cached figures, so that the next view computes them before answering."""
    cache = figure_cache(current_app._get_current_object())
    with cache.lock:
        cache.entries.pop(slug, None)


def answers_version(slug: str) -> tuple:
    """A value that changes whenever anything the dashboard shows of study ``slug`` may have changed."""
    studies = sa.select(Study.id).where(Study.slug == slug).scalar_subquery()
    people = sa.select(Participant.id).where(Participant.study_id.in_(studies)).scalar_subquery()

    def count_and_max(model, where):
        return sa.select(sa.func.count(model.id), sa.func.max(model.id)).where(where)

    return (
        db.session.scalar(sa.select(sa.func.max(Study.id)).where(Study.slug == slug)),
        *db.session.execute(count_and_max(Participant, Participant.study_id.in_(studies))).one(),
        db.session.scalar(
            sa.select(sa.func.count(Participant.id)).where(
                Participant.study_id.in_(studies), Participant.status == "finished"
            )
        ),
        *db.session.execute(count_and_max(Response, Response.participant_id.in_(people))).one(),
        *db.session.execute(count_and_max(Exclusion, Exclusion.participant_id.in_(people))).one(),
    )


def _refresh(app: Flask, slug: str, stale: Figures, version: tuple, compute: Callable[[str], dict]) -> None:
    started = time.monotonic()
    try:
        figures = Figures(version, compute_figures(app, slug, compute), started)
    except Exception:  # keep serving the stale figures; the next view tries again
        log.exception("dashboard figures of %s: refresh failed", slug)
        return
    cache = figure_cache(app)
    with cache.lock:
        # a researcher's change meanwhile (forget_figures) made newer figures: keep those
        if cache.entries.get(slug) is stale:
            cache.entries[slug] = figures
    log.info("dashboard figures of %s refreshed in %.2f s", slug, time.monotonic() - started)


def cached_figures(slug: str, compute: Callable[[str], dict]) -> tuple[Figures, bool]:
    """Return the figures of study ``slug`` and whether they are behind the database.

    ``compute(slug)`` builds them (inside an app context, in the worker process where there is one);
    it runs before answering on the first view, and again, in the background, when a view finds the
    answers changed and the last computation began ``DASHBOARD_REFRESH_SECONDS`` or more ago.
    """
    app = current_app._get_current_object()
    cache = figure_cache(app)
    version = answers_version(slug)
    with cache.lock:
        entry = cache.entries.get(slug)
        if entry is not None and entry.version != version and app.config.get("DASHBOARD_BACKGROUND_REFRESH", True):
            if entry.refresh_due(app.config.get("DASHBOARD_REFRESH_SECONDS", 30)):
                entry.refresh = threading.Thread(
                    target=_refresh, args=(app, slug, entry, version, compute), name=f"dashboard-{slug}", daemon=True
                )
                entry.refresh.start()
            return entry, True
        if entry is not None and entry.version == version:
            return entry, False
    started = time.monotonic()
    entry = Figures(version, compute_figures(app, slug, compute), started)
    with cache.lock:
        cache.entries[slug] = entry
    return entry, False
