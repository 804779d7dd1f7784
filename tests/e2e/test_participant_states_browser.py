"""What a participant sees is what is stored: in chromium, the computed style of a selected and an
unselected unit differs in every region of the code, phones get hit areas and the target in view, a
reload keeps every click, a lost connection is retried and a stale tab is offered a way on."""

from __future__ import annotations

import json
import re

import pytest
from sqlalchemy import select

from study_app.extensions import db
from study_app.models import Participant, Study

pytestmark = pytest.mark.browser
PHONE = {"viewport": {"width": 390, "height": 844}, "has_touch": True, "is_mobile": True}
STYLE = """e => { const c = getComputedStyle(e);
  return {bg: c.backgroundColor, shadow: c.boxShadow, outline: c.outlineStyle}; }"""


def state(page) -> dict:
    return json.loads(page.locator("#state").text_content())


def unit(page, i: int):
    return page.locator(f'.u[data-i="{i}"]')


def luminance(css: str) -> float:
    """WCAG relative luminance of a computed colour; a transparent unit shows the white code pane."""
    r, g, b, *alpha = (float(x) for x in re.findall(r"[\d.]+", css))
    if alpha and alpha[0] == 0:
        r = g = b = 255

    def channel(c: float) -> float:
        c /= 255
        return c / 12.92 if c <= 0.03928 else ((c + 0.055) / 1.055) ** 2.4

    return 0.2126 * channel(r) + 0.7152 * channel(g) + 0.0722 * channel(b)


def contrast(a: str, b: str) -> float:
    hi, lo = sorted((luminance(a), luminance(b)), reverse=True)
    return (hi + 0.05) / (lo + 0.05)


def regions(page) -> dict[str, list[int]]:
    """The selectable units of each region of the page: person-written, model-written, target line."""
    return page.evaluate(
        """() => {
      const target = document.querySelector(".u.target").getBoundingClientRect();
      const picks = [...document.querySelectorAll(".u.pick")];
      const ids = (f) => picks.filter(f).map((e) => Number(e.dataset.i));
      return {
        person: ids((e) => !e.classList.contains("gen")),
        model: ids((e) => e.classList.contains("gen")),
        "target line": ids((e) => Math.abs(e.getBoundingClientRect().top - target.top) < 2),
      };
    }"""
    )


def assert_distinct(page, on: int, off: int, region: str, seen: dict) -> None:
    """A selected and an unselected unit of one region look different: another fill with 3:1 contrast
    against the unselected one, and a bar (a shape, not colour alone)."""
    page.mouse.move(0, 0)  # no hover outline
    a, b = unit(page, on).evaluate(STYLE), unit(page, off).evaluate(STYLE)
    assert a != b, region
    assert contrast(a["bg"], b["bg"]) >= 3, (region, a, b)
    assert "inset" in a["shadow"] and a["shadow"] != b["shadow"], (region, a, b)
    seen[region] = (a, b)


def answer_phase_one(page, clicks: list[int]) -> None:
    for i in clicks:
        unit(page, i).click()
    if page.locator('input[name="confidence"]').count():
        page.locator('input[name="confidence"][value="2"]').check()
        page.locator('input[name="would_predict"][value="yes"]').check()
    with page.expect_navigation():
        page.click("#next")


def expected_units(app, page) -> list[int]:
    text = page.locator(".question.attention").text_content().strip()
    with app.app_context():
        study = db.session.scalar(select(Study))
        return next(c["expected"] for c in study.config["attention_checks"] if c["instruction"] == text)


def enter(page, base: str, slug: str, pid: str) -> None:
    """Consent and answer the questionnaire: the page is then the tutorial."""
    page.goto(f"{base}/s/{slug}?PROLIFIC_PID={pid}")
    page.get_by_role("button", name="I agree").click()
    page.wait_for_load_state()
    for radios in page.locator(".questionnaire .question").all():
        if radios.locator("input[type=radio]").count():
            radios.locator("input[type=radio]").first.check()
    page.locator('input[type="number"]').fill("4")
    page.get_by_role("button", name="Continue").click()
    page.wait_for_load_state()


def test_selected_and_unselected_differ_in_every_region(live, page, screenshots):
    app, base, slug = live
    enter(page, base, slug, "00000000000000000000c001")
    seen: dict[str, tuple] = {}
    # nothing looks selected or focused before the participant acts
    first = state(page)["selectable"][0]
    assert unit(page, first).evaluate(STYLE)["outline"] == "none"
    page.keyboard.press("ArrowRight")
    assert unit(page, state(page)["selectable"][0]).evaluate(STYLE)["outline"] == "dashed"
    page.screenshot(path=screenshots / "state-keyboard-focus.png")

    s = state(page)
    tutorial = s["selectable"][:2]
    unit(page, tutorial[0]).click()
    assert_distinct(page, tutorial[0], tutorial[1], "tutorial", seen)
    answer_phase_one(page, tutorial[1:2])
    own = set(state(page)["selected"])
    model = set(state(page)["model"])
    off = next(i for i in state(page)["selectable"] if i not in own and i not in model)
    assert_distinct(page, min(own), off, "tutorial feedback", seen)
    with page.expect_navigation():
        page.click("#start")
    while not {"person", "model", "target line", "phase 2", "attention check"} <= set(seen):
        s = state(page)
        if s["mode"] == "review":
            own, model = set(s["selected"]), set(s["model"])
            off = [i for i in s["selectable"] if i not in own]
            chosen = next((i for i in own if i not in model), min(own))
            assert_distinct(page, chosen, off[0], "phase 2", seen)
            if model - own:
                # the model's choice is a third look: neither the own choice nor unselected
                m = unit(page, min(model - own)).evaluate(STYLE)
                assert m not in (unit(page, chosen).evaluate(STYLE), unit(page, off[0]).evaluate(STYLE))
            page.locator('input[name="agreement"][value="3"]').check()
            with page.expect_navigation():
                page.click("#next")
        elif page.locator(".question.attention").count():
            wanted = expected_units(app, page)
            for i in wanted:
                unit(page, i).click()
            off = next(i for i in s["selectable"] if i not in wanted)
            assert_distinct(page, wanted[0], off, "attention check", seen)
            with page.expect_navigation():
                page.click("#next")
        else:
            clicked: set[int] = set()
            for region, units in regions(page).items():
                free = [i for i in units if i not in clicked]
                if len(free) >= 2:
                    unit(page, free[-1]).click()
                    clicked.add(free[-1])
                    assert_distinct(page, free[-1], free[-2], region, seen)
            answer_phase_one(page, [])  # the clicks above are the answer
    assert set(seen) == {
        "tutorial",
        "tutorial feedback",
        "person",
        "model",
        "target line",
        "phase 2",
        "attention check",
    }


