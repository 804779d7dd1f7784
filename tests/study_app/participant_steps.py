"""Steps a participant takes, shared by the participant tests (plain functions, not fixtures)."""

from __future__ import annotations

import json
import re

from sqlalchemy import func, select

from study_app.extensions import db
from study_app.models import Event, Participant, Response, Selection

ANSWERS = {
    "csrf_token": None,
    "q_role": "Student",
    "q_years_programming": "5",
    "q_python_expertise": "3 - Intermediate",
    "q_ml_background": "Not at all",
}


def token(html: str) -> str:
    return re.search(r'name="csrf-token" content="([^"]+)"', html).group(1)


def page_state(html: str) -> dict:
    return json.loads(re.search(r'<script type="application/json" id="state">(.*?)</script>', html, re.S).group(1))


def enrol_token(html: str) -> str:
    return re.search(r'name="enrol_token" value="([^"]+)"', html).group(1)


def consent(client, slug="fixture", query="", choice="agree") -> str:
    """Open the study link and agree (or decline); return the CSRF token."""
    page = client.get(f"/s/{slug}{query}", follow_redirects=True).text
    csrf = token(page)
    client.post(f"/s/{slug}/consent", data={"choice": choice, "csrf_token": csrf, "enrol_token": enrol_token(page)})
    return csrf


def to_first_task(client) -> str:
    """Consent, answer the questionnaire, do the tutorial; return the CSRF token."""
    csrf = consent(client)
    client.post("/questionnaire", data={**ANSWERS, "csrf_token": csrf})
    tutorial = page_state(client.get("/tutorial").text)
    post_answer(client, csrf, 0, selected=tutorial["selectable"][:1])
    client.post("/tutorial", data={"csrf_token": csrf})
    return csrf


def answer_body(selected, phase=1, **extra) -> dict:
    body = {
        "phase": phase,
        "selected": selected,
        "active_ms": 1200,
        "confidence": 3 if phase == 1 else None,
        "would_predict": "yes" if phase == 1 else None,
        "agreement": 4 if phase == 2 else None,
        "events": [{"kind": "toggle", "ts": 1700000000000, "unit": selected[0] if selected else None}],
    }
    return {**body, **extra}


def post_answer(client, csrf, position, selected, phase=1, **extra):
    return client.post(
        f"/api/task/{position}/answer", json=answer_body(selected, phase, **extra), headers={"X-CSRFToken": csrf}
    )


def stored_counts(app) -> tuple[int, int, int]:
    """Return how many responses, selections and events are stored."""
    with app.app_context():
        return tuple(db.session.scalar(select(func.count(m.id))) for m in (Response, Selection, Event))


def the_participant(app) -> Participant:
    with app.app_context():
        p = db.session.scalar(select(Participant).where(Participant.status != "declined"))
        db.session.expunge(p)
        return p
