"""Align model BPE tokens with code units, and turn a token rationale into a unit rationale.

The rule (docs/units-and-categories.md): a token maps to every unit its character span overlaps
by at least one character. Because spaces between tokens on a line are not units, a leading-space
token such as ``"Ġself"`` maps to the unit of its non-space part only, and a pure-space token
between two tokens on a line maps to no unit. Whitespace tokens map to the newline and indentation
units they overlap (``"\\n    "`` maps to a newline unit and an indentation unit). A token that
straddles two units (``"):"``) maps to both. Light: no torch.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from contract.prepared_tasks import ModelRationale, Token, Unit


def align_tokens(offsets: list[tuple[int, int]], ids: list[int], units: list[Unit]) -> list[Token]:
    """Return one :class:`Token` per (start, end) character span, with the units it overlaps.

    ``units`` must be sorted and non-overlapping (as :func:`codeq.source.units.code_units` returns them).
    Runs in O(tokens + units) for tokens in text order.
    """
    tokens = []
    first = 0  # first unit that may still overlap the current or a later token
    for index, ((start, end), token_id) in enumerate(zip(offsets, ids)):
        if first > 0 and units[first - 1].end > start:  # tokens out of order: search again
            first = 0
        while first < len(units) and units[first].end <= start:
            first += 1
        overlapping = []
        k = first
        while k < len(units) and units[k].start < end:
            if units[k].end > start:
                overlapping.append(k)
            k += 1
        tokens.append(Token(index=index, start=start, end=end, id=int(token_id), units=overlapping))
    return tokens


def starts_unit(token: Token, units: list[Unit]) -> bool:
    """Whether ``token`` begins its first unit (does not start mid-unit), e.g. ``"Ġself"`` or ``"("``."""
    return bool(token.units) and units[token.units[0]].start >= token.start


def unit_rationale(
    positions: list[int], probabilities: list[float], top_prediction: int, converged: bool, tokens: list[Token]
) -> ModelRationale:
    """Map a token rationale onto units, keeping the order in which units entered.

    A unit enters with the first rationale token that overlaps it; its gain is that step's rise in
    p(target | S): ``probabilities[k] - probabilities[k - 1]``, and ``probabilities[0]`` for the
    first step (the probability with S = {t-1}, measured from nothing). Units an earlier token
    already brought in get nothing from later tokens; a token with no unit (spaces) adds no unit.
    A unit's rank is its place in ``units`` (1 = entered first).
    """
    units, gains = [], []
    previous = 0.0
    for position, probability in zip(positions, probabilities):
        for unit in tokens[position].units:
            if unit not in units:
                units.append(unit)
                gains.append(probability - previous)
        previous = probability
    return ModelRationale(
        positions=list(positions),
        probabilities=list(probabilities),
        top_prediction=int(top_prediction),
        converged=bool(converged),
        units=units,
        unit_gains=gains,
    )


def unit_scores(token_scores: list[float], tokens: list[Token], n_units: int) -> list[float]:
    """Turn per-token scores into per-unit scores for units ``0..n_units-1``.

    Aggregation: sum. A token's score is split equally among the units it overlaps (a straddling
    ``"):"`` gives half to ``)`` and half to ``:``), so the unit scores add up to the scores of the
    tokens that have a unit; tokens with no unit (spaces between tokens on a line) and units past
    ``n_units`` are dropped. ``token_scores[j]`` belongs to ``tokens[j]``; extra tokens are ignored.
    """
    out = [0.0] * n_units
    for score, token in zip(token_scores, tokens):
        for unit in token.units:
            if unit < n_units:
                out[unit] += score / len(token.units)
    return out


def top_units(scores: Sequence[float] | Mapping[int, float], k: int, among=None) -> list[int]:
    """Return the ``k`` highest-scoring unit indices, best first (``scores`` by unit index).

    Ties go to the unit nearer the target (the higher index), so a ranking is deterministic and a
    binary 1/0 score ranks its set first. ``among`` restricts the candidates (default: all).
    """
    candidates = range(len(scores)) if among is None else among
    return sorted(candidates, key=lambda u: (-scores[u], -u))[: max(k, 0)]
