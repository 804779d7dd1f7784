"""Greedy rationalization, one target at a time: the readable reference for ``codeq.rationalize``.

It is the loop of the algorithm's authors (``rationalize_lm`` in keyonvafa/sequential-rationales,
``huggingface/rationalization.py``, the function the CodeQ artifact calls): one target at a time;
each step scores ``sorted(S + [j])`` for every j < t not in S, with the original position ids, in
forward passes of at most ``MAX_TOKENS_PER_BATCH`` tokens that compute the logits of every
position; the first maximum wins; the search stops when the argmax is the target. Two departures,
neither changing a result: an explicit all-ones attention mask (see :func:`score_subsets`), and
``max_steps`` counting the positions added after t-1. The fast engine must return exactly what this
returns; the tests and ``bench/rationalize.py`` both compare against this module.
"""

from __future__ import annotations

import math

import torch

from codeq.model.loading import LoadedModel
from codeq.rationales.search import Rationale

MAX_TOKENS_PER_BATCH = 4096  # the authors' default ``max_tokens_per_batch``


@torch.inference_mode()
def score_subsets(model, ids: torch.Tensor, subsets: list[list[int]], target_id: int):
    """Return (log p(target), argmax token) for the next token after each subset of ``ids``.

    The subsets, all of one length k, go in batches of ``MAX_TOKENS_PER_BATCH // k`` rows. Every
    subset is fed compacted, in original order, with its original position ids and an explicit
    all-ones attention mask (without the mask transformers reads the position-id gaps as
    packed-sequence boundaries).
    """
    device = next(model.parameters()).device
    positions = torch.tensor(subsets, device=device)  # (m, k)
    rows = max(1, MAX_TOKENS_PER_BATCH // positions.shape[1])
    logps, tops = [], []
    for batch in positions.split(rows):
        out = model(
            input_ids=ids.to(device)[batch],
            position_ids=batch,
            attention_mask=torch.ones_like(batch),
            use_cache=False,
        )
        logp = out.logits[:, -1].float().log_softmax(-1)  # (rows, V)
        logps += logp[:, target_id].tolist()
        tops += logp.argmax(-1).tolist()
    return logps, tops


def rationalize_one(
    model, ids, target_position: int, max_steps: int | None = None, sequence_index: int = 0
) -> Rationale:
    """Greedily rationalize the token at ``target_position`` of ``ids``.

    Ties between candidates with the same log-probability go to the lowest position.
    """
    model = model.model if isinstance(model, LoadedModel) else model
    ids = torch.as_tensor(ids)
    t = target_position
    target_id = int(ids[t])
    chosen = [t - 1]
    (logp,), (top,) = score_subsets(model, ids, [chosen], target_id)
    probabilities, tops = [math.exp(logp)], [top]
    while top != target_id and len(chosen) < t and (max_steps is None or len(chosen) - 1 < max_steps):
        candidates = [j for j in range(t) if j not in chosen]
        logps, cand_tops = score_subsets(model, ids, [sorted(chosen + [j]) for j in candidates], target_id)
        best = max(range(len(candidates)), key=lambda i: (logps[i], -candidates[i]))
        chosen.append(candidates[best])
        top = cand_tops[best]
        probabilities.append(math.exp(logps[best]))
        tops.append(top)
    return Rationale(
        target_position=t,
        target_id=target_id,
        positions=chosen,
        probabilities=probabilities,
        top_prediction=top,
        converged=top == target_id,
        sequence_index=sequence_index,
        top_predictions=tops,
    )


def rationalize_reference(model, sequences, targets, max_steps: int | None = None) -> list[Rationale]:
    """Rationalize every target of every sequence, one target after the other."""
    return [
        rationalize_one(model, ids, t, max_steps, sequence_index=s)
        for s, (ids, ts) in enumerate(zip(sequences, targets))
        for t in ts
    ]
