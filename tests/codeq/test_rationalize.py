"""The batched engine against the one-target-at-a-time reference, exhaustive search and masked oracles."""

import itertools
from types import SimpleNamespace

import pytest
import torch

from codeq.rationales.reference import rationalize_reference
from codeq.rationales.search import predicted_positions, rationalize, score_last


def _cases(model, greedy):
    """Greedy sequences (targets converge) and a random one (targets mostly do not)."""
    torch.manual_seed(1)
    sequences = [greedy(model, [3, 17], 12), greedy(model, [5], 15), torch.randint(0, 48, (11,)).tolist()]
    targets = [[2, 7, 11], [4, 14, 1], [3, 10]]
    return sequences, targets


def test_matches_reference(tiny_model, greedy):
    sequences, targets = _cases(tiny_model, greedy)
    fast = rationalize(tiny_model, sequences, targets, batch_size=5, max_batch_tokens=23)
    slow = rationalize_reference(tiny_model, sequences, targets)
    assert fast == slow
    assert {r.converged for r in fast} == {True, False}  # both branches exercised
    assert [r.sequence_index for r in fast] == [0, 0, 0, 1, 1, 1, 2, 2]


def test_chunking_does_not_change_rationales(tiny_model, greedy):
    sequences, targets = _cases(tiny_model, greedy)
    one_pass = rationalize(tiny_model, sequences, targets, max_steps=4)
    tiny_chunks = rationalize(tiny_model, sequences, targets, max_steps=4, batch_size=2, max_batch_tokens=5)
    assert one_pass == tiny_chunks


def test_single_sequence_as_list_or_tensor(tiny_model, greedy):
    ids = greedy(tiny_model, [7, 2], 10)
    from_list = rationalize(tiny_model, ids, [5, 9])
    from_tensor = rationalize(tiny_model, torch.tensor(ids), [5, 9])
    assert from_list == from_tensor == rationalize_reference(tiny_model, [ids], [[5, 9]])
    assert [r.target_id for r in from_list] == [ids[5], ids[9]]
    assert all(r.positions[0] == r.target_position - 1 for r in from_list)


def test_left_padding_keeps_logits(tiny_model):
    rows = [[1, 4, 6, 9], [8, 9], [0, 2, 3, 5, 7, 9]]
    ids = torch.randint(0, 48, (10,), generator=torch.Generator().manual_seed(3))
    width = max(map(len, rows))
    padded = torch.full((3, width), 0)
    positions = torch.zeros((3, width), dtype=torch.long)
    mask = torch.zeros((3, width), dtype=torch.long)
    for r, row in enumerate(rows):
        padded[r, width - len(row) :] = ids[row]
        positions[r, width - len(row) :] = torch.tensor(row)
        mask[r, width - len(row) :] = 1
    target = torch.full((3,), 11)
    scores = score_last(tiny_model, padded, positions, mask, target)
    for r, row in enumerate(rows):
        pos = torch.tensor([row])
        logits = tiny_model(
            input_ids=ids[row][None], position_ids=pos, attention_mask=torch.ones_like(pos), use_cache=False
        ).logits[0, -1]
        assert scores.logp[r].item() == pytest.approx(logits.log_softmax(-1)[11].item(), abs=1e-6)  # fp32 log-softmax
        assert scores.top[r].item() == logits.argmax().item()
        first, second = logits.sort(descending=True).values[:2]
        assert scores.gap[r].item() == pytest.approx((first - second).item(), abs=1e-6)
        assert scores.scale[r].item() == pytest.approx(logits.abs().max().item(), abs=1e-6)


