"""A participant completes the study in chromium, once with the mouse and once with the keyboard alone;
the selections stored in the database must equal what was clicked or typed."""

from __future__ import annotations

import json

import pytest
from sqlalchemy import select

from study_app.extensions import db
from study_app.models import Participant

pytestmark = pytest.mark.browser


def state(page) -> dict:
    return json.loads(page.locator("#state").text_content())


def stored_selections(app, prolific_pid: str) -> dict[tuple[int, int], list[int]]:
    """Return {(position, phase): unit indices} of the participant's stored answers."""
    with app.app_context():
        p = db.session.scalar(select(Participant).where(Participant.prolific_pid == prolific_pid))
        return {(a.position, r.phase): [s.unit_index for s in r.selections] for a in p.assignments for r in a.responses}


def attention_expected(app, page) -> list[int] | None:
    """Return the units an attention check asks for, if the page shows one."""
    if page.locator(".question.attention").count() == 0:
        return None
    with app.app_context():
        from study_app.models import Study

        study = db.session.scalar(select(Study))
        text = page.locator(".question.attention").text_content().strip()
        return next(c["expected"] for c in study.config["attention_checks"] if c["instruction"] == text)


def unit(page, i):
    return page.locator(f'.u[data-i="{i}"]')


def mouse_select(page, order: list[int]) -> list[int]:
    """Click two units, drag across a run of three, click the middle one off again; return the result."""
    unit(page, order[0]).click()
    unit(page, order[2]).click()
    box_a, box_b = unit(page, order[4]).bounding_box(), unit(page, order[6]).bounding_box()
    page.mouse.move(box_a["x"] + 2, box_a["y"] + box_a["height"] / 2)
    page.mouse.down()
    page.mouse.move(box_b["x"] + 2, box_b["y"] + box_b["height"] / 2, steps=8)
    page.mouse.up()
    unit(page, order[5]).click()
    return sorted([order[0], order[2], order[4], order[6]])


def test_mouse_participant_completes_the_study(live, page, screenshots):
    app, base, slug = live
    page.goto(f"{base}/s/{slug}?PROLIFIC_PID=00000000000000000000a001&STUDY_ID=s1&SESSION_ID=x1")
    page.screenshot(path=screenshots / "consent.png", full_page=True)
    page.get_by_role("button", name="I agree").click()
    for fieldset in page.locator(".questionnaire .question").all():
        if fieldset.locator("input[type=radio]").count():
            fieldset.locator("input[type=radio]").nth(1).check()
        else:
            fieldset.locator("input").fill("7")
    page.get_by_role("button", name="Continue").click()
    expected: dict[tuple[int, int], list[int]] = {}
    s = state(page)
    expected[(0, 1)] = mouse_select(page, s["selectable"])
    assert page.locator("#count").text_content() == "4 tokens"
    page.screenshot(path=screenshots / "tutorial.png", full_page=True)
    with page.expect_navigation():
        page.click("#next")
    page.screenshot(path=screenshots / "tutorial_feedback.png", full_page=True)
    with page.expect_navigation():
        page.click("#start")
    while page.locator("#state").count():
        s = state(page)
        if s["mode"] == "review":
            page.check('input[name="agreement"][value="4"]')
            page.screenshot(path=screenshots / "review.png", full_page=True)
        else:
            wanted = attention_expected(app, page)
            if wanted is None:
                expected[(s["position"], 1)] = mouse_select(page, s["selectable"])
                page.check('input[name="confidence"][value="4"]')
                page.check('input[name="would_predict"][value="yes"]')
                if s["position"] == 1:
                    page.screenshot(path=screenshots / "annotation.png", full_page=True)
            else:
                for i in wanted:
                    unit(page, i).click()
                expected[(s["position"], 1)] = sorted(wanted)
        with page.expect_navigation():
            page.click("#next")
    assert page.locator("[data-testid=completion-code]").text_content().strip()
    page.screenshot(path=screenshots / "end.png", full_page=True)
    stored = stored_selections(app, "00000000000000000000a001")
    assert {k: v for k, v in stored.items() if k[1] == 1} == expected


