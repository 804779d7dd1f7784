"""codeq-tiny: a small GPT-2 code model trained with word dropout on the local Python stdlib.

    codeq train-tiny --out codeq/models/codeq-tiny --steps 1500

Everything comes from the machine it runs on (the standard library source), so the project runs
offline. The modules in ``HELDOUT_MODULES`` are never trained on: studies draw snippets from them.
"""

from __future__ import annotations

import json
import sysconfig
from pathlib import Path

import torch
from tokenizers import ByteLevelBPETokenizer
from transformers import GPT2Config, GPT2LMHeadModel, GPT2TokenizerFast

from codeq.training import TrainConfig, read_sources, token_blocks, train

# Modules studies draw snippets from; kept out of training so completions are not memorised.
HELDOUT_MODULES = (
    "textwrap", "json", "csv", "statistics", "fractions", "heapq", "bisect", "shlex",
    "glob", "fnmatch", "calendar", "colorsys", "string", "queue", "sched", "graphlib",
)
EXCLUDED_DIRS = {"site-packages", "test", "tests", "idlelib", "lib2to3", "turtledemo", "__pycache__"}
EOS = "<|endoftext|>"


def stdlib_root() -> Path:
    return Path(sysconfig.get_paths()["stdlib"])


def is_heldout(path: Path, root: Path) -> bool:
    top = path.relative_to(root).parts[0]
    return top.removesuffix(".py") in HELDOUT_MODULES


def stdlib_files(root: Path | None = None) -> tuple[list[Path], list[Path]]:
    """Return (training files, held-out files) of the standard library, sorted for determinism."""
    root = root or stdlib_root()
    train_files, heldout = [], []
    for path in sorted(root.rglob("*.py")):
        rel = path.relative_to(root).parts
        if EXCLUDED_DIRS.intersection(rel[:-1]):
            continue
        (heldout if is_heldout(path, root) else train_files).append(path)
    return train_files, heldout


def train_tokenizer(texts: list[str], vocab_size: int) -> GPT2TokenizerFast:
    """Byte-level BPE (as GPT-2 and codeparrot use), so offsets map back to characters exactly."""
    bpe = ByteLevelBPETokenizer(add_prefix_space=False, trim_offsets=False)
    bpe.train_from_iterator(texts, vocab_size=vocab_size, min_frequency=2, special_tokens=[EOS])
    return GPT2TokenizerFast(tokenizer_object=bpe._tokenizer, bos_token=EOS, eos_token=EOS,
                             unk_token=EOS, add_prefix_space=False)


def tiny_config(vocab_size: int) -> GPT2Config:
    # 4 layers x 192 wide: ~3.5M parameters, the size 2 CPU cores train in about an hour.
    return GPT2Config(vocab_size=vocab_size, n_positions=512, n_embd=192, n_layer=4, n_head=6,
                      bos_token_id=0, eos_token_id=0, tie_word_embeddings=True)


def train_tiny(out: Path, steps: int = 1500, vocab_size: int = 8192, seed: int = 0, batch_size: int = 8,
               block_size: int = 512, device: str = "cpu", stdlib: Path | None = None) -> dict:
    """Build tokenizer and model from the stdlib (this interpreter's, or the copy at ``stdlib``),
    train with word dropout on ``device``, save to ``out``."""
    torch.manual_seed(seed)
    torch.backends.cuda.matmul.allow_tf32 = True  # a CUDA run would otherwise be fp32-bound for no gain
    out = Path(out)
    train_files, heldout_files = stdlib_files(stdlib)
    texts = read_sources(train_files)
    if (out / "tokenizer.json").exists():  # resuming: the vocabulary must not change
        tokenizer = GPT2TokenizerFast.from_pretrained(out)
    else:
        tokenizer = train_tokenizer(texts, vocab_size)
        tokenizer.save_pretrained(out)
    model = GPT2LMHeadModel(tiny_config(len(tokenizer))).to(device)
    cfg = TrainConfig(steps=steps, batch_size=batch_size, block_size=block_size, seed=seed)
    blocks = token_blocks(tokenizer, texts, block_size)
    eval_blocks = token_blocks(tokenizer, read_sources(heldout_files), block_size)
    result = train(model, tokenizer, blocks, out, cfg, eval_blocks=eval_blocks)
    result.update(train_files=len(train_files), train_tokens=blocks.numel(),
                  heldout_modules=list(HELDOUT_MODULES), heldout_tokens=eval_blocks.numel(),
                  parameters=sum(p.numel() for p in model.parameters()), device=str(device))
    (out / "training.json").write_text(json.dumps(result, indent=2) + "\n")
    return result
