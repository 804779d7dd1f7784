"""Randomly initialised causal LMs (GPT-2, and Llama with RoPE and grouped-query attention), seeded.

The engine's tests use the tiny ones (a 48-token vocabulary, 2 layers) and :func:`build` for a model
of their own shape; the benchmarks use ``random_model`` at the sizes of ``SIZES``. Weights depend only on the seed, so every caller gets
the same model.
"""

from __future__ import annotations

import torch
from transformers import GPT2Config, GPT2LMHeadModel, LlamaConfig, LlamaForCausalLM

TINY_VOCAB = 48

SIZES = {  # (layers, width, heads, vocabulary)
    "tiny": (4, 192, 6, 8192),  # codeq-tiny's shape
    "codeparrot-small": (12, 768, 12, 32768),
}
ARCHITECTURES = ("gpt2", "llama")


def build(
    arch: str,
    layers: int,
    width: int,
    heads: int,
    vocab: int,
    context: int,
    intermediate: int | None = None,
    kv_heads: int | None = None,
    bos_eos_zero: bool = False,
    pad_zero: bool = False,
    tie_embeddings: bool | None = None,
):
    """A random ``arch`` ("gpt2" or "llama") model in eval mode, fp32, dropout off, seed 0.

    Llama only: ``intermediate`` (default twice the width) and ``kv_heads`` (default half the heads)
    size the MLP and the grouped-query attention, and ``pad_zero`` makes token 0 the padding token,
    whose embedding row starts at zero. ``bos_eos_zero``: token 0 is BOS and EOS.
    ``tie_embeddings``: the output layer shares the input embedding (None: the architecture's
    default, tied for GPT-2, not for Llama).
    """
    if arch not in ARCHITECTURES:
        raise ValueError(f"architecture {arch!r}: one of {', '.join(ARCHITECTURES)}")
    torch.manual_seed(0)
    specials = {"bos_token_id": 0, "eos_token_id": 0} if bos_eos_zero else {}
    if tie_embeddings is not None:
        specials["tie_word_embeddings"] = tie_embeddings
    if arch == "gpt2":
        config = GPT2Config(
            vocab_size=vocab,
            n_positions=context,
            n_embd=width,
            n_layer=layers,
            n_head=heads,
            resid_pdrop=0.0,
            embd_pdrop=0.0,
            attn_pdrop=0.0,
            **specials,
        )
        return GPT2LMHeadModel(config).eval()
    config = LlamaConfig(
        vocab_size=vocab,
        hidden_size=width,
        intermediate_size=intermediate or 2 * width,
        num_hidden_layers=layers,
        num_attention_heads=heads,
        num_key_value_heads=kv_heads or heads // 2,
        max_position_embeddings=context,
        **specials,
        **({"pad_token_id": 0} if pad_zero else {}),
    )
    return LlamaForCausalLM(config).eval()


def tiny_gpt2(dtype=torch.float64):
    """A 2-layer GPT-2, 32 wide, of ``TINY_VOCAB`` tokens (float64 by default: batching cannot flip near-ties)."""
    return build("gpt2", layers=2, width=32, heads=2, vocab=TINY_VOCAB, context=128, bos_eos_zero=True).to(dtype)


def tiny_llama(dtype=torch.float64):
    """A 2-layer Llama, 32 wide, 4 query and 2 key-value heads, of ``TINY_VOCAB`` tokens."""
    model = build("llama", layers=2, width=32, heads=4, vocab=TINY_VOCAB, context=128, bos_eos_zero=True, pad_zero=True)
    return model.to(dtype)


def random_model(arch: str, size: str, vocab: int, device="cpu", dtype: torch.dtype = torch.float32):
    """A random ``arch`` model of one of ``SIZES``, its vocabulary at least ``vocab`` (a tokenizer's length).

    The Llama has an MLP 8/3 as wide as the model and three query heads per key-value head.
    """
    layers, width, heads, size_vocab = SIZES[size]
    model = build(
        arch,
        layers,
        width,
        heads,
        max(size_vocab, vocab),
        context=1024,
        intermediate=width * 8 // 3,
        kv_heads=heads // 3,
    )
    return model.to(device, dtype)
