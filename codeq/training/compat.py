"""Compatibility fine-tuning: train any causal LM with word dropout on a folder of source files."""

from __future__ import annotations

from pathlib import Path

from codeq.model.loading import LoadedModel, context_length
from codeq.source.snippets import source_files
from codeq.training.loop import TrainConfig, read_sources, token_blocks, train
from contract.errors import UserError


def compat_finetune(
    lm: LoadedModel, data: str | Path, out: str | Path, cfg: TrainConfig, suffixes: tuple[str, ...] = (".py",)
) -> dict:
    """Fine-tune ``lm`` with word dropout on the source files in ``data``; resume from ``out`` if present.

    ``out`` receives periodic checkpoints (``checkpoint.pt``) and, at the end, the model and tokenizer
    in Hugging Face format, loadable with :func:`codeq.load_model`.
    """
    limit = context_length(lm)
    if limit is not None and cfg.block_size > limit:
        raise UserError(f"block size {cfg.block_size} exceeds the model's {limit} positions")
    blocks = token_blocks(lm.tokenizer, read_sources(source_files([Path(data)], suffixes=suffixes)), cfg.block_size)
    if len(blocks) < 1:
        raise UserError(f"{data} holds fewer tokens than one block of {cfg.block_size}")
    result = train(lm.model, lm.tokenizer, blocks, out, cfg)
    result.update(blocks=len(blocks), tokens=blocks.numel())
    return result
