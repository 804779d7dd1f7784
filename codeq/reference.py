"""Greedy rationalization, one target at a time: the readable reference for ``codeq.rationalize``.

This follows the algorithm in docs/engine.md step by step and favours clarity over speed: each step of each target is one
forward pass over that target's candidates (all the same length, so no padding), full logits are
computed, and everything is plain Python lists. The fast engine must return exactly what this
returns; the tests and ``bench/rationalize.py`` both compare against this module.
"""

from __future__ import annotations

import math

import torch

from codeq.loading import LoadedModel
from codeq.rationale_search import Rationale


@torch.inference_mode()
def score_subsets(model, ids: torch.Tensor, subsets: list[list[int]], target_id: int):
    """Return (log p(target), argmax token) for the next token after each subset of ``ids``.

    Every subset is fed compacted, in original order, with its original position ids and an
    explicit all-ones attention mask (without the mask transformers reads the position-id gaps as
    packed-sequence boundaries).
    """
    device = next(model.parameters()).device
    positions = torch.tensor(subsets, device=device)  # (m, k)
    out = model(
        input_ids=ids.to(device)[positions],
        position_ids=positions,
        attention_mask=torch.ones_like(positions),
        use_cache=False,
    )
    logp = out.logits[:, -1].float().log_softmax(-1)  # (m, V)
    return logp[:, target_id].tolist(), logp.argmax(-1).tolist()


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
