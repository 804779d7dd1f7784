"""Greedy rationales (Vafa et al., 2021, https://doi.org/10.18653/v1/2021.emnlp-main.807) as an explainer.

A set-valued method: the score of a position is 1 if the search added it, else 0; the order of
addition is the set's order. The search itself is :func:`codeq.rationales.search.rationalize`.
"""

from __future__ import annotations

import torch

from codeq.rationales.search import rationalize


def greedy_scores(
    model,
    sequences: list[torch.Tensor],
    pairs: list[tuple[int, int]],
    pad_id: int,
    max_steps: int | None = None,
    batch_size: int = 1024,
    max_batch_tokens: int = 32768,
    progress: bool = False,
) -> list[tuple[list[float], dict]]:
    """Return, per (sequence, target) pair, 1/0 scores of positions 0..t-1 and the search's record."""
    targets = [[t for s, t in pairs if s == k] for k in range(len(sequences))]
    found = {
        (r.sequence_index, r.target_position): r
        for r in rationalize(
            model,
            sequences,
            targets,
            max_steps=max_steps,
            batch_size=batch_size,
            max_batch_tokens=max_batch_tokens,
            progress=progress,
        )
    }
    out = []
    for s, t in pairs:
        r = found[s, t]
        chosen = set(r.positions)
        out.append(
            (
                [1.0 if j in chosen else 0.0 for j in range(t)],
                {
                    "positions": list(r.positions),
                    "probabilities": list(r.probabilities),
                    "converged": r.converged,
                    "top_prediction": r.top_prediction,
                },
            )
        )
    return out
