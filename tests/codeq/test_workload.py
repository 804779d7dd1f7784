"""The benchmarks' shared inputs: held-out functions, spaced targets, seeded random models."""

from __future__ import annotations

import ast

import pytest
import torch

from codeq.model.random_models import SIZES, random_model
from codeq.training.loop import read_sources
from codeq.training.tiny_corpus import stdlib_files
from codeq.training.workload import heldout_functions, pick_targets


def test_pick_targets_spaces_predicted_positions_and_tops_up():
    assert pick_targets([2, 5, 7, 9, 11], 12, 3, top_up=False) == [2, 7, 11]  # indices 0, 2, 4 of 5
    assert pick_targets([2, 5, 7, 9, 11], 12, 1, top_up=False) == [2]
    assert pick_targets([3], 8, 3, top_up=True) == [3, 6, 7]  # the last positions that are not 3
    assert pick_targets([3], 8, 3, top_up=False) == [3]


def test_heldout_functions_are_whole_functions_of_the_heldout_modules():
    sources = heldout_functions(4, min_lines=6)
    texts = read_sources(stdlib_files()[1])
    assert len(sources) == 4 and len(set(sources)) == 4
    for source in sources:
        (node,) = ast.parse(source).body
        assert isinstance(node, ast.FunctionDef) and node.end_lineno - node.lineno + 1 >= 6
    owners = [next(i for i, text in enumerate(texts) if source in text) for source in sources]
    assert owners[0] != owners[1]  # round robin: each module's first function before any second one


@pytest.mark.parametrize("arch", ["gpt2", "llama"])
def test_random_models_have_their_size_and_are_seeded(arch):
    layers, width, heads, vocab = SIZES["tiny"]
    model = random_model(arch, "tiny", 100, "cpu", torch.float32)
    assert (model.config.num_hidden_layers, model.config.hidden_size, model.config.num_attention_heads) == (
        layers,
        width,
        heads,
    )
    assert model.config.vocab_size == vocab and not model.training
    again = random_model(arch, "tiny", vocab + 5, "cpu", torch.bfloat16)
    assert again.config.vocab_size == vocab + 5  # the tokenizer's ids must fit
    assert next(again.parameters()).dtype == torch.bfloat16
    first = next(model.parameters())
    assert torch.equal(next(random_model(arch, "tiny", 100).parameters()), first)  # seeded


def test_an_unknown_architecture_is_named():
    with pytest.raises(ValueError, match="architecture 'rnn': one of gpt2, llama"):
        random_model("rnn", "tiny", 10)
