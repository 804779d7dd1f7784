"""The dashboard's figures computed in a worker process: the same figures, and views never wait for it."""

from __future__ import annotations

import time
from pathlib import Path

import pytest
from flask import current_app
from test_admin import admin, login, stat  # noqa: F401  (admin is a fixture)
from test_export import seed
from test_figure_cache import exclude

from study_app.admin import routes
from study_app.admin.figure_cache import figure_cache
from study_app.admin.figure_worker import compute_figures, stop_worker, uses_process


def gated_figures(slug: str) -> dict:
    """The dashboard's figures, computed once the file ``FIGURE_GATE`` exists (run in the worker process)."""
    gate = Path(current_app.config["FIGURE_GATE"])
    gate.with_suffix(".waiting").touch()
    deadline = time.monotonic() + 60
    while not gate.exists() and time.monotonic() < deadline:
        time.sleep(0.05)
    return routes.dashboard_figures(slug)


@pytest.fixture
def in_worker(app):
    app.config["DASHBOARD_PROCESS"] = True
    yield app
    stop_worker(app)


def test_the_worker_process_computes_the_figures_computed_in_process(in_worker, loaded):
    app = in_worker
    seed(app)
    with app.app_context():
        here = routes.dashboard_figures("fixture")
    assert uses_process(app)
    there = compute_figures(app, "fixture", routes.dashboard_figures)
    assert there == here and here["tasks"] and here["overall"] is not None


def test_a_view_during_a_refresh_does_not_wait_for_it(in_worker, client, csrf_of, admin, loaded, monkeypatch, tmp_path):  # noqa: F811
    app, gate = in_worker, tmp_path / "gate"
    app.config |= {"DASHBOARD_REFRESH_SECONDS": 0, "FIGURE_GATE": str(gate)}
    monkeypatch.setattr(routes, "dashboard_figures", gated_figures)
    seed(app)
    login(client, csrf_of)
    gate.touch()
    before = client.get("/admin/").text  # the first view waits for the worker
    gate.unlink()
    gate.with_suffix(".waiting").unlink()
    exclude(app, "pub0000")
    client.get("/admin/")  # starts the refresh, which waits at the gate in the worker
    refresh = figure_cache(app).entries["fixture"].refresh
    deadline = time.monotonic() + 60
    while not gate.with_suffix(".waiting").exists() and time.monotonic() < deadline:
        time.sleep(0.05)
    during = client.get("/admin/").text
    assert refresh.is_alive() and "new answers have arrived" in during  # answered while the worker computes
    assert stat(during, "kappa-n") == stat(before, "kappa-n")
    gate.touch()
    refresh.join(timeout=60)
    after = client.get("/admin/").text
    assert int(stat(after, "kappa-n")) == int(stat(before, "kappa-n")) - 2 and "new answers have arrived" not in after