def tab_to(page, selector: str, limit: int = 40) -> None:
    """Press Tab until the focused element matches ``selector``."""
    for _ in range(limit):
        if page.evaluate("s => document.activeElement && document.activeElement.matches(s)", selector):
            return
        page.keyboard.press("Tab")
    raise AssertionError(f"Tab never reached {selector}")


def keys(page, *presses: str) -> None:
    for key in presses:
        page.keyboard.press(key)


def keyboard_select(page, order: list[int]) -> list[int]:
    """Select with keys only: space, moves, shift-extension, undo, clear, undo; return the result."""
    keys(
        page,
        "Space",
        "ArrowRight",
        "ArrowRight",
        "Space",  # o0, o2
        "ArrowRight",
        "ArrowRight",
        "Shift+ArrowRight",
        "Shift+ArrowRight",  # o4..o6
        "z",  # undo the last extension: o4, o5
        "c",
        "z",  # clear, then undo the clear
        "ArrowLeft",
        "ArrowLeft",
        "ArrowRight",
        "Space",
    )  # o5 off again
    return sorted([order[0], order[2], order[4]])


def keyboard_goto(page, order: list[int], targets: list[int]) -> None:
    """Move the focus ring to each target in turn and select it; the first arrow lands on the first unit
    (the page opens with the focus in the code but no ring, so that nothing looks pre-selected)."""
    at = -1
    for i in sorted(targets):
        k = order.index(i)
        keys(page, *(["ArrowRight"] * (k - at)), "Space")
        at = k


def test_keyboard_participant_completes_the_study(live, page, screenshots):
    app, base, slug = live
    page.goto(f"{base}/s/{slug}?PROLIFIC_PID=00000000000000000000b001")
    tab_to(page, "button[value=agree]")
    with page.expect_navigation():
        page.keyboard.press("Enter")
    page.keyboard.press("Tab")
    for fieldset in page.locator(".questionnaire .question").all():
        if fieldset.locator("input[type=radio]").count():
            tab_to(page, f"#{fieldset.locator('input').first.get_attribute('id')}")
            keys(page, "Space")
        else:
            tab_to(page, f"#{fieldset.locator('input').first.get_attribute('id')}")
            page.keyboard.type("12")
    tab_to(page, "button.primary")
    with page.expect_navigation():
        page.keyboard.press("Enter")
    expected = {}
    s = state(page)
    expected[(0, 1)] = keyboard_select(page, s["selectable"])
    assert page.locator("#count").text_content() == "3 tokens"
    page.screenshot(path=screenshots / "keyboard_tutorial.png", full_page=True)
    with page.expect_navigation():
        page.keyboard.press("Enter")
    tab_to(page, "#start")
    with page.expect_navigation():
        page.keyboard.press("Enter")
    while page.locator("#state").count():
        s = state(page)
        if s["mode"] == "review":
            tab_to(page, 'input[name="agreement"]')
            keys(page, "ArrowDown", "ArrowDown")
        else:
            wanted = attention_expected(app, page)
            if wanted is None:
                expected[(s["position"], 1)] = keyboard_select(page, s["selectable"])
                tab_to(page, 'input[name="confidence"]')
                keys(page, "ArrowRight", "ArrowRight")
                tab_to(page, 'input[name="would_predict"]')
                keys(page, "Space")
            else:
                keyboard_goto(page, s["selectable"], wanted)
                expected[(s["position"], 1)] = sorted(wanted)
        with page.expect_navigation():
            page.keyboard.press("Enter")
    assert page.locator("[data-testid=completion-code]").text_content().strip()
    stored = stored_selections(app, "00000000000000000000b001")
    assert {k: v for k, v in stored.items() if k[1] == 1} == expected
