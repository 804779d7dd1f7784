"""Greedy rationalization (Vafa et al., 2021), batched: many targets of many sequences advance together.

For target position t, S starts as {t-1}; while the model's argmax given x_S is not x_t, the
position j < t that maximises log p(x_t | x_{S+j}) joins S (ties: lowest j). Each subset is fed
compacted, in original order, with its original position ids and an explicit attention mask.

One step of the search scores, for every active target, all its candidates j. Those candidate rows
are stacked into left-padded batches (padding is masked out and gets position id 0), chunked by a
row and token budget, and only the last position's logits are projected onto the vocabulary. The
readable one-target-at-a-time version of the same algorithm is :mod:`codeq.rationales.reference`.

Exactness in reduced precision: on a bf16 or fp16 model, a rounding error of the order of a
decision's margin flips it. Each step's choice whose runner-up is close to the best candidate, and
each stopping test whose chosen row has its two highest logits close, is decided again by scoring
those few rows with the fp32 weights of the same checkpoint ("close": under ``rescore_bound`` times
the step's largest |logit|). With the margin above twice the largest error of a log-probability,
every decision is the fp32 computation's (docs/engine.md, "Precision", has the measured errors).
"""

from __future__ import annotations

import inspect
import math
from dataclasses import dataclass, field
from typing import NamedTuple

import torch
from tqdm.auto import tqdm

from codeq.model.loading import LoadedModel, check_length
from contract.errors import UserError


@dataclass
class Rationale:
    """The greedy rationale of one target token."""

    target_position: int
    target_id: int
    positions: list[int]  # context positions in the order added; the first is target_position - 1
    probabilities: list[float]  # p(target | S) after each addition (log-softmax in fp32)
    top_prediction: int  # the model's argmax token under the final S
    converged: bool  # whether top_prediction == target_id was reached
    sequence_index: int = 0  # which input sequence the target belongs to
    top_predictions: list[int] = field(default_factory=list)  # argmax token after each addition
    rescored: int = 0  # decisions (choices and stopping tests) decided again in fp32


class _Search:
    """The state of one target's search."""

    def __init__(self, sequence_index: int, ids: torch.Tensor, t: int):
        self.sequence_index, self.ids, self.t = sequence_index, ids, t
        self.target_id = int(ids[t])
        self.chosen = torch.tensor([t - 1], device=ids.device)  # S, sorted
        self.order, self.probabilities, self.tops = [], [], []
        self.rescored = 0

    def rows(self) -> tuple[torch.Tensor, torch.Tensor]:
        """Return (positions (m, k+1), candidate positions (m,)) for the next step."""
        if not self.order:  # first step: score S = {t-1} itself
            return self.chosen[None], self.chosen
        free = torch.ones(self.t, dtype=torch.bool, device=self.ids.device)
        free[self.chosen] = False
        cands = free.nonzero().squeeze(1)  # (m,) ascending, so argmax ties go to the lowest position
        k = len(self.chosen)
        slot = torch.searchsorted(self.chosen, cands)[:, None]  # (m, 1) where j goes in sorted S
        col = torch.arange(k + 1, device=cands.device)[None]  # (1, k+1)
        before = self.chosen[col.clamp(max=k - 1)]  # S[col]
        after = self.chosen[(col - 1).clamp(min=0)]  # S[col-1]
        positions = torch.where(col < slot, before, torch.where(col == slot, cands[:, None], after))
        return positions, cands

    def advance(self, cands: torch.Tensor, logp: torch.Tensor, top: torch.Tensor, max_steps: int | None) -> bool:
        """Take the best candidate; return True while the search goes on."""
        best = int(logp.argmax())  # first maximum: lowest position on ties
        j = int(cands[best])
        if self.order:
            self.chosen = torch.sort(torch.cat([self.chosen, cands[best : best + 1]])).values
        self.order.append(j)
        self.probabilities.append(math.exp(float(logp[best])))
        self.tops.append(int(top[best]))
        added = len(self.order) - 1
        return self.tops[-1] != self.target_id and len(self.order) < self.t and (max_steps is None or added < max_steps)

    def result(self) -> Rationale:
        return Rationale(
            target_position=self.t,
            target_id=self.target_id,
            positions=self.order,
            probabilities=self.probabilities,
            top_prediction=self.tops[-1],
            converged=self.tops[-1] == self.target_id,
            sequence_index=self.sequence_index,
            top_predictions=self.tops,
            rescored=self.rescored,
        )


