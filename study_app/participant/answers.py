"""Check an answer posted by the browser before anything is stored; one-line reasons for rejects."""

from __future__ import annotations

from dataclasses import dataclass

WOULD_PREDICT = ("yes", "no", "unsure")
MAX_EVENTS = 1000  # a long task produces a few hundred; more means a broken or hostile client
SELECTION_EVENTS = ("toggle", "drag", "extend", "undo", "clear")  # events whose payload snapshots the selection


class AnswerError(ValueError):
    """The posted answer is malformed or impossible; nothing is stored."""


@dataclass
class Answer:
    phase: int
    selected: list[int]
    active_ms: int | None
    confidence: int | None
    would_predict: str | None
    agreement: int | None
    events: list[dict]


def rating(body: dict, key: str, low: int = 1, high: int = 5) -> int | None:
    value = body.get(key)
    if value is None:
        return None
    if type(value) is not int or not low <= value <= high:
        raise AnswerError(f"'{key}' must be an integer from {low} to {high}")
    return value


def parse_events(body) -> list[dict]:
    """Return the telemetry events, each with a short string kind and an integer client time."""
    if not isinstance(body, dict):
        raise AnswerError("the body must be a JSON object")
    items = body.get("events") or []
    if not isinstance(items, list) or len(items) > MAX_EVENTS:
        raise AnswerError(f"'events' must be a list of at most {MAX_EVENTS} events")
    for e in items:
        if not (isinstance(e, dict) and isinstance(e.get("kind"), str) and 0 < len(e["kind"]) <= 32
                and type(e.get("ts")) is int):
            raise AnswerError("each event needs a 'kind' (string) and a 'ts' (integer milliseconds)")
    return items


def parse_answer(body, selectable: range, annotation: dict, needs_selection: bool) -> Answer:
    """Validate a posted answer against the task's selectable units and the instrument's settings."""
    if not isinstance(body, dict):
        raise AnswerError("the body must be a JSON object")
    phase = body.get("phase", 1)
    if phase not in (1, 2) or type(phase) is not int:
        raise AnswerError("'phase' must be 1 or 2")
    selected = body.get("selected")
    if not isinstance(selected, list) or any(type(k) is not int for k in selected):
        raise AnswerError("'selected' must be a list of unit indices")
    if len(set(selected)) != len(selected):
        raise AnswerError("'selected' lists a unit twice")
    outside = [k for k in selected if k not in selectable]
    if outside:
        raise AnswerError(f"unit {outside[0]} is not selectable in this task")
    if phase == 1 and needs_selection and len(selected) < annotation["min_selected"]:
        raise AnswerError(f"select at least {annotation['min_selected']} unit(s)")
    active_ms = body.get("active_ms")
    if active_ms is not None and (type(active_ms) is not int or active_ms < 0):
        raise AnswerError("'active_ms' must be a non-negative integer")
    would = body.get("would_predict")
    if would is not None and would not in WOULD_PREDICT:
        raise AnswerError(f"'would_predict' must be one of {', '.join(WOULD_PREDICT)}")
    agreement = rating(body, "agreement")
    if (phase == 2) != (agreement is not None):
        raise AnswerError("'agreement' is required in phase 2 and only there")
    return Answer(phase, sorted(selected), active_ms, rating(body, "confidence"), would, agreement,
                  parse_events(body))
