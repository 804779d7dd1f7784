"""Seeded balanced assignment of tasks to participants.

Each participant gets the ``n`` least-seen tasks so far (ties broken at random), in a random order,
so every task is seen about equally often (counts differ by at most one when participants arrive
one after another) while the sets and orders differ between participants. The random generator is
seeded by the study's seed and the participant's number, so an assignment can be reproduced.
"""

from __future__ import annotations

import random
import secrets
from collections.abc import Mapping, Sequence

RESUME_ALPHABET = "ABCDEFGHJKLMNPQRSTUVWXYZ23456789"  # no 0/O, 1/I: typed from a screen
RESUME_CODE_CHARS = 12  # 32 symbols, 5 bits each: 60 bits, hopeless to guess at the resume page's rate limit


def participant_rng(seed: int | str, number: int) -> random.Random:
    """Return the generator for participant ``number`` of a study seeded with ``seed``."""
    return random.Random(f"{seed}:{number}")


def draw_tasks(task_ids: Sequence[str], seen: Mapping[str, int], n: int, rng: random.Random) -> list[str]:
    """Return ``n`` of ``task_ids`` in presentation order: the least-seen first, ties at random."""
    if n > len(task_ids):
        raise ValueError(f"cannot draw {n} tasks from {len(task_ids)}")
    keyed = sorted(task_ids, key=lambda t: (seen.get(t, 0), rng.random()))
    chosen = keyed[:n]
    rng.shuffle(chosen)
    return chosen


def with_attention_checks(main: list[str], checks: Sequence[Mapping]) -> list[tuple[str, str]]:
    """Insert each attention check after the ``after``-th main task; return (task_id, kind) pairs."""
    out = []
    for i, task_id in enumerate(main, 1):
        out.append((task_id, "main"))
        out += [(c["id"], "attention") for c in checks if c["after"] == i]
    out += [(c["id"], "attention") for c in checks if c["after"] > len(main)]
    return out


def short_code(length: int = 8) -> str:
    """Return a random code a person can read aloud and type: resume and completion codes."""
    return "".join(secrets.choice(RESUME_ALPHABET) for _ in range(length))
