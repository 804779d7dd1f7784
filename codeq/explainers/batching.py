"""Stack target prefixes into left-padded batches, and score the target at each row's last position.

Every explanation of target t of a sequence looks at the prefix x_<t. Prefixes of different
lengths share a forward pass left-padded: padding is masked out and gets position id 0, each real
token keeps its own position id, so each row sees exactly what its prefix alone would show
(the same convention as :mod:`codeq.rationales.search`).
"""

from __future__ import annotations

import inspect
from dataclasses import dataclass

import torch

from contract.errors import UserError


@dataclass
class Rows:
    """A left-padded batch of prefixes x_<t, one row per (sequence, target)."""

    input_ids: torch.Tensor  # (B, L) padded with ``pad_id``
    attention_mask: torch.Tensor  # (B, L) 1 on real tokens
    position_ids: torch.Tensor  # (B, L) 0..t-1 on real tokens, 0 on padding
    target_ids: torch.Tensor  # (B,) x_t of each row
    offsets: list[int]  # column of each row's position 0 (= L - t)
    lengths: list[int]  # t of each row


def pairs(sequences: list[torch.Tensor], targets: list[list[int]]) -> list[tuple[int, int]]:
    """Return every (sequence index, target position), checking each position is inside 1..len-1."""
    out = []
    for s, (ids, ts) in enumerate(zip(sequences, targets)):
        for t in ts:
            if not 1 <= t < len(ids):
                raise UserError(f"target position {t} is outside 1..{len(ids) - 1} of sequence {s}")
            out.append((s, t))
    return out


def left_pad(
    prefixes: list[torch.Tensor],
    target_ids: list[int],
    device,
    pad_id: int = 0,
    positions: list[torch.Tensor] | None = None,
) -> Rows:
    """Stack 1-D id tensors into a :class:`Rows` batch on ``device``.

    ``positions`` gives each row's position ids (a subset of a sequence keeps its original ones);
    by default a row's are 0..len-1.
    """
    width = max(len(p) for p in prefixes)
    n = len(prefixes)
    ids = torch.full((n, width), pad_id, dtype=torch.long, device=device)
    mask = torch.zeros((n, width), dtype=torch.long, device=device)
    position_ids = torch.zeros((n, width), dtype=torch.long, device=device)
    offsets = []
    for r, p in enumerate(prefixes):
        off = width - len(p)
        ids[r, off:] = p.to(device)
        mask[r, off:] = 1
        position_ids[r, off:] = torch.arange(len(p), device=device) if positions is None else positions[r].to(device)
        offsets.append(off)
    return Rows(
        ids,
        mask,
        position_ids,
        torch.tensor(target_ids, dtype=torch.long, device=device),
        offsets,
        [len(p) for p in prefixes],
    )


def chunked(items: list, size: int):
    """Yield consecutive slices of ``items`` of at most ``size`` elements."""
    for start in range(0, len(items), max(1, size)):
        yield items[start : start + size]


def widen(x: torch.Tensor) -> torch.Tensor:
    """Return ``x`` in at least fp32 (bf16 scores are reduced in fp32; fp64 stays fp64)."""
    return x.to(torch.promote_types(x.dtype, torch.float32))


def last_logits(model, **inputs) -> torch.Tensor:
    """Logits at the last column of every row, at least fp32; only that column is projected when the model allows."""
    keep = {"logits_to_keep": 1} if "logits_to_keep" in inspect.signature(model.forward).parameters else {}
    return widen(model(use_cache=False, **inputs, **keep).logits[:, -1])  # (B, V)


def target_probability(model, inputs_embeds, attention_mask, position_ids, target_ids) -> torch.Tensor:
    """p(x_t | x_<t) of every row from input embeddings; the function gradient methods attribute.

    Captum repeats the additional arguments when it expands the batch (integrated gradients' steps),
    so every argument here has the batch as its first dimension.
    """
    logits = last_logits(model, inputs_embeds=inputs_embeds, attention_mask=attention_mask, position_ids=position_ids)
    return logits.softmax(-1).gather(1, target_ids[:, None]).squeeze(1)  # (B,)