# A reduced-precision decision is re-scored in fp32 when its margin (in log-probability) is under this
# fraction of the largest |logit| of its step's rows. bench/precision_error.py measured, relative to
# that scale, margin errors up to 1.5e-2 (bf16) and 1.6e-3 (fp16) on codeq-tiny and random GPT-2 and
# Llama models up to codeparrot-small's size; the bounds are twice that (docs/engine.md, "Precision").
RESCORE_BOUNDS = {torch.bfloat16: 0.03, torch.float16: 0.004}


def _keeps_last_logits_only(model) -> bool:
    return "logits_to_keep" in inspect.signature(model.forward).parameters


class LastScores(NamedTuple):
    """Scores of the next token after each row, one entry per row."""

    logp: torch.Tensor  # log p(target), log-softmax in fp32
    top: torch.Tensor  # argmax token (first maximum)
    gap: torch.Tensor  # highest minus second-highest logit in fp32: the margin of the stopping test
    scale: torch.Tensor  # largest |logit|: rounding errors grow in proportion to it


@torch.inference_mode()
def score_last(model, input_ids, position_ids, attention_mask, target_ids) -> LastScores:
    """Return the :class:`LastScores` at the last position of each row."""
    kwargs = {"logits_to_keep": 1} if _keeps_last_logits_only(model) else {}
    logits = (
        model(input_ids=input_ids, position_ids=position_ids, attention_mask=attention_mask, use_cache=False, **kwargs)
        .logits[:, -1]
        .float()
    )  # (R, V)
    logp = logits.log_softmax(-1)
    two = logits.topk(2, -1).values
    return LastScores(
        logp.gather(1, target_ids[:, None]).squeeze(1), logits.argmax(-1), two[:, 0] - two[:, 1], logits.abs().amax(-1)
    )


