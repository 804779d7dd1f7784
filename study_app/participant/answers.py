"""Check an answer posted by the browser before anything is stored; one-line reasons for rejects.

Telemetry is bounded: at most ``MAX_EVENTS`` events per request and ``MAX_TASK_EVENTS`` per
participant and task in all; only the event kinds and payload keys annotate.js sends are accepted,
and every number lies in a stated range.
"""

from __future__ import annotations

import json
from dataclasses import dataclass

from contract.errors import UserError
from contract.study_definition import Annotation

WOULD_PREDICT = ("yes", "no", "unsure")
MAX_EVENTS = 1000  # a long task produces a few hundred; more means a broken or hostile client
MAX_TASK_EVENTS = 2000  # per participant and task, all requests together
SELECTION_EVENTS = ("toggle", "drag", "extend", "undo", "clear")  # events whose payload snapshots the selection
EVENT_KINDS = (*SELECTION_EVENTS, "focus", "blur")
EVENT_KEYS = {"kind", "ts", "phase", "selected", "unit", "on"}  # what annotate.js sends; nothing else is stored
MAX_TS = 10**13  # client clock in ms since the epoch: beyond the year 2286 is not a clock
MAX_UNIT = 100_000  # unit indices: far more than any task shown on one screen
MAX_ACTIVE_MS = 24 * 3600 * 1000  # a task page open for a day
MAX_DEPTH = 4  # body -> events -> event -> selected: deeper JSON is not an answer


class AnswerError(UserError):
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


def read_json(data: bytes) -> object:
    """Parse a request body; malformed, too deeply nested or non-JSON input raises AnswerError."""
    try:
        body = json.loads(data)
    except (ValueError, RecursionError):
        raise AnswerError("the body must be a JSON object") from None
    if depth(body) > MAX_DEPTH:
        raise AnswerError(f"the body is nested more than {MAX_DEPTH} levels deep")
    return body


def depth(value: object) -> int:
    """Return the nesting depth of a parsed JSON value (a scalar is 0), without recursion."""
    deepest, stack = 0, [(value, 0)]
    while stack:
        item, level = stack.pop()
        children = item.values() if isinstance(item, dict) else item if isinstance(item, list) else None
        if children is None:
            continue
        deepest = max(deepest, level + 1)
        if deepest > MAX_DEPTH:
            return deepest
        stack.extend((child, level + 1) for child in children)
    return deepest


def is_int(value: object, low: int, high: int) -> bool:
    return type(value) is int and low <= value <= high


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
        if not (
            isinstance(e, dict)
            and isinstance(e.get("kind"), str)
            and 0 < len(e["kind"]) <= 32
            and type(e.get("ts")) is int
        ):
            raise AnswerError("each event needs a 'kind' (string) and a 'ts' (integer milliseconds)")
        check_event(e)
    return items


def check_event(e: dict) -> None:
    """Refuse an event whose kind, keys or values annotate.js would never send."""
    if e["kind"] not in EVENT_KINDS:
        raise AnswerError(f"unknown event kind {e['kind'][:32]!r}: one of {', '.join(EVENT_KINDS)}")
    unknown = sorted(set(e) - EVENT_KEYS)
    if unknown:
        raise AnswerError(f"unknown event key {unknown[0][:32]!r}: events may carry {', '.join(sorted(EVENT_KEYS))}")
    if not is_int(e["ts"], 0, MAX_TS):
        raise AnswerError(f"event 'ts' must be milliseconds since the epoch (0 to {MAX_TS})")
    if "phase" in e and e["phase"] not in (1, 2):
        raise AnswerError("event 'phase' must be 1 or 2")
    if e.get("unit") is not None and not is_int(e["unit"], 0, MAX_UNIT):
        raise AnswerError(f"event 'unit' must be a unit index (0 to {MAX_UNIT})")
    if "on" in e and not isinstance(e["on"], bool):
        raise AnswerError("event 'on' must be true or false")
    selected = e.get("selected", [])
    if not (isinstance(selected, list) and len(selected) <= MAX_UNIT and all(is_int(k, 0, MAX_UNIT) for k in selected)):
        raise AnswerError(f"event 'selected' must be a list of unit indices (0 to {MAX_UNIT})")


def parse_answer(
    body, selectable: range, annotation: Annotation, needs_selection: bool, needs_ratings: bool = False
) -> Answer:
    """Validate a posted answer against the task's selectable units and the instrument's settings.

    ``needs_ratings``: a main task's phase 1, where the study's enabled ratings (confidence,
    would-predict) are required as the page requires them.
    """
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
    if phase == 1 and needs_selection and len(selected) < annotation.min_selected:
        raise AnswerError(f"select at least {annotation.min_selected} unit(s)")
    active_ms = body.get("active_ms")
    if active_ms is not None and not is_int(active_ms, 0, MAX_ACTIVE_MS):
        raise AnswerError(f"'active_ms' must be a non-negative integer (at most {MAX_ACTIVE_MS})")
    would = body.get("would_predict")
    if would is not None and would not in WOULD_PREDICT:
        raise AnswerError(f"'would_predict' must be one of {', '.join(WOULD_PREDICT)}")
    agreement = rating(body, "agreement")
    if (phase == 2) != (agreement is not None):
        raise AnswerError("'agreement' is required in phase 2 and only there")
    confidence = rating(body, "confidence")
    if needs_ratings and phase == 1:
        if annotation.confidence and confidence is None:
            raise AnswerError("'confidence' is required: rate your confidence from 1 to 5")
        if annotation.would_predict and would is None:
            raise AnswerError(f"'would_predict' is required: one of {', '.join(WOULD_PREDICT)}")
    return Answer(phase, sorted(selected), active_ms, confidence, would, agreement, parse_events(body))
