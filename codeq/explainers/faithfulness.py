"""ERASER faithfulness of a set of units: comprehensiveness and sufficiency.

DeYoung et al. (2020), "ERASER: A Benchmark to Evaluate Rationalized NLP Models", ACL,
https://doi.org/10.18653/v1/2020.acl-main.408. For a target t with context x_<t and a set R:

    comprehensiveness = p(x_t | x_<t) - p(x_t | x_<t without R)   (higher: R was needed)
    sufficiency       = p(x_t | x_<t) - p(x_t | R alone)          (lower: R was enough)

Tokens are removed, not replaced: what is left is fed compacted, in original order, with its
original position ids and an explicit attention mask, exactly as the greedy search feeds a subset
(DESIGN.md), so greedy's own stopping test and these scores see the model the same way. A value is
None when what is left is empty (R covers the whole context, or R is empty).
"""

from __future__ import annotations

import torch

from codeq.explainers.batching import chunked, last_logits, left_pad


@torch.inference_mode()
def erasure(
    model, requests: list[tuple[list[int], int, set[int]]], pad_id: int = 0, batch_size: int = 64
) -> list[tuple[float | None, float | None]]:
    """Return (comprehensiveness, sufficiency) for each (ids, t, token positions of R) request."""
    device = next(model.parameters()).device
    rows = []  # (request, kind, positions kept)
    for k, (_, t, chosen) in enumerate(requests):
        rows.append((k, "full", list(range(t))))
        rows.append((k, "without", [j for j in range(t) if j not in chosen]))
        rows.append((k, "only", sorted(j for j in chosen if j < t)))
    rows = [r for r in rows if r[2]]
    rows.sort(key=lambda r: -len(r[2]))  # similar lengths share a batch: less padding
    p = {}
    for chunk in chunked(rows, batch_size):
        prefixes = [torch.tensor([requests[k][0][j] for j in kept]) for k, _, kept in chunk]
        targets = [requests[k][0][requests[k][1]] for k, _, _ in chunk]
        batch = left_pad(prefixes, targets, device, pad_id, positions=[torch.tensor(kept) for _, _, kept in chunk])
        probs = last_logits(
            model, input_ids=batch.input_ids, attention_mask=batch.attention_mask, position_ids=batch.position_ids
        ).softmax(-1)
        for (k, kind, _), value in zip(chunk, probs.gather(1, batch.target_ids[:, None])[:, 0].tolist()):
            p[k, kind] = value
    return [
        (
            p[k, "full"] - p[k, "without"] if (k, "without") in p else None,
            p[k, "full"] - p[k, "only"] if (k, "only") in p else None,
        )
        for k in range(len(requests))
    ]