def _chunks(lengths: list[int], counts: list[int], batch_size: int, max_batch_tokens: int):
    """Split blocks of ``counts[b]`` rows of length ``lengths[b]`` into forward-pass chunks.

    Blocks should come longest first, so each chunk's padded width is its first block's length.
    Yields lists of (block, first row, end row).
    """
    chunk, rows, cap = [], 0, 0
    for b, (length, count) in enumerate(zip(lengths, counts)):
        start = 0
        while start < count:
            if not chunk:
                cap = max(1, min(batch_size, max_batch_tokens // length))
            take = min(count - start, cap - rows)
            chunk.append((b, start, start + take))
            rows, start = rows + take, start + take
            if rows == cap:
                yield chunk
                chunk, rows = [], 0
    if chunk:
        yield chunk


def score_blocks(model, blocks, batch_size: int, max_batch_tokens: int, pad_id: int) -> list[LastScores]:
    """Score the rows of every block in chunked, left-padded forward passes of ``model``.

    A block is (sequence ids, target id, positions (m, k)): m rows, each the subset of the sequence
    at those positions. Returns one :class:`LastScores` of m entries per block, on the CPU (one
    transfer per call, so decisions on them need no device synchronisation).
    """
    order = sorted(range(len(blocks)), key=lambda b: -blocks[b][2].shape[1])
    lengths = [blocks[b][2].shape[1] for b in order]
    counts = [blocks[b][2].shape[0] for b in order]
    device = next(model.parameters()).device
    outs, pieces = [], []
    for chunk in _chunks(lengths, counts, batch_size, max_batch_tokens):
        width = lengths[chunk[0][0]]
        n = sum(e - s for _, s, e in chunk)
        input_ids = torch.full((n, width), pad_id, dtype=torch.long, device=device)
        position_ids = torch.zeros((n, width), dtype=torch.long, device=device)
        mask = torch.zeros((n, width), dtype=torch.long, device=device)
        targets = torch.empty(n, dtype=torch.long, device=device)
        r = 0
        for b, s, e in chunk:
            ids, target_id, positions = blocks[order[b]]
            rows = positions[s:e]
            input_ids[r : r + e - s, width - rows.shape[1] :] = ids[rows]
            position_ids[r : r + e - s, width - rows.shape[1] :] = rows
            mask[r : r + e - s, width - rows.shape[1] :] = 1
            targets[r : r + e - s] = target_id
            r += e - s
        outs.append(score_last(model, input_ids, position_ids, mask, targets))
        pieces += [(order[b], e - s) for b, s, e in chunk]
    sizes = [n for _, n in pieces]
    split = [torch.cat(field).cpu().split(sizes) for field in zip(*outs)]
    per_block = [[] for _ in blocks]
    for (b, _), *fields in zip(pieces, *split):
        per_block[b].append(fields)
    return [LastScores(*map(torch.cat, zip(*parts))) for parts in per_block]


def rows_to_rescore(scores: LastScores, bound: float) -> torch.Tensor:
    """Return the indices of one step's rows to score again in fp32 (none when no decision is close).

    The margin is ``bound`` times the step's largest |logit|. Choice: the contenders are the
    candidates within the margin of the best; with two or more, all of them are returned. If no
    log-probability is off by more than half the margin, the fp32 best is a contender, so the fp32
    best among them (lowest position on ties) is the fp32 computation's choice. Stopping test: the
    chosen row's argmax (the top prediction) is certain when its two highest logits are at least the
    margin apart; otherwise that row is returned.
    """
    margin = bound * float(scores.scale.max())
    near = (scores.logp >= scores.logp.max() - margin).nonzero().squeeze(1)
    return near[:0] if len(near) == 1 and scores.gap[near[0]] >= margin else near


def _decide_again(
    fp32_model, blocks, scores: list[LastScores], bound: float, batch_size: int, max_batch_tokens: int, pad_id: int
) -> None:
    """Overwrite with fp32 scores the rows of every close decision (:func:`rows_to_rescore`).

    A re-scored choice also decides its stopping test in fp32: two decisions.
    """
    todo = []
    for (search, positions, _), sc in zip(blocks, scores):
        rows = rows_to_rescore(sc, bound)
        if len(rows):
            todo.append((search, positions[rows.to(positions.device)], sc, rows))
            search.rescored += 2 if len(rows) > 1 else 1
    exact = score_blocks(
        fp32_model,
        [(s.ids, s.target_id, positions) for s, positions, _, _ in todo],
        batch_size,
        max_batch_tokens,
        pad_id,
    )
    for (_, _, sc, rows), ex in zip(todo, exact):
        sc.logp[rows], sc.top[rows] = ex.logp, ex.top


def as_sequences(input_ids, target_positions):
    """Return (list of 1-D sequences, list of target lists) for one or several sequences."""
    several = not (
        torch.is_tensor(input_ids)
        and input_ids.dim() == 1
        or isinstance(input_ids, (list, tuple))
        and (not input_ids or isinstance(input_ids[0], int))
    )
    if not several:
        return [torch.as_tensor(input_ids, dtype=torch.long)], [list(target_positions)]
    sequences = [torch.as_tensor(ids, dtype=torch.long) for ids in input_ids]
    targets = [list(ts) for ts in target_positions]
    if len(targets) != len(sequences):
        raise UserError(f"{len(sequences)} sequences but {len(targets)} target lists")
    return sequences, targets


@torch.inference_mode()
def predicted_positions(lm, ids, start: int = 1) -> list[int]:
    """Return the positions t >= ``start`` whose token is the model's own full-context greedy prediction.

    These are the targets whose search can converge (docs/engine.md, traps: rationalize what the model predicts).
    """
    model = lm.model if isinstance(lm, LoadedModel) else lm
    if len(ids) < 2:  # no position has a context to predict it from
        return []
    check_length(model, len(ids))
    ids = torch.as_tensor(ids, dtype=torch.long, device=next(model.parameters()).device)
    logits = model(input_ids=ids[None], attention_mask=torch.ones_like(ids)[None], use_cache=False).logits[0]
    hits = (logits[:-1].argmax(-1) == ids[1:]).nonzero().squeeze(1) + 1
    return [t for t in hits.tolist() if t >= start]


def rationalize(
    lm,
    input_ids,
    target_positions,
    max_steps: int | None = None,
    batch_size: int = 1024,
    max_batch_tokens: int = 32768,
    progress: bool = False,
    exact: bool = True,
    rescore_bound: float | None = None,
) -> list[Rationale]:
    """Compute the greedy rationale of each target token.

    Parameters
    ----------
    lm : LoadedModel or a causal LM module
    input_ids : list[int] or 1-D tensor, or a list of those
        One sequence, or several sequences rationalized together.
    target_positions : list[int], or a list of lists matching several sequences
        Positions t >= 1 whose token x_t is explained from x_<t.
    max_steps : int, optional
        Most positions added after the first (t-1); ``None`` searches up to the whole prefix.
    batch_size, max_batch_tokens : int
        Most candidate rows, and most (padded) tokens, in one forward pass; they bound memory.
    progress : bool
        Show a progress bar over search steps.
    exact : bool
        On a bf16 or fp16 model, decide again in fp32 every choice and stopping test whose margin is
        under ``rescore_bound``, so positions, top predictions and convergence equal the fp32
        computation's. Needs the fp32 weights beside the model: a LoadedModel loads them once from
        its checkpoint (:meth:`LoadedModel.fp32_twin`); a bare module is copied in fp32 on each call.
        No effect on an fp32 or fp64 model.
    rescore_bound : float, optional
        A decision is re-scored when its margin, in log-probability, is under this fraction of the
        largest |logit| of its step's rows; ``None`` takes ``RESCORE_BOUNDS`` for the model's dtype
        (measured, see docs/engine.md). 0 re-scores exact ties only.

    Returns
    -------
    list[Rationale]
        One per target, in input order (sequence by sequence). Targets that hit ``max_steps`` or
        the whole prefix without the argmax test holding come back with ``converged=False``.
        ``probabilities`` come from the model's own precision except on re-scored rows.

    Raises
    ------
    codeq.model.loading.SequenceTooLongError
        A sequence is longer than the model's context.
    """
    model = lm.model if isinstance(lm, LoadedModel) else lm
    device = next(model.parameters()).device
    dtype = next(model.parameters()).dtype
    sequences, targets = as_sequences(input_ids, target_positions)
    searches = []
    for s, (ids, ts) in enumerate(zip(sequences, targets)):
        check_length(model, len(ids), f"sequence {s}")
        for t in ts:
            if not 1 <= t < len(ids):
                raise UserError(f"target position {t} is outside 1..{len(ids) - 1} of sequence {s}")
            searches.append(_Search(s, ids.to(device), t))
    pad_id = getattr(getattr(lm, "tokenizer", None), "pad_token_id", None) or 0
    if exact and dtype in RESCORE_BOUNDS:
        held = lm if isinstance(lm, LoadedModel) else LoadedModel(model, None, "module", device, dtype)
        fp32_model = held.fp32_twin()
    else:
        fp32_model = None
    bound = RESCORE_BOUNDS.get(dtype, 0.0) if rescore_bound is None else rescore_bound
    active = list(searches)
    bar = tqdm(desc="rationalizing", unit="step", disable=None if progress else True, leave=False)
    while active:
        blocks = [(search, *search.rows()) for search in active]
        scores = score_blocks(
            model, [(s.ids, s.target_id, positions) for s, positions, _ in blocks], batch_size, max_batch_tokens, pad_id
        )
        if fp32_model is not None:
            _decide_again(fp32_model, blocks, scores, bound, batch_size, max_batch_tokens, pad_id)
        active = [
            search
            for (search, _, cands), sc in zip(blocks, scores)
            if search.advance(cands, sc.logp, sc.top, max_steps)
        ]
        bar.update()
        bar.set_postfix(active=len(active))
    bar.close()
    return [search.result() for search in searches]
