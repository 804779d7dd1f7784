"""Explainers of next-token predictions behind one interface: :func:`explain`.

``explain(lm, sequences, targets, method)`` scores every position j < t for each target position
t of each sequence: how much x_j matters for the model predicting x_t from x_<t. Methods (specs in
:data:`codeq.explainers.registry.REGISTRY`, named in :data:`contract.prepared_tasks.EXPLAINERS`, documented
in docs/explainers.md):

====================  =====  =============================================================
method                kind   reference; implementation
====================  =====  =============================================================
greedy                set    Vafa et al. 2021; :func:`codeq.rationales.search.rationalize`
attention             score  last layer, mean over heads; the model's own attentions
attention_rollout     score  Abnar & Zuidema 2020; written here
saliency              score  Simonyan et al. 2014; ``captum.attr.Saliency``
grad_x_input          score  Shrikumar et al. 2016; ``captum.attr.InputXGradient``
integrated_gradients  score  Sundararajan et al. 2017; ``captum.attr.IntegratedGradients``
occlusion             score  Zeiler & Fergus 2014; ``captum.attr.FeatureAblation``
====================  =====  =============================================================

Every method is deterministic for a given model and input.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from codeq.explainers.batching import pairs as target_pairs
from codeq.explainers.captum_methods import ATTRIBUTIONS
from codeq.explainers.registry import REGISTRY, explainer
from codeq.model.loading import LoadedModel, check_length
from codeq.rationales.search import as_sequences
from contract.prepared_tasks import EXPLAINERS, SET_EXPLAINERS


@dataclass
class TokenScores:
    """One explanation of one target: a score for every position left of it."""

    method: str
    sequence_index: int
    target_position: int  # t
    target_id: int  # x_t
    scores: list[float]  # positions 0..t-1; higher = more important
    positions: list[int] | None = None  # set methods: the set, in the order its members entered
    details: dict = field(default_factory=dict)  # method-specific record (greedy: probabilities, converged)


def explain(lm, sequences, targets, method: str, **options) -> list[TokenScores]:
    """Explain target tokens with one method.

    Parameters
    ----------
    lm : LoadedModel or a causal LM module
    sequences : list[int] or 1-D tensor, or a list of those
        One token id sequence, or several explained together.
    targets : list[int], or a list of lists matching several sequences
        Positions t >= 1 whose token x_t is explained from x_<t.
    method : str
        One of :data:`contract.prepared_tasks.EXPLAINERS`.
    **options
        ``batch_size`` (prefixes per forward pass; greedy: candidate rows; the attention methods
        have no batches), and per method (:attr:`Explainer.options <codeq.explainers.registry.Explainer>`):
        greedy ``max_steps``, ``max_batch_tokens``, ``progress``; integrated_gradients ``n_steps``
        (default 50), ``internal_batch_size`` (interpolated inputs per pass, default 64); occlusion
        ``perturbations_per_eval`` (default 16).

    Returns
    -------
    list[TokenScores]
        One per target, sequence by sequence, targets in the given order.

    Raises
    ------
    contract.errors.UserError
        An unknown method, or an option the method does not take.
    """
    spec = explainer(method)
    options = spec.bind(options)
    model = lm.model if isinstance(lm, LoadedModel) else lm
    sequences, targets = as_sequences(sequences, targets)
    for s, ids in enumerate(sequences):
        check_length(model, len(ids), f"sequence {s}")
    pairs = target_pairs(sequences, targets)
    pad_id = getattr(getattr(lm, "tokenizer", None), "pad_token_id", None) or 0
    results = spec.run(model, sequences, pairs, pad_id, **options) if pairs else []
    return [
        TokenScores(
            method=method,
            sequence_index=s,
            target_position=t,
            target_id=int(sequences[s][t]),
            scores=scores,
            positions=details.pop("positions") if spec.kind == "set" else None,
            details=details,
        )
        for (s, t), (scores, details) in zip(pairs, results)
    ]


__all__ = ["ATTRIBUTIONS", "EXPLAINERS", "REGISTRY", "SET_EXPLAINERS", "TokenScores", "explain", "explainer"]
