"""The explainer registry: names, kinds, options, and the one-line errors for a wrong name or option."""

import numpy as np
import pytest
from click.testing import CliRunner

from codeq.cli import main
from codeq.explainers import REGISTRY, explain, explainer
from codeq.model.random_models import tiny_gpt2
from contract.errors import UserError
from contract.prepared_tasks import EXPLAINERS, SET_EXPLAINERS

SEQUENCES = [[5, 17, 3, 22, 9, 40, 11, 2, 31, 7, 19, 4], [8, 1, 30, 12, 6, 25, 14]]
TARGETS = [[3, 11], [6]]
# a value for every option; "same" ones only size batches or show progress, so the scores must not move
SAME = {
    "batch_size": 1,
    "progress": False,
    "max_batch_tokens": 64,
    "internal_batch_size": 3,
    "perturbations_per_eval": 2,
}
CHANGED = {"max_steps": 1, "n_steps": 2}


def test_the_registry_names_the_contracts_explainers_in_order():
    assert tuple(REGISTRY) == EXPLAINERS
    assert [name for name, spec in REGISTRY.items() if spec.kind == "set"] == list(SET_EXPLAINERS)
    assert all(spec.name == name and spec.kind in ("set", "score") for name, spec in REGISTRY.items())


def test_an_unknown_name_is_one_line_naming_every_explainer():
    with pytest.raises(UserError) as error:
        explainer("Saliency")
    assert str(error.value) == (
        "unknown explainer 'Saliency': use one of greedy, attention, attention_rollout, saliency, "
        "grad_x_input, integrated_gradients, occlusion"
    )


@pytest.mark.parametrize(
    ("method", "valid"),
    [
        ("greedy", "batch_size, max_steps, max_batch_tokens, progress"),
        ("attention", "batch_size"),
        ("saliency", "batch_size"),
        ("integrated_gradients", "batch_size, n_steps, internal_batch_size"),
        ("occlusion", "batch_size, perturbations_per_eval"),
    ],
)
def test_a_misspelt_option_is_refused_naming_the_valid_ones(method, valid):
    with pytest.raises(UserError) as error:
        explain(tiny_gpt2(), SEQUENCES, TARGETS, method, n_step=8)
    assert str(error.value) == f"explainer {method!r} has no option 'n_step': use {valid}"


def test_an_option_of_another_method_is_refused():
    # once silently ignored: the attention methods take no integration steps
    with pytest.raises(UserError, match="^explainer 'attention_rollout' has no option 'n_steps'"):
        explain(tiny_gpt2(), SEQUENCES, TARGETS, "attention_rollout", n_steps=8)


@pytest.mark.parametrize("method", EXPLAINERS)
def test_every_option_reaches_its_method(method):
    model = tiny_gpt2()
    spec = explainer(method)
    plain = explain(model, SEQUENCES, TARGETS, method)
    same = explain(model, SEQUENCES, TARGETS, method, **{k: v for k, v in SAME.items() if k in spec.options})
    for a, b in zip(plain, same):
        np.testing.assert_allclose(a.scores, b.scores, atol=1e-12)
        assert a.positions == b.positions
    for name, value in CHANGED.items():
        if name in spec.options:
            changed = explain(model, SEQUENCES, TARGETS, method, **{name: value})
            assert any(not np.allclose(a.scores, b.scores, atol=1e-9) for a, b in zip(plain, changed)), name
    if method == "greedy":  # one step after t-1: at most two positions
        assert all(len(r.positions) <= 2 for r in explain(model, SEQUENCES, TARGETS, method, max_steps=1))


def test_the_cli_offers_every_registered_explainer():
    result = CliRunner().invoke(main, ["explain", "--help"], terminal_width=200)
    assert result.exit_code == 0
    assert f"Explainer (repeatable): {', '.join(REGISTRY)}." in " ".join(result.output.split())
