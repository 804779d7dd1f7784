"""Seeded balanced assignment of tasks to participants.

Each participant gets the ``n`` least-seen tasks so far (ties broken at random), in a random order,
so every task is seen about equally often (counts differ by at most one when participants arrive
one after another) while the sets and orders differ between participants. The random generator is
seeded by the study's seed and the participant's number, so an assignment can be reproduced.

A task shows its snippet up to its target, so a participant gets at most ``per_snippet`` tasks of
one snippet, and those in the order of their targets: no task shows the token a later one asks
about. Among equally seen tasks the draw prefers snippets with more of them, so the least-seen
tasks never pile up in one snippet that a participant could take only one of. With a ``cap`` (the
study's answers per task), only tasks seen fewer than ``cap`` times are drawn: the last
participants of a full study get fewer tasks, none gets a task that has its answers.
"""

from __future__ import annotations

import random
import secrets
from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from contract.study_definition import AttentionCheck

RESUME_ALPHABET = "ABCDEFGHJKLMNPQRSTUVWXYZ23456789"  # no 0/O, 1/I: typed from a screen
RESUME_CODE_CHARS = 12  # 32 symbols, 5 bits each: 60 bits, hopeless to guess at the resume page's rate limit


@dataclass(frozen=True)
class Slot:
    """What the draw knows of a main task: its id, its snippet and where its target lies in it."""

    task_id: str
    snippet_id: str
    target: int  # the target's unit index: tasks of one snippet share its units


def participant_rng(seed: int | str, number: int) -> random.Random:
    """Return the generator for participant ``number`` of a study seeded with ``seed``."""
    return random.Random(f"{seed}:{number}")


def draw_tasks(
    slots: Sequence[Slot],
    seen: Mapping[str, int],
    n: int,
    rng: random.Random,
    per_snippet: int = 1,
    cap: int | None = None,
) -> list[str]:
    """Return up to ``n`` task ids in presentation order: the least-seen first, ties at random.

    Fewer than ``n`` when the snippets or the ``cap`` leave fewer; none when every task has ``cap``.
    """
    tie = {s.task_id: rng.random() for s in slots}
    pool = [s for s in slots if cap is None or seen.get(s.task_id, 0) < cap]
    chosen: list[Slot] = []
    taken: Counter = Counter()
    while len(chosen) < n:
        allowed = [s for s in pool if taken[s.snippet_id] < per_snippet]
        if not allowed:
            break
        level = Counter((s.snippet_id, seen.get(s.task_id, 0)) for s in allowed)
        best = min(
            allowed,
            key=lambda s: (seen.get(s.task_id, 0), -level[s.snippet_id, seen.get(s.task_id, 0)], tie[s.task_id]),
        )
        chosen.append(best)
        pool.remove(best)
        taken[best.snippet_id] += 1
    rng.shuffle(chosen)
    return in_target_order(chosen)


def in_target_order(slots: list[Slot]) -> list[str]:
    """Keep the places each snippet holds, but fill them with its tasks in target order."""
    queues: dict[str, list[Slot]] = {}
    for s in sorted(slots, key=lambda s: s.target):
        queues.setdefault(s.snippet_id, []).append(s)
    return [queues[s.snippet_id].pop(0).task_id for s in slots]


def with_attention_checks(
    main: list[str], checks: Sequence[AttentionCheck], snippet_of: Mapping[str, str] | None = None
) -> list[tuple[str, str]]:
    """Insert each attention check after the ``after``-th main task; return (task_id, kind) pairs.

    A check shows its base task's code up to that task's target, so it goes after the last main
    task of the same snippet when that comes later (``snippet_of`` maps task ids, checks' included,
    to their snippets): no check shows a token a later task asks about.
    """
    snippet_of = snippet_of or {}

    def place(check: AttentionCheck) -> int:
        snippet = snippet_of.get(check.id)
        own = [i for i, task_id in enumerate(main, 1) if snippet is not None and snippet_of.get(task_id) == snippet]
        return max([check.after, *own])

    places = {c.id: place(c) for c in checks}
    out = []
    for i, task_id in enumerate(main, 1):
        out.append((task_id, "main"))
        out += [(c.id, "attention") for c in checks if places[c.id] == i]
    out += [(c.id, "attention") for c in checks if places[c.id] > len(main)]
    return out


def short_code(length: int = 8) -> str:
    """Return a random code a person can read aloud and type: resume and completion codes."""
    return "".join(secrets.choice(RESUME_ALPHABET) for _ in range(length))
