"""Compatibility training with word dropout (Vafa et al., 2021), for any causal LM.

A model is *compatible* when its predictions from a context subset are meaningful. Training with
word dropout makes it so: with probability ``p`` per batch, each sequence keeps a random subset of
its tokens visible (keep rate drawn uniformly per sequence) and hides the rest from attention.
Every position still sees itself, as in a rationale search where S always holds t-1, and the loss
covers all positions.

On CUDA the forward and backward passes run under bf16 autocast (the weights and optimizer stay fp32);
the held-out loss is always computed in fp32. With ``max_minutes`` the run stops when its time is up
and the learning-rate schedule follows the elapsed share of that time (or of the steps, whichever is
further), so a run of unknown speed still ends with a decayed learning rate; such a run is not
reproducible step for step.
"""

from __future__ import annotations

import math
import time
from dataclasses import asdict, dataclass
from functools import lru_cache
from pathlib import Path

import numpy as np
import torch
from tqdm.auto import tqdm

from contract.errors import UserError

SAVE_DTYPES = {"fp32": torch.float32, "bf16": torch.bfloat16, "fp16": torch.float16}


@dataclass
class TrainConfig:
    steps: int = 1000
    batch_size: int = 8
    block_size: int = 512
    lr: float = 3e-3  # small models tolerate a high peak rate; finetuning passes a lower one
    min_lr_ratio: float = 0.1
    warmup: int = 50
    weight_decay: float = 0.1
    word_dropout: float = 0.5  # Vafa et al. apply dropout on half the batches
    checkpoint_every: int = 100
    seed: int = 0
    max_minutes: float | None = None  # wall-clock budget of this run (see the module docstring)
    save_dtype: str = "fp32"  # fp32, bf16 or fp16: the dtype of the saved weights


def word_dropout_mask(batch_size: int, length: int, generator: torch.Generator, device=None) -> torch.Tensor:
    """Return a (B, 1, T, T) boolean attention mask on ``device`` that hides a random token subset per
    sequence. The draws come from the CPU ``generator`` (reproducible); the mask is built on ``device``."""
    rate = torch.rand(batch_size, 1, generator=generator)  # (B, 1) keep rate per sequence
    keep = (torch.rand(batch_size, length, generator=generator) < rate).to(device)  # (B, T)
    causal = torch.tril(torch.ones(length, length, dtype=torch.bool, device=device))  # (T, T)
    eye = torch.eye(length, dtype=torch.bool, device=device)
    allowed = causal & (keep[:, None, :] | eye)  # (B, T, T): query i sees kept j <= i and itself
    return allowed[:, None]


def read_sources(paths) -> list[str]:
    """Read UTF-8 source files, skipping unreadable ones."""
    texts = []
    for p in paths:
        try:
            texts.append(p.read_text(encoding="utf-8"))
        except (UnicodeDecodeError, OSError):
            continue
    return texts


def token_blocks(tokenizer, texts, block_size: int, chunk: int = 256) -> torch.Tensor:
    """Tokenize texts, join them with EOS (where the tokenizer has one) and cut the stream into (N, block_size) blocks.

    Texts are encoded ``chunk`` at a time (a fast tokenizer encodes a batch on all cores)."""
    separator = [] if tokenizer.eos_token_id is None else [tokenizer.eos_token_id]
    texts = list(texts)
    parts = []
    with tqdm(total=len(texts), desc="tokenizing", unit="file", leave=False, disable=None) as bar:
        for i in range(0, len(texts), chunk):
            for ids in tokenizer(texts[i : i + chunk])["input_ids"]:
                parts.append(np.asarray(ids + separator, dtype=np.int64))
            bar.update(len(texts[i : i + chunk]))
    ids = np.concatenate(parts) if parts else np.zeros(0, dtype=np.int64)
    n = len(ids) // block_size
    return torch.from_numpy(ids[: n * block_size].copy()).view(n, block_size)


def _lr(step: int, cfg: TrainConfig, elapsed: float = 0.0) -> float:
    if step < cfg.warmup:
        return cfg.lr * (step + 1) / cfg.warmup
    progress = (step - cfg.warmup) / max(1, cfg.steps - cfg.warmup)
    if cfg.max_minutes is not None:
        progress = max(progress, elapsed / (60 * cfg.max_minutes))
    cosine = 0.5 * (1 + math.cos(math.pi * min(1.0, progress)))
    return cfg.lr * (cfg.min_lr_ratio + (1 - cfg.min_lr_ratio) * cosine)


@lru_cache(maxsize=1)
def _epoch_order(n: int, seed: int) -> torch.Tensor:
    return torch.randperm(n, generator=torch.Generator().manual_seed(seed))


