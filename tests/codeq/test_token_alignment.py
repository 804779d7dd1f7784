"""Token-unit alignment against a brute-force overlap oracle, and unit rationales worked by hand."""

from pathlib import Path

import pytest
from tokenizers import Tokenizer

from codeq.source.units import code_units
from contract.prepared_tasks import Token
from contract.token_alignment import align_tokens, starts_unit, top_units, unit_rationale, unit_scores

TOKENIZER = Path(__file__).parents[2] / "codeq" / "models" / "codeq-tiny" / "tokenizer.json"

CODES = [
    "def f(self):\n    return self.x  # done\n",
    'naïve = "héllo 😀"  # ü\n\tπ = naïve\n',
    "def broken(:\n  x = $ 1\n",
    "",
]


def brute_force(offsets, units):
    """For each token, the units sharing at least one character index with it."""
    return [[u.index for u in units if set(range(s, e)) & set(range(u.start, u.end))] for s, e in offsets]


@pytest.mark.parametrize("code", CODES)
def test_alignment_equals_brute_force_overlap(code):
    encoding = Tokenizer.from_file(str(TOKENIZER)).encode(code)
    units = code_units(code, "python")
    tokens = align_tokens(encoding.offsets, encoding.ids, units)
    assert [t.units for t in tokens] == brute_force(encoding.offsets, units)
    assert [t.id for t in tokens] == encoding.ids


def test_alignment_rules_by_hand():
    code = "def f(self):\n    return self.x\n"
    units = code_units(code, "python")
    texts = [u.text for u in units]
    # hand-made tokens: "Ġself"-like leading space, a straddling "):", a newline+indent token, a lone space
    offsets = [(0, 3), (3, 5), (5, 6), (6, 10), (10, 12), (12, 17), (17, 23), (23, 24), (24, 28)]
    tokens = align_tokens(offsets, list(range(9)), units)
    got = [[texts[k] for k in t.units] for t in tokens]
    assert got == [["def"], ["f"], ["("], ["self"], [")", ":"], ["\n", "    "], ["return"], [], ["self"]]
    assert [starts_unit(t, units) for t in tokens] == [True, True, True, True, True, True, True, False, True]


def test_token_starting_mid_unit_does_not_start_it():
    units = code_units("abcdef = 1\n", "python")
    tokens = align_tokens([(0, 3), (3, 6)], [1, 2], units)
    assert [starts_unit(t, units) for t in tokens] == [True, False]


def test_unit_rationale_orders_units_and_gains():
    tokens = [Token(index=i, start=0, end=0, id=0, units=u) for i, u in enumerate([[0], [1, 2], [], [2], [3]])]
    r = unit_rationale(
        positions=[3, 1, 2, 0], probabilities=[0.1, 0.4, 0.45, 0.9], top_prediction=7, converged=True, tokens=tokens
    )
    # worked by hand: token 3 brings unit 2 (gain 0.1 from nothing), token 1 brings unit 1 (unit 2 is
    # already in) with 0.4-0.1, token 2 brings nothing, token 0 brings unit 0 with 0.9-0.45
    assert r.units == [2, 1, 0]
    assert r.unit_gains == pytest.approx([0.1, 0.3, 0.45])
    assert r.positions == [3, 1, 2, 0] and r.converged and r.top_prediction == 7


def test_alignment_of_unordered_spans_equals_brute_force():
    code = CODES[0]
    units = code_units(code, "python")
    offsets = [(30, 38), (0, 3), (12, 20), (4, 5), (4, 9), (37, 40)]
    tokens = align_tokens(offsets, list(range(len(offsets))), units)
    assert [t.units for t in tokens] == brute_force(offsets, units)


def test_unit_scores_sum_split_by_hand():
    code = "def f(self):\n    return self.x\n"
    units = code_units(code, "python")
    texts = [u.text for u in units]
    close, colon = texts.index(")"), texts.index(":")
    start = code.index("):")
    # "):" straddles two units; " " (between "def" and "f") has none; "def" has one
    tokens = align_tokens([(0, 3), (3, 4), (start, start + 2)], [1, 2, 3], units)
    assert [len(t.units) for t in tokens] == [1, 0, 2]
    scores = unit_scores([0.5, 7.0, -0.4], tokens, len(units))
    expected = [0.0] * len(units)
    expected[texts.index("def")] = 0.5
    expected[close] = expected[colon] = -0.2
    assert scores == pytest.approx(expected)
    assert sum(scores) == pytest.approx(0.5 - 0.4)  # conserved, less the unit-less token's 7.0
    assert unit_scores([0.5, 7.0, -0.4], tokens, close + 1)[close] == pytest.approx(-0.2)
    assert len(unit_scores([0.5, 7.0, -0.4], tokens, close + 1)) == close + 1


def test_top_units_ties_go_nearer_the_target():
    assert top_units([0.1, 0.9, 0.5, 0.9], 2) == [3, 1]
    assert top_units([1.0, 0.0, 1.0, 0.0, 0.0], 3) == [2, 0, 4]
    assert top_units([0.3, 0.2, 0.1], 5, among=[0, 2]) == [0, 2]
    assert top_units([0.3], 0) == []
