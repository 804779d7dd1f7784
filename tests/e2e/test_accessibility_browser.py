"""axe-core on every participant page in each phase and on every admin page, on a desktop and on a
touch phone: no critical and no serious violation of WCAG 2.2 AA. The counts per page are written to
``screenshots/axe-<size>.json`` beside a screenshot of each page."""

from __future__ import annotations

import json
import re

import pytest
from axe_playwright_python.sync_playwright import Axe
from sqlalchemy import select

from study_app.admin.commands import create_admin
from study_app.extensions import db
from study_app.models import Study

pytestmark = pytest.mark.browser

SIZES = {
    "desktop": {"viewport": {"width": 1280, "height": 800}},
    "phone": {"viewport": {"width": 390, "height": 844}, "has_touch": True, "is_mobile": True},
}
WCAG_22_AA = ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa", "wcag22aa"]
PASSWORD = "correct horse battery"


class Audit:
    """Run axe on pages, keep the node counts per impact, and screenshot each page."""

    def __init__(self, size: str, folder):
        self.axe, self.size, self.folder = Axe(), size, folder
        self.counts: dict[str, dict[str, int]] = {}
        self.details: dict[str, list[str]] = {}

    def __call__(self, page, name: str) -> None:
        page.screenshot(path=self.folder / f"{self.size}-{name}.png", full_page=True)
        result = self.axe.run(page, options={"runOnly": {"type": "tag", "values": WCAG_22_AA}})
        counts = {"critical": 0, "serious": 0, "moderate": 0, "minor": 0}
        for v in result.response["violations"]:
            counts[v["impact"]] += len(v["nodes"])
            self.details.setdefault(name, []).append(f"{v['impact']} {v['id']} x{len(v['nodes'])}")
        self.counts[name] = counts

    def save(self) -> None:
        (self.folder / f"axe-{self.size}.json").write_text(
            json.dumps({"counts": self.counts, "violations": self.details}, indent=1)
        )

    def failures(self) -> dict[str, list[str]]:
        return {
            name: [d for d in self.details.get(name, []) if d.split()[0] in ("critical", "serious")]
            for name, c in self.counts.items()
            if c["critical"] or c["serious"]
        }


def state(page) -> dict:
    return json.loads(page.locator("#state").text_content())


def pick(page, i: int) -> None:
    page.locator(f'.u[data-i="{i}"]').click()


def answer_ratings(page) -> None:
    page.locator('input[name="confidence"][value="3"]').check()
    page.locator('input[name="would_predict"][value="no"]').check()


def next_page(page, button: str = "#next") -> None:
    with page.expect_navigation():
        page.click(button)


def attention_units(app, page) -> list[int]:
    """The units an attention check asks for, as the study defines them."""
    text = page.locator(".question.attention").text_content().strip()
    with app.app_context():
        study = db.session.scalar(select(Study))
        return next(c["expected"] for c in study.config["attention_checks"] if c["instruction"] == text)


def names(page) -> None:
    """Every unit has an accessible name: its text, "line end", "indent, N spaces"; the target is an
    option announced as the model's next token."""
    code = page.get_by_role("listbox", name=re.compile("^Code, \\d+ lines"))
    assert code.get_by_role("option", name="line end", exact=True).count() >= 1
    assert code.get_by_role("option", name=re.compile(r"^indent, \d+ spaces?$")).count() >= 1
    assert code.get_by_role("option", name="def", exact=True).count() >= 1
    assert code.get_by_role("option", name=re.compile(", the model's next token$")).count() == 1
    assert page.locator(".u.pick:not([aria-label])").count() == 0


def walk_participant(app, page, base: str, slug: str, pid: str, audit: Audit) -> None:
    """Take part from the study link to the end page, auditing the first page of each kind."""
    page.goto(f"{base}/s/{slug}?PROLIFIC_PID={pid}")
    audit(page, "consent")
    page.get_by_role("button", name="I agree").click()
    page.wait_for_load_state()
    audit(page, "questionnaire")
    page.locator('input[type="number"]').fill("8.5")
    page.get_by_role("button", name="Continue").click()
    page.wait_for_load_state()
    audit(page, "questionnaire-errors")
    for fieldset in page.locator(".questionnaire .question").all():
        radios = fieldset.locator("input[type=radio]")
        if radios.count():
            radios.first.check()
    page.locator('input[type="number"]').fill("8")
    page.get_by_role("button", name="Continue").click()
    page.wait_for_load_state()
    s = state(page)
    audit(page, "tutorial")
    names(page)
    for i in s["selectable"][-3:]:
        pick(page, i)
    audit(page, "tutorial-selected")
    next_page(page)
    audit(page, "tutorial-feedback")
    next_page(page, "#start")
    seen: set[str] = set()
    while page.locator("#state").count():
        s = state(page)
        if s["mode"] == "review":
            kind = "task-phase2"
            page.locator('input[name="agreement"][value="4"]').check()
        elif page.locator(".question.attention").count():
            kind = f"attention-{len([k for k in seen if k.startswith('attention')]) + 1}"
            for i in attention_units(app, page):
                pick(page, i)
        else:
            kind = "task"
            for i in s["selectable"][-2:]:
                pick(page, i)
            answer_ratings(page)
        if kind not in seen:
            audit(page, kind)
            seen.add(kind)
        next_page(page)
    audit(page, "end")
    page.goto(f"{base}/resume")
    audit(page, "resume")


def walk_admin(page, base: str, audit: Audit) -> None:
    page.goto(f"{base}/admin/login")
    audit(page, "admin-login")
    page.fill("input[name=username]", "researcher")
    page.fill("input[name=password]", PASSWORD)
    page.click("input[type=submit]")
    page.wait_for_load_state()
    audit(page, "admin-dashboard")
    page.goto(f"{base}/admin/participants")
    audit(page, "admin-participants")
    page.locator("tbody tr a").first.click()
    page.wait_for_load_state()
    audit(page, "admin-participant")
    page.goto(f"{base}/admin/export")
    audit(page, "admin-export")
    page.goto(f"{base}/admin/coverage")
    audit(page, "admin-coverage")
    page.goto(f"{base}/admin/preview/1")
    audit(page, "admin-preview")


@pytest.fixture(scope="module")
def admin(live):
    app, _, _ = live
    with app.app_context():
        create_admin("researcher", PASSWORD)


@pytest.mark.parametrize("size", SIZES)
def test_every_page_is_free_of_serious_axe_violations(live, browser, admin, size, screenshots):
    app, base, slug = live
    context = browser.new_context(**SIZES[size])
    page = context.new_page()
    audit = Audit(size, screenshots)
    try:
        walk_participant(
            app, page, base, slug, "0000000000000000000a" + ("d001" if size == "desktop" else "e001"), audit
        )
        walk_admin(page, base, audit)
    finally:
        audit.save()
        context.close()
    assert audit.failures() == {}
