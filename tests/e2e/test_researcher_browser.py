"""A researcher's side in chromium: log in, watch the dashboard, exclude a participant, download the
export zip, and analyse that zip. Simulated participants who copy the model's rationale make the
expected numbers known in advance: every Cohen's kappa is 1."""

from __future__ import annotations

import zipfile

import pandas as pd
import pytest
from sqlalchemy import select

from analysis.report import write_report
from analysis.report_tables import Options
from study_app.admin.commands import create_admin
from study_app.extensions import db
from study_app.models import Study
from study_app.simulate import Catalog, Settings, run_bots

pytestmark = pytest.mark.browser
BOTS = 3


@pytest.fixture(scope="module")
def finished(live):
    """Three simulated participants who select exactly the model's rationale, and an admin account."""
    app, base, slug = live
    with app.app_context():
        catalog = Catalog.from_study(db.session.scalar(select(Study).where(Study.slug == slug)))
        create_admin("researcher", "correct horse battery")
    results = run_bots(base + "/", slug, catalog, Settings(policy="model"), BOTS, threads=1, progress=False)
    assert [r.error for r in results] == [None] * BOTS
    return results


def card(page, label: str) -> str:
    return page.locator(".card", has_text=label).locator("b").text_content()


def test_researcher_excludes_exports_and_analyses(live, finished, page, tmp_path, screenshots):
    app, base, slug = live
    page.goto(f"{base}/admin/")
    assert page.url.startswith(f"{base}/admin/login")  # the dashboard needs a login
    page.fill("input[name=username]", "researcher")
    page.fill("input[name=password]", "wrong password")
    page.click("input[type=submit]")
    assert page.url.startswith(f"{base}/admin/login")
    page.fill("input[name=username]", "researcher")
    page.fill("input[name=password]", "correct horse battery")
    page.click("input[type=submit]")
    assert card(page, "finished") == str(BOTS) and card(page, "started") == str(BOTS)
    page.screenshot(path=str(screenshots / "admin-dashboard.png"), full_page=True)

    page.click("text=Participants")
    rows = page.locator("tbody tr")
    assert rows.count() == BOTS
    excluded_id = rows.first.locator("a").text_content()
    rows.first.locator("a").click()
    page.fill("input[name=reason]", "pilot run by the team")
    page.click("input[value=Exclude]")
    page.goto(f"{base}/admin/participants")
    assert page.locator("td.excluded", has_text="pilot run by the team").count() == 1
    page.goto(f"{base}/admin/")
    # the funnel counts the excluded participant; agreement leaves their answers out
    assert card(page, "finished") == str(BOTS) and card(page, "excluded") == "1"
    with app.app_context():
        per_participant = db.session.scalar(select(Study).where(Study.slug == slug)).config["study"][
            "tasks_per_participant"
        ]
    assert page.locator("[data-stat='kappa-n']").inner_text() == str((BOTS - 1) * per_participant)
    assert page.locator("[data-stat='kappa-mean']").inner_text() == "1.000"  # the bots copy the model

    page.goto(f"{base}/admin/export")
    page.select_option("select[name=format]", "csv")
    with page.expect_download() as download:
        page.click("input[value='Download zip']")
    archive = tmp_path / download.value.suggested_filename
    download.value.save_as(archive)
    assert archive.name == f"{slug}-export-csv.zip"
    with zipfile.ZipFile(archive) as zf:
        people = pd.read_csv(zf.open("participants.csv"))
        assert "linkage.csv" not in zf.namelist() and excluded_id not in zf.read("participants.csv").decode()
    assert len(people) == BOTS and people["excluded"].tolist().count(1) == 1
    with page.expect_download() as download:  # recruiter ids only from their own button
        page.click("input[value='Download linkage.csv']")
    linkage = pd.read_csv(download.value.path())
    assert len(linkage) == BOTS and linkage["prolific_pid"].str.fullmatch("[0-9a-f]{24}").all()

    files = write_report(archive, tmp_path / "report", Options(n_boot=50))
    scores = pd.read_csv(files["alignment"])
    assert scores["participant_id"].nunique() == BOTS - 1  # the excluded participant is left out
    assert len(scores) == (BOTS - 1) * per_participant
    assert (scores["kappa"] == 1).all() and (scores["precision"] == 1).all() and (scores["recall"] == 1).all()
    assert "report.html" in files["report"].name
