"""Balanced randomization: simulated participants see every task about equally often."""

from __future__ import annotations

import random
from collections import Counter
from itertools import combinations

import pytest

from contract.study_definition import AttentionCheck
from study_app.participant.randomization import (
    RESUME_ALPHABET,
    Slot,
    draw_tasks,
    participant_rng,
    short_code,
    with_attention_checks,
)

TASKS = [f"t{i:02d}" for i in range(24)]
SLOTS = [Slot(t, t, 0) for t in TASKS]  # one task per snippet


def simulate(n_participants: int, n: int = 12, seed: int = 1, slots=SLOTS, per_snippet: int = 1) -> list[list[str]]:
    seen: Counter = Counter()
    draws = []
    for k in range(n_participants):
        draw = draw_tasks(slots, seen, n, participant_rng(seed, k), per_snippet=per_snippet)
        seen.update(draw)
        draws.append(draw)
    return draws


def snippet_slots(snippets: int, targets: int) -> list[Slot]:
    """``targets`` tasks on each of ``snippets`` snippets, targets at units 10, 20, ... (ids shuffled)."""
    slots = [Slot(f"s{s}-t{k}", f"s{s}", 10 * (k + 1)) for s in range(snippets) for k in range(targets)]
    random.Random(0).shuffle(slots)
    return slots


@pytest.mark.parametrize(
    ("snippets", "targets", "n", "per_snippet"),
    [(11, 2, 11, 1), (11, 2, 12, 2), (3, 2, 2, 1), (5, 3, 4, 1), (6, 4, 5, 2), (2, 5, 2, 1)],
)
def test_snippet_rule_keeps_balance_over_500_arrivals(snippets, targets, n, per_snippet):
    """Counts per task differ by at most one after every arrival, and no task reveals a later target."""
    slots = snippet_slots(snippets, targets)
    by_id = {s.task_id: s for s in slots}
    seen: Counter = Counter()
    for k in range(500):
        draw = draw_tasks(slots, seen, n, participant_rng(3, k), per_snippet=per_snippet)
        assert len(draw) == n and len(set(draw)) == n
        per = Counter(by_id[t].snippet_id for t in draw)
        assert max(per.values()) <= per_snippet
        for i, earlier in enumerate(draw):  # a snippet's later task never has an earlier target
            for later in draw[i + 1 :]:
                if by_id[later].snippet_id == by_id[earlier].snippet_id:
                    assert by_id[later].target > by_id[earlier].target
        seen.update(draw)
        counts = [seen[s.task_id] for s in slots]
        assert max(counts) - min(counts) <= 1, (k, sorted(counts))
    assert sum(seen.values()) == 500 * n


def test_too_few_snippets_give_fewer_tasks():
    slots = snippet_slots(3, 4)
    assert len(draw_tasks(slots, Counter(), 5, participant_rng(0, 0))) == 3
    assert len(draw_tasks(slots, Counter(), 5, participant_rng(0, 0), per_snippet=2)) == 5


def test_cap_draws_only_tasks_with_room():
    seen = Counter({t: 3 for t in TASKS[:20]} | {t: 2 for t in TASKS[20:]})
    draw = draw_tasks(SLOTS, seen, 12, participant_rng(0, 0), cap=3)
    assert sorted(draw) == TASKS[20:]
    assert draw_tasks(SLOTS, Counter(dict.fromkeys(TASKS, 3)), 12, participant_rng(0, 0), cap=3) == []


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


def check(check_id: str, after: int) -> AttentionCheck:
    return AttentionCheck(id=check_id, instruction="Select x.", select_text="x", after=after)


def test_attention_checks_go_after_their_main_task():
    checks = [check("a1", after=2), check("a2", after=99)]
    assert with_attention_checks(["x", "y", "z"], checks) == [
        ("x", "main"),
        ("y", "main"),
        ("a1", "attention"),
        ("z", "main"),
        ("a2", "attention"),
    ]


def test_an_attention_check_comes_after_every_task_of_its_snippet():
    """A check shows its base task's code up to the target: it must not precede a task of that snippet."""
    checks = [check("a1", after=1), check("a2", after=1)]
    snippet_of = {"x": "s1", "y": "s2", "z": "s3", "a1": "s3", "a2": "s9"}
    assert with_attention_checks(["x", "y", "z"], checks, snippet_of) == [
        ("x", "main"),
        ("a2", "attention"),  # its snippet is none of the participant's: it keeps its place
        ("y", "main"),
        ("z", "main"),
        ("a1", "attention"),  # after z, the last task of its snippet s3
    ]


def test_short_code_uses_unambiguous_letters():
    code = short_code()
    assert len(code) == 8 and set(code) <= set(RESUME_ALPHABET) and not set(code) & set("01OI")
