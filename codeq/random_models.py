"""Randomly initialised causal LMs of named sizes, for timing and precision measurements.

Random weights give the arithmetic of a model of that shape (its speed, its rounding) without a
download; their predictions mean nothing.
"""

from __future__ import annotations

import torch
from transformers import GPT2Config, GPT2LMHeadModel, LlamaConfig, LlamaForCausalLM

SIZES = {  # (layers, width, heads, vocabulary)
    "tiny": (4, 192, 6, 8192),  # the bundled codeq-tiny's shape
    "codeparrot-small": (12, 768, 12, 32768),
}
ARCHITECTURES = ("gpt2", "llama")


def random_model(arch: str, size: str, tokenizer, device="cpu", dtype: torch.dtype = torch.float32) -> torch.nn.Module:
    """A GPT-2 or a Llama (RoPE, grouped-query attention) of one of ``SIZES``, seeded, in eval mode.

    Its vocabulary is the size's or ``tokenizer``'s, whichever is larger, so that tokenizer's ids fit.
    """

    layers, width, heads, vocab = SIZES[size]
    vocab = max(vocab, len(tokenizer))
    torch.manual_seed(0)
    if arch == "gpt2":
        model = GPT2LMHeadModel(
            GPT2Config(vocab_size=vocab, n_positions=1024, n_embd=width, n_layer=layers, n_head=heads)
        )
    elif arch == "llama":
        model = LlamaForCausalLM(
            LlamaConfig(
                vocab_size=vocab,
                hidden_size=width,
                intermediate_size=width * 8 // 3,
                num_hidden_layers=layers,
                num_attention_heads=heads,
                num_key_value_heads=heads // 3,
                max_position_embeddings=1024,
            )
        )
    else:
        raise ValueError(f"architecture {arch!r}: one of {', '.join(ARCHITECTURES)}")
    return model.to(device, dtype).eval()