class AdditiveModel(torch.nn.Module):
    """A causal "LM" whose target logit is the summed weight of the visible tokens.

    Weight of token x at position i is ``weight[x] * scale[i]``; a rival token has a fixed logit
    ``threshold``. p(target | S) grows with the sum over S, so adding the heaviest position is
    always best and greedy search finds a minimal subset: a case where greedy is provably optimal.
    """

    def __init__(self, weight, scale, target, rival, threshold):
        super().__init__()
        self.weight = torch.nn.Parameter(weight, requires_grad=False)
        self.scale, self.target, self.rival, self.threshold = scale, target, rival, threshold

    def forward(self, input_ids, position_ids, attention_mask, use_cache=False, logits_to_keep=0):
        visible = self.weight[input_ids] * self.scale[position_ids] * attention_mask  # (B, T)
        logits = torch.full((*input_ids.shape, len(self.weight)), -50.0)
        logits[..., self.target] = visible.cumsum(-1)
        logits[..., self.rival] = self.threshold
        return SimpleNamespace(logits=logits[:, -logits_to_keep:])


def _minimal_size(weights: list[float], t: int, threshold: float) -> int:
    """Fewest positions besides t-1 whose weights push the target above the rival, by brute force."""
    for size in range(t):
        for subset in itertools.combinations(range(t - 1), size):
            if weights[t - 1] + sum(weights[j] for j in subset) > threshold:
                return size
    return t  # never reached


@pytest.mark.parametrize("seed", range(6))
def test_equals_exhaustive_search_where_greedy_is_optimal(seed):
    gen = torch.Generator().manual_seed(seed)
    vocab, t = 12, 9
    ids = torch.randint(1, vocab, (t + 1,), generator=gen)
    ids[t] = 0  # the target token
    weight = torch.rand(vocab, generator=gen)
    weight[0] = 100.0  # the padding id: leaking padding into the sum would converge at once
    scale = 1 + torch.rand(64, generator=gen)
    weights = [float(weight[ids[i]] * scale[i]) for i in range(t)]
    threshold = weights[t - 1] + sorted(weights[:-1])[-3] + sorted(weights[:-1])[-2] - 1e-3  # 2 or 3 needed
    model = AdditiveModel(weight, scale, target=0, rival=1, threshold=threshold)
    (r,) = rationalize(model, ids, [t])
    assert r.converged
    assert len(r.positions) - 1 == _minimal_size(weights, t, threshold)
    assert r.positions[1:] == sorted(range(t - 1), key=lambda j: -weights[j])[: len(r.positions) - 1]
    assert [r] == rationalize_reference(model, [ids], [[t]])


def test_ties_go_to_the_lowest_position():
    ids = torch.tensor([2, 5, 3, 5, 5, 4, 0])  # token 5 at positions 1, 3, 4 weighs the most
    weight = torch.tensor([0.0, 0.0, 0.1, 0.2, 0.3, 1.0])
    model = AdditiveModel(weight, torch.ones(16), target=0, rival=1, threshold=2.5)
    (r,) = rationalize(model, ids, [6])
    assert r.positions == [5, 1, 3, 4]
    assert [r] == rationalize_reference(model, [ids], [[6]])


def _masked_full_probability(model, ids, subset, t):
    """p(x_t | x_S) from the full sequence with a 4-D mask hiding every position outside S."""
    n = t
    keep = torch.zeros(n, dtype=torch.bool)
    keep[subset] = True
    allowed = torch.tril(torch.ones(n, n, dtype=torch.bool)) & (keep[None] | torch.eye(n, dtype=torch.bool))
    logits = model(input_ids=ids[None, :n], attention_mask=allowed[None, None], use_cache=False).logits[0, -1]
    return logits.float().softmax(-1)[ids[t]].item()


