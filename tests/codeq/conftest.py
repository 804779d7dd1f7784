"""Tiny random causal LMs (GPT-2 and Llama-style RoPE) for engine tests."""

import pytest
import torch
from transformers import GPT2Config, GPT2LMHeadModel, LlamaConfig, LlamaForCausalLM

VOCAB = 48


def tiny_gpt2(dtype=torch.float64):
    torch.manual_seed(0)
    config = GPT2Config(vocab_size=VOCAB, n_positions=128, n_embd=32, n_layer=2, n_head=2,
                        bos_token_id=0, eos_token_id=0, resid_pdrop=0.0, embd_pdrop=0.0, attn_pdrop=0.0)
    return GPT2LMHeadModel(config).eval().to(dtype)


def tiny_llama(dtype=torch.float64):
    torch.manual_seed(0)
    config = LlamaConfig(vocab_size=VOCAB, hidden_size=32, intermediate_size=64, num_hidden_layers=2,
                         num_attention_heads=4, num_key_value_heads=2, max_position_embeddings=128,
                         bos_token_id=0, eos_token_id=0, pad_token_id=0)
    return LlamaForCausalLM(config).eval().to(dtype)


MODELS = {"gpt2": tiny_gpt2, "llama": tiny_llama}


@pytest.fixture(autouse=True)
def _one_thread():
    torch.set_num_threads(1)


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
    from codeq.tiny import train_tokenizer

    return train_tokenizer([CODE] * 20, vocab_size=300)


@pytest.fixture
def saved_model(tmp_path, byte_tokenizer):
    """A tiny random GPT-2 with the byte tokenizer saved as a Hugging Face folder: (path, model)."""
    torch.manual_seed(0)
    model = GPT2LMHeadModel(GPT2Config(vocab_size=len(byte_tokenizer), n_positions=64, n_embd=16, n_layer=1,
                                       n_head=2, bos_token_id=0, eos_token_id=0))
    model.save_pretrained(tmp_path / "m")
    byte_tokenizer.save_pretrained(tmp_path / "m")
    return tmp_path / "m", model