def participant_of(app, pid: str) -> Participant:
    with app.app_context():
        return db.session.scalar(select(Participant).where(Participant.prolific_pid == pid))


def test_phone_hit_areas_target_in_view_and_range_by_touch(live, browser, screenshots):
    app, base, slug = live
    context = browser.new_context(**PHONE)
    page = context.new_page()
    try:
        enter(page, base, slug, "00000000000000000000c002")
        page.locator(".u.pick").first.tap()
        with page.expect_navigation():
            page.click("#next")
        with page.expect_navigation():
            page.click("#start")
        sizes = page.locator(".u.pick").evaluate_all(
            "es => es.map(e => { const r = e.getBoundingClientRect(); return [r.width, r.height]; })"
        )
        assert min(w for w, _ in sizes) >= 24 and min(h for _, h in sizes) >= 24
        box = page.evaluate(
            "() => { const r = document.querySelector('.u.target').getBoundingClientRect(); "
            "return [r.left, r.top, r.right, r.bottom, innerWidth, innerHeight]; }"
        )
        left, top, right, bottom, width, height = box
        assert left >= 0 and right <= width and top >= 0 and bottom <= height, box
        assert top > 120  # lines above the target are in view too
        header = page.locator(".brand").bounding_box()
        assert header["height"] < 80  # the title is not squeezed into a column
        s = state(page)
        visible = [
            i
            for i in s["selectable"]
            if unit(page, i).evaluate(
                "e => { const r = e.getBoundingClientRect(); return r.top > 0 && r.left > 0 "
                "&& r.right < innerWidth && r.bottom < innerHeight; }"
            )
        ]
        first, last = visible[-5], visible[-1]
        page.screenshot(path=screenshots / "state-phone-opens-at-target.png")
        page.tap("#range")
        unit(page, first).tap()
        page.screenshot(path=screenshots / "state-phone-range-start.png")
        unit(page, last).tap()
        expected = [i for i in s["selectable"] if first <= i <= last]
        assert page.locator("#count").text_content() == f"{len(expected)} tokens"
        page.screenshot(path=screenshots / "state-phone-range-done.png")
        assert sorted(int(x) for x in page.locator(".u.on").evaluate_all("es => es.map(e => e.dataset.i)")) == expected
    finally:
        context.close()


def test_reload_keeps_the_last_click_and_a_lost_connection_is_retried(live, page, screenshots):
    app, base, slug = live
    enter(page, base, slug, "00000000000000000000c003")
    s = state(page)
    unit(page, s["selectable"][0]).click()
    unit(page, s["selectable"][3]).click()
    page.reload()  # at once, before the telemetry batch
    on = sorted(int(x) for x in page.locator(".u.on").evaluate_all("es => es.map(e => e.dataset.i)"))
    assert on == [s["selectable"][0], s["selectable"][3]]

    failures = {"left": 2}

    def flaky(route):
        if failures["left"]:
            failures["left"] -= 1
            route.abort()
        else:
            route.continue_()

    page.route("**/api/task/0/answer", flaky)
    page.click("#next")
    page.wait_for_selector("text=trying again")
    page.screenshot(path=screenshots / "state-retrying.png")
    page.wait_for_url("**/tutorial", timeout=20000)
    page.wait_for_selector("[data-testid=overlap]")
    assert failures["left"] == 0
    p = participant_of(app, "00000000000000000000c003")
    with app.app_context():
        p = db.session.merge(p)
        stored = [[x.unit_index for x in r.selections] for r in p.assignments[0].responses]
    assert stored == [[s["selectable"][0], s["selectable"][3]]]


def test_a_stale_tab_is_offered_to_continue(live, browser, screenshots):
    app, base, slug = live
    context = browser.new_context(viewport={"width": 1280, "height": 800})
    first = context.new_page()
    try:
        enter(first, base, slug, "00000000000000000000c004")
        second = context.new_page()
        second.goto(first.url)
        s = state(first)
        unit(first, s["selectable"][0]).click()
        with first.expect_navigation():
            first.click("#next")
        unit(second, s["selectable"][1]).click()
        second.click("#next")  # a different answer to the step the first tab answered
        second.wait_for_selector("#stale:visible")
        second.screenshot(path=screenshots / "state-stale-tab.png")
        assert "answered in another tab" in second.locator("#stale").text_content()
        with second.expect_navigation():
            second.click("#continue")
        assert second.locator("[data-testid=overlap]").count() == 1  # where the first tab went on to
    finally:
        context.close()
