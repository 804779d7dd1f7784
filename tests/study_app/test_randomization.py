"""Balanced randomization: simulated participants see every task about equally often."""

from __future__ import annotations

from collections import Counter
from itertools import combinations

from study_app.participant.randomization import (
    RESUME_ALPHABET,
    draw_tasks,
    participant_rng,
    short_code,
    with_attention_checks,
)

TASKS = [f"t{i:02d}" for i in range(24)]


def simulate(n_participants: int, n: int = 12, seed: int = 1) -> list[list[str]]:
    seen: Counter = Counter()
    draws = []
    for k in range(n_participants):
        draw = draw_tasks(TASKS, seen, n, participant_rng(seed, k))
        seen.update(draw)
        draws.append(draw)
    return draws


def test_every_task_seen_equally_often_at_every_moment():
    seen: Counter = Counter()
    for draw in simulate(200):
        assert len(set(draw)) == 12  # no task twice for one participant
        seen.update(draw)
        counts = [seen[t] for t in TASKS]
        assert max(counts) - min(counts) <= 1
    assert sum(seen.values()) == 200 * 12 and set(seen.values()) == {100}  # 200*12/24


def test_orders_and_sets_vary_between_participants():
    draws = simulate(200)
    first = Counter(d[0] for d in draws)
    assert len(first) == 24  # every task comes first for someone
    assert max(first.values()) <= 25  # expected 200/24 = 8.3; a fixed order would give 200
    pairs = Counter(p for d in draws for p in combinations(sorted(d), 2))
    # Fixed halves (t00-t11, t12-t23 alternating) would put 132 pairs at 100 and the rest at 0.
    assert len(pairs) == 24 * 23 // 2


def test_same_seed_and_number_reproduce_the_draw():
    assert simulate(5, seed=3) == simulate(5, seed=3)
    assert simulate(5, seed=3) != simulate(5, seed=4)


def test_attention_checks_go_after_their_main_task():
    checks = [{"id": "a1", "after": 2}, {"id": "a2", "after": 99}]
    assert with_attention_checks(["x", "y", "z"], checks) == [
        ("x", "main"),
        ("y", "main"),
        ("a1", "attention"),
        ("z", "main"),
        ("a2", "attention"),
    ]


def test_short_code_uses_unambiguous_letters():
    code = short_code()
    assert len(code) == 8 and set(code) <= set(RESUME_ALPHABET) and not set(code) & set("01OI")
