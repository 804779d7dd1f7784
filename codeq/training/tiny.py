"""codeq-tiny: a small GPT-2 code model trained with word dropout on permissively licensed local Python.

    codeq tiny-corpus --out runs/tiny-corpus.jsonl.xz         # this machine's stdlib + site-packages
    codeq train-tiny --corpus runs/tiny-corpus.jsonl.xz --device cuda --max-minutes 6

Everything comes from the machine the corpus is built on (``codeq.training.tiny_corpus``), so the project
runs offline. The modules in ``HELDOUT_MODULES`` are never trained on: studies draw snippets from
them, and the held-out loss is measured on them. Weights are saved in bf16 (half the bytes; they
load in fp32 on a CPU).
"""

from __future__ import annotations

import json
import random
from dataclasses import asdict, dataclass
from pathlib import Path

import torch
from tokenizers import ByteLevelBPETokenizer
from transformers import GPT2Config, GPT2LMHeadModel, GPT2TokenizerFast

from codeq.training.loop import TrainConfig, token_blocks, train
from codeq.training.tiny_corpus import (  # noqa: F401
    HELDOUT_MODULES,
    Corpus,
    build_corpus,
    stdlib_files,
    stdlib_root,
)

# stdlib_files and stdlib_root stay importable from here: the benchmarks and tests pick held-out files with them
from contract.errors import UserError

EOS = "<|endoftext|>"
MAX_SAVED_MB = 60


@dataclass(frozen=True)
class TinySize:
    """The shape of codeq-tiny. The default, 8 layers x 384 wide with a 16k vocabulary, has 20.7M
    parameters (41 MB in bf16): sized for a corpus of about 80M tokens and a few GPU minutes.
    ``--layers 6 --width 512 --heads 8`` (27.6M parameters, 55 MB) is the largest that stays under
    60 MB; ``--layers 4 --width 192 --heads 6 --vocab-size 8192`` is the earlier 3.45M model."""

    layers: int = 8
    width: int = 384
    heads: int = 6
    vocab_size: int = 16384
    context: int = 512


def train_tokenizer(texts: list[str], vocab_size: int) -> GPT2TokenizerFast:
    """Byte-level BPE (as GPT-2 and codeparrot use), so offsets map back to characters exactly."""
    bpe = ByteLevelBPETokenizer(add_prefix_space=False, trim_offsets=False)
    bpe.train_from_iterator(texts, vocab_size=vocab_size, min_frequency=2, special_tokens=[EOS])
    return GPT2TokenizerFast(
        tokenizer_object=bpe._tokenizer, bos_token=EOS, eos_token=EOS, unk_token=EOS, add_prefix_space=False
    )


def tiny_config(vocab_size: int, size: TinySize = TinySize()) -> GPT2Config:
    if size.width % size.heads:
        raise UserError(f"width {size.width} is not a multiple of heads {size.heads}")
    return GPT2Config(
        vocab_size=vocab_size,
        n_positions=size.context,
        n_embd=size.width,
        n_layer=size.layers,
        n_head=size.heads,
        bos_token_id=0,
        eos_token_id=0,
        tie_word_embeddings=True,
    )


def parameter_count(size: TinySize) -> int:
    """Parameters of a model of ``size`` (built on the meta device: no memory, no time)."""
    with torch.device("meta"):
        model = GPT2LMHeadModel(tiny_config(size.vocab_size, size))
    return sum(p.numel() for p in model.parameters())


def tokenizer_sample(texts: list[str], megabytes: float, seed: int) -> list[str]:
    """A seeded sample of whole files, about ``megabytes`` of UTF-8, for training the tokenizer
    (its merges settle long before the whole corpus is read)."""
    order = list(range(len(texts)))
    random.Random(seed).shuffle(order)
    sample, size = [], 0
    for i in order:
        if size >= megabytes * 1e6:
            break
        sample.append(texts[i])
        size += len(texts[i].encode("utf-8"))
    return sample


def train_tiny(
    out: Path,
    corpus: Corpus | None = None,
    size: TinySize = TinySize(),
    cfg: TrainConfig | None = None,
    tokenizer_mb: float = 64,
    device: str = "cpu",
) -> dict:
    """Build tokenizer and model from ``corpus`` (default: built from this machine), train with word
    dropout on ``device``, save to ``out`` in bf16 with ``training.json`` (settings, held-out curve,
    corpus manifest with every package's licence)."""
    cfg = cfg or TrainConfig(save_dtype="bf16")
    megabytes = parameter_count(size) * {"fp32": 4, "bf16": 2, "fp16": 2}[cfg.save_dtype] / 1e6
    if megabytes > MAX_SAVED_MB:
        raise UserError(
            f"a model of {asdict(size)} takes {megabytes:.0f} MB in {cfg.save_dtype}, "
            f"over the {MAX_SAVED_MB} MB a bundled model may take: make it smaller"
        )
    torch.manual_seed(cfg.seed)
    torch.backends.cuda.matmul.allow_tf32 = True  # a CUDA run would otherwise be fp32-bound for no gain
    out = Path(out)
    corpus = corpus or build_corpus()
    texts = [f.text for f in corpus.train]
    if (out / "tokenizer.json").exists():  # resuming: the vocabulary must not change
        tokenizer = GPT2TokenizerFast.from_pretrained(out)
    else:
        tokenizer = train_tokenizer(tokenizer_sample(texts, tokenizer_mb, cfg.seed), size.vocab_size)
        tokenizer.save_pretrained(out)
    model = GPT2LMHeadModel(tiny_config(len(tokenizer), size)).to(device)
    blocks = token_blocks(tokenizer, texts, cfg.block_size)
    eval_blocks = token_blocks(tokenizer, [f.text for f in corpus.heldout], cfg.block_size)
    result = train(model, tokenizer, blocks, out, cfg, eval_blocks=eval_blocks)
    result.update(
        size=asdict(size),
        train_files=len(texts),
        train_tokens=blocks.numel(),
        heldout_modules=list(HELDOUT_MODULES),
        heldout_tokens=eval_blocks.numel(),
        parameters=sum(p.numel() for p in model.parameters()),
        device=str(device),
        tokenizer_mb=tokenizer_mb,
        corpus={**corpus.summary(), **corpus.manifest},
    )
    (out / "training.json").write_text(json.dumps(result, indent=2) + "\n")
    return result
