"""Each explainer against an independent computation on tiny random models (float64)."""

import json
from pathlib import Path

import numpy as np
import pytest
import torch
from click.testing import CliRunner

from codeq.cli import main
from codeq.explainers import ATTRIBUTIONS, explain
from codeq.explainers.faithfulness import erasure
from codeq.explainers.study_tasks import explain_tasks
from codeq.model.loading import load_model
from codeq.model.random_models import tiny_gpt2
from codeq.rationales.reference import score_subsets
from codeq.rationales.search import rationalize
from contract.prepared_tasks import EXPLAINERS, SCHEMA_VERSION, read_tasks
from contract.token_alignment import top_units, unit_scores

PILOT = Path(__file__).resolve().parents[2] / "instruments" / "pilot" / "tasks.jsonl"
# two sequences of different lengths, so every batch holds left-padded rows
SEQUENCES = [[5, 17, 3, 22, 9, 40, 11, 2, 31, 7, 19, 4], [8, 1, 30, 12, 6, 25, 14]]
TARGETS = [[3, 11], [6]]


def prefix_probability(model, ids, t, embeds=None):
    """p(x_t | x_<t) from one unpadded forward pass (the plain computation every method is checked against)."""
    if embeds is None:
        embeds = model.get_input_embeddings()(torch.tensor(ids[:t]))
    logits = model(inputs_embeds=embeds[None]).logits[0, -1]
    return logits.softmax(-1)[ids[t]]


def each_target():
    for s, ts in enumerate(TARGETS):
        for t in ts:
            yield SEQUENCES[s], t


def test_registry_matches_the_contract():
    assert set(EXPLAINERS) == {"greedy", "attention", "attention_rollout"} | set(ATTRIBUTIONS)


def test_occlusion_equals_a_plain_loop(tiny_model):
    results = explain(tiny_model, SEQUENCES, TARGETS, "occlusion", perturbations_per_eval=3)
    with torch.no_grad():
        for r, (ids, t) in zip(results, each_target()):
            full = prefix_probability(tiny_model, ids, t)
            expected = []
            for j in range(t):
                embeds = tiny_model.get_input_embeddings()(torch.tensor(ids[:t])).clone()
                embeds[j] = 0
                expected.append(float(full - prefix_probability(tiny_model, ids, t, embeds)))
            assert r.target_position == t and len(r.scores) == t
            np.testing.assert_allclose(r.scores, expected, atol=1e-10)


def test_integrated_gradients_complete(tiny_model):
    results = explain(tiny_model, SEQUENCES, TARGETS, "integrated_gradients", n_steps=64)
    with torch.no_grad():
        for r, (ids, t) in zip(results, each_target()):
            f_x = float(prefix_probability(tiny_model, ids, t))
            zeros = torch.zeros(t, tiny_model.get_input_embeddings().embedding_dim, dtype=torch.float64)
            f_0 = float(prefix_probability(tiny_model, ids, t, zeros))
            assert abs(f_x - f_0) > 1e-4  # the identity is not trivially 0 = 0
            # Captum's delta is the completeness gap, measured here on unpadded prefixes
            assert sum(r.scores) - (f_x - f_0) == pytest.approx(r.details["convergence_delta"], abs=1e-9)
            if tiny_model.config.model_type == "gpt2":  # Llama's RMSNorm is steep near the zero baseline
                assert sum(r.scores) == pytest.approx(f_x - f_0, abs=1e-5)


@pytest.mark.parametrize("method", ["saliency", "grad_x_input"])
def test_gradient_methods_equal_autograd(tiny_model, method):
    results = explain(tiny_model, SEQUENCES, TARGETS, method, batch_size=2)
    for r, (ids, t) in zip(results, each_target()):
        embeds = tiny_model.get_input_embeddings()(torch.tensor(ids[:t])).detach().requires_grad_()
        (grad,) = torch.autograd.grad(prefix_probability(tiny_model, ids, t, embeds), embeds)
        expected = grad.norm(dim=-1) if method == "saliency" else (grad * embeds).sum(-1)
        np.testing.assert_allclose(r.scores, expected.detach().numpy(), atol=1e-10)


def direct_attentions(model, ids, t):
    before = model.config._attn_implementation
    model.set_attn_implementation("eager")
    with torch.no_grad():
        out = model(input_ids=torch.tensor([ids[:t]]), output_attentions=True)
    model.set_attn_implementation(before)
    return [a[0].numpy() for a in out.attentions]  # per layer (heads, t, t)


def test_attention_equals_output_attentions(tiny_model):
    before = tiny_model.config._attn_implementation
    results = explain(tiny_model, SEQUENCES, TARGETS, "attention")
    assert tiny_model.config._attn_implementation == before  # switched back after the forward pass
    for r, (ids, t) in zip(results, each_target()):
        last = direct_attentions(tiny_model, ids, t)[-1]
        np.testing.assert_allclose(r.scores, last[:, -1].mean(0), atol=1e-10)
        assert sum(r.scores) == pytest.approx(1.0)


def test_attention_rollout_by_hand(tiny_model):
    results = explain(tiny_model, SEQUENCES, TARGETS, "attention_rollout")
    for r, (ids, t) in zip(results, each_target()):
        rolled = np.eye(t)
        for layer in direct_attentions(tiny_model, ids, t):
            a = 0.5 * layer.mean(0) + 0.5 * np.eye(t)
            rolled = (a / a.sum(1, keepdims=True)) @ rolled
        np.testing.assert_allclose(r.scores, rolled[-1], atol=1e-10)