def _batch(blocks: torch.Tensor, step: int, cfg: TrainConfig) -> torch.Tensor:
    """Deterministic batch for ``step``: epochs are seeded permutations, so resuming replays nothing."""
    per_epoch = max(1, len(blocks) // cfg.batch_size)
    epoch, index = divmod(step, per_epoch)
    order = _epoch_order(len(blocks), cfg.seed + epoch)
    return blocks[order[index * cfg.batch_size : (index + 1) * cfg.batch_size]]


def train(model, tokenizer, blocks: torch.Tensor, out: Path, cfg: TrainConfig, eval_blocks=None) -> dict:
    """Train ``model`` on ``blocks`` with word dropout; checkpoint to ``out`` and resume from it.

    With ``eval_blocks``, the held-out loss is measured at every checkpoint and the weights of the
    best checkpoint are the ones saved (early stopping: a small corpus is overfitted in a few epochs),
    in ``cfg.save_dtype``.
    """
    if cfg.save_dtype not in SAVE_DTYPES:
        raise UserError(f"unknown save dtype {cfg.save_dtype!r}: use {', '.join(SAVE_DTYPES)}")
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    ckpt_path = out / "checkpoint.pt"
    device = next(model.parameters()).device
    decay = [p for n, p in model.named_parameters() if p.dim() >= 2]
    no_decay = [p for n, p in model.named_parameters() if p.dim() < 2]
    opt = torch.optim.AdamW(
        [{"params": decay, "weight_decay": cfg.weight_decay}, {"params": no_decay, "weight_decay": 0.0}],
        lr=cfg.lr,
        betas=(0.9, 0.95),
    )
    start, log, best = 0, [], None
    if ckpt_path.exists():
        state = torch.load(ckpt_path, map_location=device, weights_only=False)
        model.load_state_dict(state["model"])
        opt.load_state_dict(state["optimizer"])
        start, log, best = state["step"], state["log"], state.get("best")
        tqdm.write(f"resuming from step {start} ({ckpt_path})")
        now = asdict(cfg)
        changed = {k: (v, now.get(k)) for k, v in state["config"].items() if now.get(k) != v}
        if changed:  # e.g. more --steps: the learning-rate schedule jumps to the new one's position
            tqdm.write(
                "warning: settings differ from the checkpoint's, the new ones apply from here: "
                + ", ".join(f"{k} {old} -> {new}" for k, (old, new) in changed.items())
            )
    gen = torch.Generator().manual_seed(cfg.seed)
    model.train()
    bar = tqdm(range(start, cfg.steps), initial=start, total=cfg.steps, desc="training", unit="step", disable=None)
    t0 = time.time()
    out_of_time = False
    for step in bar:
        gen.manual_seed(cfg.seed * 1_000_003 + step)  # dropout pattern depends only on the step
        x = _batch(blocks, step, cfg).to(device)
        mask = None
        if torch.rand(1, generator=gen).item() < cfg.word_dropout:
            mask = word_dropout_mask(len(x), x.shape[1], gen, device)
        elapsed = time.time() - t0
        for group in opt.param_groups:
            group["lr"] = _lr(step, cfg, elapsed)
        with torch.autocast(device.type, dtype=torch.bfloat16, enabled=device.type == "cuda"):
            loss = model(input_ids=x, attention_mask=mask, labels=x, use_cache=False).loss
        opt.zero_grad(set_to_none=True)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
        opt.step()
        bar.set_postfix(loss=f"{loss.item():.3f}", tok_s=f"{(step + 1 - start) * x.numel() / (time.time() - t0):.0f}")
        log.append({"step": step, "loss": loss.item(), "dropout": mask is not None})
        out_of_time = cfg.max_minutes is not None and time.time() - t0 >= 60 * cfg.max_minutes
        if (step + 1) % cfg.checkpoint_every == 0 or step + 1 == cfg.steps or out_of_time:
            if eval_blocks is not None and len(eval_blocks):
                log[-1]["heldout_loss"] = evaluate_loss(model, eval_blocks, cfg.batch_size)
                model.train()
                if best is None or log[-1]["heldout_loss"] < best["heldout_loss"]:
                    best = {
                        "step": step + 1,
                        "heldout_loss": log[-1]["heldout_loss"],
                        "model": {k: v.detach().clone() for k, v in model.state_dict().items()},
                    }
                bar.write(f"step {step + 1}: held-out loss {log[-1]['heldout_loss']:.3f}")
            torch.save(
                {
                    "model": model.state_dict(),
                    "optimizer": opt.state_dict(),
                    "step": step + 1,
                    "log": log,
                    "best": best,
                    "config": asdict(cfg),
                },
                ckpt_path,
            )
        if out_of_time:
            bar.write(f"stopping at step {step + 1}: the {cfg.max_minutes} minutes are up")
            break
    bar.close()
    model.eval()
    result = {
        "config": asdict(cfg),
        "final_train_loss": log[-1]["loss"] if log else None,
        "steps_done": len(log),
        "stopped_by_time": out_of_time,
        "train_seconds": round(time.time() - t0, 1),
    }
    if best is not None:
        model.load_state_dict(best["model"])
        result.update(
            best_step=best["step"],
            heldout_loss=best["heldout_loss"],
            heldout_perplexity=math.exp(best["heldout_loss"]),
            heldout_curve=[(e["step"] + 1, round(e["heldout_loss"], 4)) for e in log if "heldout_loss" in e],
        )
    model.to(SAVE_DTYPES[cfg.save_dtype]).save_pretrained(
        out, safe_serialization=True
    )  # the model is left in that dtype
    tokenizer.save_pretrained(out)
    return result


@torch.inference_mode()
def evaluate_loss(model, blocks: torch.Tensor, batch_size: int = 8) -> float:
    """Mean next-token cross-entropy (nats) over ``blocks`` with full context."""
    device = next(model.parameters()).device
    model.eval()
    total, count = 0.0, 0
    for i in range(0, len(blocks), batch_size):
        x = blocks[i : i + batch_size].to(device)
        loss = model(input_ids=x, labels=x, use_cache=False).loss
        n = x.shape[0] * (x.shape[1] - 1)
        total += loss.item() * n
        count += n
    return total / count