def test_position_id_gaps_need_the_mask(tiny_model):
    """Regression: without a mask, transformers reads position-id gaps as packed-sequence boundaries."""
    ids = torch.randint(0, 48, (12,), generator=torch.Generator().manual_seed(5))
    subset = [2, 6, 10]
    truth = _masked_full_probability(tiny_model, ids, subset, 11)
    pos = torch.tensor([subset])
    no_mask = tiny_model(input_ids=ids[subset][None], position_ids=pos, use_cache=False).logits[0, -1]
    assert no_mask.softmax(-1)[ids[11]].item() != pytest.approx(truth, abs=1e-6)  # the trap is real
    (r,) = rationalize(tiny_model, ids, [11], max_steps=3)
    assert len(r.positions) == 4
    assert r.probabilities[0] == pytest.approx(_masked_full_probability(tiny_model, ids, [10], 11), rel=1e-6)
    for step in range(1, 4):  # each addition is the best one under the masked-full-sequence oracle
        before = r.positions[:step]
        best = max(_masked_full_probability(tiny_model, ids, before + [j], 11) for j in range(11) if j not in before)
        assert r.probabilities[step] == pytest.approx(best, rel=1e-6)  # the engine works in fp32


def test_non_converged_targets_are_flagged_not_dropped(tiny_model):
    ids = torch.randint(0, 48, (14,), generator=torch.Generator().manual_seed(8)).tolist()
    targets = [3, 8, 13]
    capped = rationalize(tiny_model, ids, targets, max_steps=2)
    assert [r.target_position for r in capped] == targets
    for r in capped:
        assert r.converged == (r.top_prediction == r.target_id)
        assert len(r.positions) <= 3 and len(r.probabilities) == len(r.positions)
    assert not all(r.converged for r in capped)
    for r in rationalize(tiny_model, ids, targets):
        if not r.converged:
            assert sorted(r.positions) == list(range(r.target_position))  # searched the whole prefix


@pytest.mark.parametrize("targets", [[0], [14], [-1]])
def test_targets_outside_the_sequence_are_rejected(targets):
    model = AdditiveModel(torch.ones(4), torch.ones(16), target=0, rival=1, threshold=0.0)
    with pytest.raises(ValueError, match="outside 1..13"):
        rationalize(model, list(range(14)), targets)


def test_cli_rationalize_writes_what_the_function_returns(saved_model, tmp_path):
    import json
    from dataclasses import asdict

    from click.testing import CliRunner

    from codeq.cli import main

    path, model = saved_model
    lines = [json.dumps({"ids": [5, 9, 2, 7, 7, 3], "targets": [2, 5]}), json.dumps({"ids": [4, 4, 8], "targets": [1]})]
    result = CliRunner().invoke(
        main,
        ["rationalize", "-m", str(path), "--max-steps", "2", "-o", str(tmp_path / "r.jsonl"), "-"],
        input="\n".join(lines) + "\n",
    )
    assert result.exit_code == 0, result.output
    records = [json.loads(line) for line in (tmp_path / "r.jsonl").read_text().splitlines()]
    expected = rationalize(model.eval(), [[5, 9, 2, 7, 7, 3], [4, 4, 8]], [[2, 5], [1]], max_steps=2)
    assert [r for record in records for r in record["rationales"]] == [asdict(r) for r in expected]
    bad = CliRunner().invoke(main, ["rationalize", "-m", str(path), "-"], input='{"ids": [1, 2]}\nnot json\n')
    assert bad.exit_code != 0 and "Error: input line 2: not JSON" in bad.output
    empty = CliRunner().invoke(main, ["rationalize", "-m", str(path), "-"], input='{"ids": [1, 2]}\n{"text": ""}\n')
    assert empty.exit_code != 0 and "Error: input line 2: the sequence is empty" in empty.output
    assert "Traceback" not in empty.output
    assert predicted_positions(model, []) == predicted_positions(model, [7]) == []  # nothing has a context


def test_sequences_longer_than_the_context_are_one_line_errors(tiny_model):
    from codeq.model.loading import SequenceTooLongError

    ids = [1] * 129  # both tiny models read 128 positions
    with pytest.raises(
        SequenceTooLongError, match=r"^sequence 1 is 129 tokens long but the model's context holds 128 tokens$"
    ):
        rationalize(tiny_model, [[1, 2, 3], ids], [[2], [5]])
    with pytest.raises(SequenceTooLongError, match="129 tokens long .* 128 tokens"):
        predicted_positions(tiny_model, ids)
