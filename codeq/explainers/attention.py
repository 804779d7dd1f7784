"""Attention as explanation, read from the model's own attention weights (written here: Captum has none).

- ``attention``: the last layer's attention of the predicting position t-1 over x_<t, averaged over heads.
- ``attention_rollout``: attention rollout (Abnar & Zuidema, 2020, https://doi.org/10.18653/v1/2020.acl-main.385):
  per layer A = 0.5 * mean-over-heads attention + 0.5 * I (the residual connection), rows renormalized;
  the rollout is A_L @ ... @ A_1, and the score of j is its entry in row t-1.

The weights are the model's ``output_attentions``, which transformers 5 returns only from the eager
attention implementation: the model is switched to it for the forward pass and switched back after.
Causal attention makes row t-1 of the whole sequence's attention equal to that of x_<t alone, so
all targets of a sequence share one forward pass. Sequences are not padded together: eager attention
of some models (Llama) turns a fully masked padding row into NaN, which then reaches every row.
"""

from __future__ import annotations

from collections.abc import Callable
from contextlib import contextmanager

import torch

from codeq.explainers.batching import widen


@contextmanager
def eager_attention(model):
    """Use the eager attention implementation inside the block (needed for ``output_attentions``)."""
    before = model.config._attn_implementation
    if before != "eager":
        model.set_attn_implementation("eager")
    try:
        yield
    finally:
        if before != "eager":
            model.set_attn_implementation(before)


def last_layer(attentions: list[torch.Tensor]) -> torch.Tensor:
    """The last layer's attentions (B, heads, L, L) of per-layer attentions, averaged over heads: (B, L, L)."""
    return widen(attentions[-1]).mean(1)


def rollout(attentions: list[torch.Tensor]) -> torch.Tensor:
    """Attention rollout of per-layer attentions (B, heads, L, L), first layer first: returns (B, L, L)."""
    first = widen(attentions[0])
    rolled = torch.eye(first.shape[-1], dtype=first.dtype, device=first.device)
    for layer in attentions:
        a = widen(layer).mean(1)  # (B, L, L)
        a = 0.5 * a + 0.5 * torch.eye(a.shape[-1], dtype=a.dtype, device=a.device)
        rolled = (a / a.sum(-1, keepdim=True)) @ rolled
    return rolled


@torch.inference_mode()
def attention_scores(
    weights_of: Callable[[list[torch.Tensor]], torch.Tensor],
    model,
    sequences: list[torch.Tensor],
    pairs: list[tuple[int, int]],
    pad_id: int,
) -> list[tuple[list[float], dict]]:
    """Return, per (sequence, target) pair, the scores of positions 0..t-1 in row t-1 of ``weights_of``.

    ``weights_of`` turns the per-layer attentions, first layer first, into one (B, L, L) matrix:
    :func:`last_layer` or :func:`rollout`. Sequences are never padded, so ``pad_id`` goes unused.
    """
    device = next(model.parameters()).device
    by_sequence: dict[int, list[int]] = {}
    for s, t in pairs:
        by_sequence.setdefault(s, []).append(t)
    found = {}
    with eager_attention(model):
        for s, ts in by_sequence.items():
            ids = sequences[s][: max(ts)].to(device)[None]
            out = model(input_ids=ids, attention_mask=torch.ones_like(ids), output_attentions=True, use_cache=False)
            weights = weights_of(list(out.attentions))
            for t in ts:
                found[s, t] = weights[0, t - 1, :t].tolist()
    return [(found[pair], {}) for pair in pairs]
