"""Compatibility fine-tuning: train any causal LM with word dropout on a folder of source files."""

from __future__ import annotations

from pathlib import Path

from codeq.loading import LoadedModel
from codeq.training import TrainConfig, read_sources, token_blocks, train


def source_files(folder: str | Path, suffixes: tuple[str, ...] = (".py",)) -> list[Path]:
    """Return the files under ``folder`` with one of ``suffixes``, sorted so runs are reproducible."""
    folder = Path(folder)
    if not folder.is_dir():
        raise ValueError(f"data folder {folder} does not exist")
    files = sorted(p for p in folder.rglob("*") if p.is_file() and p.suffix in suffixes)
    if not files:
        raise ValueError(f"{folder} holds no {' or '.join(suffixes)} files")
    return files


def max_positions(model) -> int | None:
    config = model.config
    return getattr(config, "n_positions", None) or getattr(config, "max_position_embeddings", None)


def compat_finetune(lm: LoadedModel, data: str | Path, out: str | Path, cfg: TrainConfig,
                    suffixes: tuple[str, ...] = (".py",)) -> dict:
    """Fine-tune ``lm`` with word dropout on the source files in ``data``; resume from ``out`` if present.

    ``out`` receives periodic checkpoints (``checkpoint.pt``) and, at the end, the model and tokenizer
    in Hugging Face format, loadable with :func:`codeq.load_model`.
    """
    limit = max_positions(lm.model)
    if limit is not None and cfg.block_size > limit:
        raise ValueError(f"block size {cfg.block_size} exceeds the model's {limit} positions")
    blocks = token_blocks(lm.tokenizer, read_sources(source_files(data, suffixes)), cfg.block_size)
    if len(blocks) < 1:
        raise ValueError(f"{data} holds fewer tokens than one block of {cfg.block_size}")
    result = train(lm.model, lm.tokenizer, blocks, out, cfg)
    result.update(blocks=len(blocks), tokens=blocks.numel())
    return result
