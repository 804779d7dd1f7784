"""The report and every admin page as a person sees them in chromium, on a desktop and a phone:
nothing wider than the window, every figure captioned, and the dashboard showing the numbers that
``python -m analysis report`` computes from the export of the same study."""

from __future__ import annotations

import re
import subprocess
import sys

import pandas as pd
import pytest
from sqlalchemy import select

from analysis.breakdown import format_duration
from study_app.admin.commands import create_admin
from study_app.export.bundle import build_export
from study_app.export.writers import render, write_dir
from study_app.extensions import db
from study_app.models import Study
from study_app.simulate import Catalog, Settings, run_bots

pytestmark = pytest.mark.browser
BOTS = 6
WIDTHS = (1280, 390)
PASSWORD = "correct horse battery"


@pytest.fixture(scope="module")
def study(live, tmp_path_factory):
    """Bots that copy the model's rationale with noise (some fail attention checks), an admin, and
    the report that `python -m analysis report` writes from the study's export."""
    app, base, slug = live
    with app.app_context():
        catalog = Catalog.from_study(db.session.scalar(select(Study).where(Study.slug == slug)))
        create_admin("researcher", PASSWORD)
    results = run_bots(
        base + "/",
        slug,
        catalog,
        Settings(policy="noisy-model", noise=0.15, attention_fail=0.3),
        BOTS,
        threads=2,
        progress=False,
    )
    assert [r.error for r in results] == [None] * BOTS
    folder = tmp_path_factory.mktemp("study")
    with app.app_context():
        write_dir(render(build_export(slug), "csv"), folder / "export")
    done = subprocess.run(
        [sys.executable, "-m", "analysis", "report", str(folder / "export"), "--out", str(folder / "report")],
        capture_output=True,
        text=True,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    return folder / "report"


def fits(page) -> None:
    width, window = page.evaluate("[document.documentElement.scrollWidth, innerWidth]")
    assert width <= window, f"{page.url} is {width} px wide in a {window} px window"


def log_in(page, base: str) -> None:
    page.goto(f"{base}/admin/login")
    page.fill("input[name=username]", "researcher")
    page.fill("input[name=password]", PASSWORD)
    page.click("input[type=submit]")
    page.wait_for_load_state()


@pytest.mark.parametrize("width", WIDTHS)
def test_report_fits_and_every_figure_is_captioned(browser, study, width, screenshots):
    page = browser.new_page(viewport={"width": width, "height": 900})
    page.goto((study / "report.html").as_uri())
    page.wait_for_load_state()
    fits(page)
    figures = page.locator("figure")
    assert figures.count() >= 10  # 4 plots and 6+ tables
    for figure in figures.all():
        caption = figure.locator("figcaption")
        assert caption.count() == 1 and re.match(r"(Figure|Table) \d+\. \w", caption.inner_text()), figure.inner_html()[
            :200
        ]
    # every plot is drawn (the SVG loaded) and no plot is wider than the window
    for img in page.locator("figure.plot img").all():
        natural, shown = img.evaluate("i => [i.naturalWidth, i.getBoundingClientRect().right]")
        assert natural > 0 and shown <= width
    page.screenshot(path=str(screenshots / f"report-{width}.png"), full_page=True)
    page.close()


@pytest.mark.parametrize("width", WIDTHS)
def test_every_admin_page_fits(live, browser, study, width, screenshots):
    base = live[1]
    page = browser.new_page(viewport={"width": width, "height": 900})
    log_in(page, base)
    for name, path in (("dashboard", "/admin/"), ("participants", "/admin/participants"), ("export", "/admin/export")):
        page.goto(base + path)
        page.wait_for_load_state()
        fits(page)
        page.screenshot(path=str(screenshots / f"admin-{name}-{width}.png"), full_page=True)
        if name == "participants":
            first = page.locator("tbody tr a").first.get_attribute("href")
    page.goto(base + first)  # a participant's page
    page.wait_for_load_state()
    fits(page)
    assert page.locator("a", has_text="All participants of").count() == 1
    page.screenshot(path=str(screenshots / f"admin-participant-{width}.png"), full_page=True)
    page.close()
    anonymous = browser.new_page(viewport={"width": width, "height": 900})
    anonymous.goto(f"{base}/admin/login")
    fits(anonymous)
    anonymous.close()


def stat(page, name: str) -> str:
    return page.locator(f"[data-stat='{name}']").first.inner_text().strip()


def test_dashboard_shows_the_reports_numbers(live, browser, study):
    base = live[1]
    page = browser.new_page(viewport={"width": 1280, "height": 900})
    log_in(page, base)
    summary = pd.read_csv(study / "alignment_summary.csv").set_index("metric")
    for metric in ("kappa", "ac1"):
        row = summary.loc[metric]
        assert stat(page, f"{metric}-mean") == f"{row['mean']:.3f}"
        assert stat(page, f"{metric}-ci-low") == f"{row['ci_low']:.3f}"
        assert stat(page, f"{metric}-ci-high") == f"{row['ci_high']:.3f}"
        assert stat(page, f"{metric}-n") == str(int(row["n"]))
    tasks = pd.read_csv(study / "task_agreement.csv").merge(pd.read_csv(study / "response_times.csv"), on="task_id")
    for t in tasks.itertuples():
        row = page.locator(f"tr[data-task='{t.task_id}']")
        assert row.locator("[data-stat=answers]").inner_text() == str(t.n_responses)
        assert row.locator("[data-stat=kappa]").inner_text() == f"{t.kappa_mean:.3f}"
        assert row.locator("[data-stat=ac1]").inner_text() == f"{t.ac1_mean:.3f}"
        assert row.locator("[data-stat=median-time]").inner_text() == format_duration(t.median_s)
    assert page.locator("tr[data-task] meter").count() == len(tasks)
    assert "a participant's selection with the model's rationale" in page.inner_text("main")
    page.close()


def test_participants_sort_by_mean_kappa(live, browser, study):
    base = live[1]
    page = browser.new_page(viewport={"width": 1280, "height": 900})
    log_in(page, base)
    page.goto(f"{base}/admin/participants")
    expected = sorted(pd.read_csv(study / "participant_agreement.csv")["kappa_mean"].round(3))
    column = [th.inner_text() for th in page.locator("thead th").all()].index("mean κ")
    page.get_by_role("button", name="mean κ").click()
    shown = [float(r.locator("td").nth(column).inner_text()) for r in page.locator("tbody tr").all()]
    assert shown == expected
    page.get_by_role("button", name="mean κ").click()
    assert [float(r.locator("td").nth(column).inner_text()) for r in page.locator("tbody tr").all()] == expected[::-1]
    page.close()
