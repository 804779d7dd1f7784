"""Gradient and perturbation attributions through Captum, on the input embeddings of each prefix.

Every method attributes f(e) = p(x_t | x_<t) (softmax in fp32), a function of the prefix's input
(word) embeddings e (B, L, H); position embeddings and everything else are added inside the model
as usual. A token's score reduces its embedding's attribution over the hidden dimension H:

- ``saliency``: L2 norm of the gradient df/de_j (Simonyan et al., 2014), via ``captum.attr.Saliency``.
- ``grad_x_input``: sum over H of e_j * df/de_j (Shrikumar et al., 2016), via ``captum.attr.InputXGradient``.
- ``integrated_gradients``: sum over H of integrated gradients from the all-zero embedding
  (Sundararajan et al., 2017), via ``captum.attr.IntegratedGradients`` (Gauss-Legendre, ``n_steps``).
  Completeness: the scores sum to f(e) - f(0) up to the reported ``convergence_delta``.
- ``occlusion``: leave one token out, f(e) - f(e with e_j replaced by zeros) (Zeiler & Fergus, 2014;
  Li et al., 2016), via ``captum.attr.FeatureAblation`` with one feature per token.

Signed methods (grad_x_input, integrated_gradients, occlusion) are positive where the token raises
p(target). All are deterministic for a given model and input (no sampling).
"""

from __future__ import annotations

from collections.abc import Callable
from functools import partial

import torch
from captum.attr import FeatureAblation, InputXGradient, IntegratedGradients, Saliency

from codeq.explainers.batching import Rows, chunked, left_pad, target_probability, widen


def _embed(model, rows: Rows) -> torch.Tensor:
    return model.get_input_embeddings()(rows.input_ids).detach().requires_grad_()  # (B, L, H)


def _args(rows: Rows) -> tuple:
    return rows.attention_mask, rows.position_ids, rows.target_ids


def saliency(model, embeds: torch.Tensor, rows: Rows) -> tuple[torch.Tensor, dict]:
    grads = Saliency(partial(target_probability, model)).attribute(
        embeds, additional_forward_args=_args(rows), abs=True
    )
    return widen(grads).norm(dim=-1), {}


def grad_x_input(model, embeds: torch.Tensor, rows: Rows) -> tuple[torch.Tensor, dict]:
    attr = InputXGradient(partial(target_probability, model)).attribute(embeds, additional_forward_args=_args(rows))
    return widen(attr).sum(-1), {}


def integrated_gradients(
    model, embeds: torch.Tensor, rows: Rows, n_steps: int = 50, internal_batch_size: int | None = 64
) -> tuple[torch.Tensor, dict]:
    # rows x n_steps interpolated inputs go through the model internal_batch_size at a time: one
    # pass over all 800 of 16 prefixes x 50 steps took twice the CPU time of passes of 64 (memory)
    attr, delta = IntegratedGradients(partial(target_probability, model)).attribute(
        embeds,
        baselines=torch.zeros_like(embeds),
        additional_forward_args=_args(rows),
        n_steps=n_steps,
        internal_batch_size=internal_batch_size,
        return_convergence_delta=True,
    )
    return widen(attr).sum(-1), {"convergence_delta": widen(delta)}


@torch.no_grad()
def occlusion(model, embeds: torch.Tensor, rows: Rows, perturbations_per_eval: int = 16) -> tuple[torch.Tensor, dict]:
    columns = torch.arange(embeds.shape[1], device=embeds.device)[None, :, None].expand(1, -1, embeds.shape[2])
    attr = FeatureAblation(partial(target_probability, model)).attribute(
        embeds,
        baselines=0.0,
        additional_forward_args=_args(rows),
        feature_mask=columns,
        perturbations_per_eval=perturbations_per_eval,
    )
    return widen(attr[..., 0]), {}


ATTRIBUTIONS = {
    "saliency": saliency,
    "grad_x_input": grad_x_input,
    "integrated_gradients": integrated_gradients,
    "occlusion": occlusion,
}


def attribute(
    method: Callable[..., tuple[torch.Tensor, dict]],
    model,
    sequences: list[torch.Tensor],
    pairs: list[tuple[int, int]],
    pad_id: int,
    batch_size: int = 16,
    **options,
) -> list[tuple[list[float], dict]]:
    """Run one Captum method (a function of :data:`ATTRIBUTIONS`) over (sequence, target) pairs,
    ``batch_size`` prefixes per batch; ``options`` are the method's own.

    Returns, per pair, the scores of positions 0..t-1 and the method's per-target details.
    """
    device = next(model.parameters()).device
    out = []
    for chunk in chunked(pairs, batch_size):
        rows = left_pad([sequences[s][:t] for s, t in chunk], [int(sequences[s][t]) for s, t in chunk], device, pad_id)
        with torch.enable_grad():
            scores, details = method(model, _embed(model, rows), rows, **options)
        for r, off in enumerate(rows.offsets):
            out.append((scores[r, off:].tolist(), {k: float(v[r]) for k, v in details.items()}))
    return out
