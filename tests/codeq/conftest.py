"""Tiny random causal LMs (GPT-2 and Llama-style RoPE) for engine tests."""

import os

import pytest
import torch

from codeq.model.random_models import build, tiny_gpt2, tiny_llama

MODELS = {"gpt2": tiny_gpt2, "llama": tiny_llama}


@pytest.fixture(autouse=True)
def _threads():
    """One torch thread (the machine is shared); CODEQ_TEST_THREADS=2 checks that results hold with others."""
    torch.set_num_threads(int(os.environ.get("CODEQ_TEST_THREADS", "1")))


@pytest.fixture(params=sorted(MODELS))
def tiny_model(request):
    """A tiny random model in float64, so batching cannot flip near-ties through rounding."""
    return MODELS[request.param]()


@pytest.fixture
def greedy():
    """Return a function extending a start greedily: every later token is the model's own prediction."""

    def extend(model, start: list[int], length: int) -> list[int]:
        ids = list(start)
        with torch.inference_mode():
            while len(ids) < length:
                ids.append(int(model(input_ids=torch.tensor([ids])).logits[0, -1].argmax()))
        return ids

    return extend


CODE = '''def add(a, b):
    """Return the sum."""
    return a + b


class Stack:
    def __init__(self):
        self.items = []

    def push(self, item):
        self.items.append(item)
        return item
'''


@pytest.fixture(scope="session")
def byte_tokenizer():
    """A small byte-level BPE tokenizer (as codeq-tiny's), trained here so tests need no files."""
    from codeq.training.tiny import train_tokenizer

    return train_tokenizer([CODE] * 20, vocab_size=300)


@pytest.fixture
def saved_model(tmp_path, byte_tokenizer):
    """A tiny random GPT-2 with the byte tokenizer saved as a Hugging Face folder: (path, model)."""
    model = build("gpt2", layers=1, width=16, heads=2, vocab=len(byte_tokenizer), context=64, bos_eos_zero=True)
    model.save_pretrained(tmp_path / "m")
    byte_tokenizer.save_pretrained(tmp_path / "m")
    return tmp_path / "m", model