def test_greedy_wraps_rationalize():
    model = tiny_gpt2()
    results = explain(model, SEQUENCES, TARGETS, "greedy", max_steps=4)
    reference = rationalize(model, SEQUENCES, TARGETS, max_steps=4)
    for r, ref in zip(results, reference):
        assert r.positions == ref.positions
        assert r.scores == [float(j in ref.positions) for j in range(ref.target_position)]
        assert r.details["converged"] == ref.converged


@pytest.mark.parametrize("method", EXPLAINERS)
def test_deterministic_and_batch_independent(method):
    model = tiny_gpt2()
    first = explain(model, SEQUENCES, TARGETS, method, batch_size=1)
    again = explain(model, SEQUENCES, TARGETS, method)
    assert [r.target_position for r in first] == [3, 11, 6]
    for a, b in zip(first, again):
        np.testing.assert_allclose(a.scores, b.scores, atol=1e-12)
        assert a.positions == b.positions


def test_user_errors():
    model = tiny_gpt2()
    with pytest.raises(ValueError, match="unknown explainer 'lime'"):
        explain(model, SEQUENCES, TARGETS, "lime")
    with pytest.raises(ValueError, match="outside 1..11"):
        explain(model, SEQUENCES, [[12], []], "attention")
    with pytest.raises(ValueError, match="sequence 0 is 129 tokens long but the model's context holds 128 tokens"):
        explain(model, [[1] * 129], [[5]], "saliency")


def test_erasure_equals_one_subset_at_a_time(tiny_model):
    ids = SEQUENCES[0]
    got = erasure(tiny_model, [(ids, 9, {8, 2, 5}), (ids, 9, {0}), (ids, 3, {0, 1, 2}), (ids, 3, set())])

    def p(subset, t):  # the reference engine's one-subset forward pass, no padding (fp32 log-softmax)
        (logp,), _ = score_subsets(tiny_model, torch.tensor(ids), [subset], ids[t])
        return np.exp(logp)

    full = p(list(range(9)), 9)
    assert got[0] == pytest.approx((full - p([0, 1, 3, 4, 6, 7], 9), full - p([2, 5, 8], 9)), abs=1e-7)
    assert got[1] == pytest.approx((full - p(list(range(1, 9)), 9), full - p([0], 9)), abs=1e-7)
    assert got[2][0] is None and got[2][1] == pytest.approx(0.0, abs=1e-7)  # R is all: nothing left without it
    assert got[3][1] is None and got[3][0] == pytest.approx(0.0, abs=1e-7)  # R is empty: nothing left alone


def test_explain_tasks_units_sets_and_faithfulness():
    lm = load_model("codeq-tiny", device="cpu", dtype="fp32")
    lm.model.double()  # batched and one-at-a-time runs then agree to 1e-9, whatever the padding
    tasks = read_tasks(PILOT)[:2]
    done = explain_tasks(lm, tasks, ["greedy", "occlusion"], progress=False)
    for before, task in zip(tasks, done):
        assert task.schema_version == SCHEMA_VERSION and task.explainer_names() == ["greedy", "occlusion"]
        greedy, occlusion = task.explanations["greedy"], task.explanations["occlusion"]
        assert greedy.units == before.rationale.units
        ids = [token.id for token in task.tokens]
        (tokens,) = explain(lm, ids, [task.target.token_index], "occlusion")
        assert occlusion.unit_scores == pytest.approx(unit_scores(tokens.scores, task.tokens, task.target.unit_index))
        assert occlusion.units == top_units(occlusion.unit_scores, len(greedy.units), among=task.selectable)
        for e in (greedy, occlusion):
            chosen = {j for j in range(task.target.token_index) if set(e.units) & set(task.tokens[j].units)}
            ((comp, suff),) = erasure(lm.model, [(ids, task.target.token_index, chosen)])
            assert (e.comprehensiveness, e.sufficiency) == pytest.approx((comp, suff), abs=1e-9)
        assert task.explanations["greedy"].sufficiency < 1  # a probability difference


def test_cli_equals_the_function(saved_model, tmp_path):
    path, model = saved_model
    lines = ['{"ids": [5, 9, 2, 7, 7, 3], "targets": [2, 5]}', '{"ids": [4, 4, 8], "targets": [1]}']
    result = CliRunner().invoke(
        main,
        [
            "explain",
            "-m",
            str(path),
            "--method",
            "occlusion",
            "--method",
            "greedy",
            "-o",
            str(tmp_path / "e.jsonl"),
            "-",
        ],
        input="\n".join(lines) + "\n",
    )
    assert result.exit_code == 0, result.output
    records = [json.loads(line) for line in (tmp_path / "e.jsonl").read_text().splitlines()]
    got = [t for record in records for t in record["targets"]]
    assert [t["position"] for t in got] == [2, 5, 1]
    for method in ("occlusion", "greedy"):
        expected = explain(model.eval(), [[5, 9, 2, 7, 7, 3], [4, 4, 8]], [[2, 5], [1]], method)
        for target, r in zip(got, expected):
            assert target["explanations"][method]["scores"] == pytest.approx(r.scores, abs=1e-6)
        assert [t["explanations"][method]["positions"] for t in got] == [r.positions for r in expected]
    bad = CliRunner().invoke(main, ["explain", "-m", str(path), "--method", "lime", "-"], input=lines[0])
    assert bad.exit_code != 0 and "Error: unknown explainer 'lime'" in bad.output and "Traceback" not in bad.output
