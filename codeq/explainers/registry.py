"""Every explainer by name: what it gives (a set, or only scores), the function that runs it, its options.

A spec's ``run(model, sequences, pairs, pad_id, **options)`` returns, per (sequence, target) pair,
the scores of positions 0..t-1 and a dict of details (a set method's details hold ``positions``,
its set in order of entry). The names are those of :data:`contract.prepared_tasks.EXPLAINERS`, which the
light side (study definitions, the study app) reads without importing this module.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from functools import partial
from typing import Literal

from codeq.explainers.attention import attention_scores, last_layer, rollout
from codeq.explainers.captum_methods import ATTRIBUTIONS, attribute
from codeq.explainers.greedy import greedy_scores
from contract.errors import UserError

# Every explainer takes ``batch_size``, so one setting serves a list of methods; the attention
# methods run one unpadded pass per sequence and have no batches to size.
SHARED_OPTIONS = ("batch_size",)


@dataclass(frozen=True)
class Explainer:
    """One explanation method."""

    name: str
    kind: Literal["set", "score"]  # set: ``run`` also returns the ordered set; score: scores only
    run: Callable[..., list[tuple[list[float], dict]]]
    options: tuple[str, ...]  # keyword options ``run`` takes; its signature holds their defaults

    def bind(self, options: dict) -> dict:
        """Return the options ``run`` takes, or raise a one-line UserError naming the valid ones."""
        valid = dict.fromkeys((*SHARED_OPTIONS, *self.options))
        unknown = [name for name in options if name not in valid]
        if unknown:
            raise UserError(f"explainer {self.name!r} has no option {unknown[0]!r}: use {', '.join(valid)}")
        return {name: value for name, value in options.items() if name in self.options}


def _attribution(name: str, options: tuple[str, ...]) -> Explainer:
    return Explainer(name, "score", partial(attribute, ATTRIBUTIONS[name]), ("batch_size", *options))


REGISTRY: dict[str, Explainer] = {
    spec.name: spec
    for spec in (
        Explainer("greedy", "set", greedy_scores, ("batch_size", "max_steps", "max_batch_tokens", "progress")),
        Explainer("attention", "score", partial(attention_scores, last_layer), ()),
        Explainer("attention_rollout", "score", partial(attention_scores, rollout), ()),
        _attribution("saliency", ()),
        _attribution("grad_x_input", ()),
        _attribution("integrated_gradients", ("n_steps", "internal_batch_size")),
        _attribution("occlusion", ("perturbations_per_eval",)),
    )
}


def explainer(name: str) -> Explainer:
    """Return the spec of explainer ``name``, or raise a one-line UserError naming the valid ones."""
    if name not in REGISTRY:
        raise UserError(f"unknown explainer {name!r}: use one of {', '.join(REGISTRY)}")
    return REGISTRY[name]
