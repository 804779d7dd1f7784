"""Measure how far bf16 and fp16 move the scores the rationalization search decides on.

    python bench/precision_error.py                                   # this CPU: codeq-tiny and random models of its width
    python bench/precision_error.py --device cuda --size codeparrot-small --size tiny

Each model (codeq-tiny, ``--model`` checkpoints, and random GPT-2 and Llama models of each
``--size``, codeq.model.random_models) is scored in fp32 and in reduced precision on the same rows, shaped
like search steps: per held-out function (codeq.training.workload), random (t, S) with t-1 in S, and a block of one row S + {j} for every j < t outside S,
scored by the engine's own batched scorer (codeq.rationales.search.score_blocks). Printed per model
and dtype:

* |e| = |log p_reduced(x_t) - log p_fp32(x_t)| over rows: quantiles and the largest; and the same
  relative to the scale the engine's bound multiplies (the step's largest |logit|);
* relative to that scale, the error of a choice margin within a step (max e - min e over its
  block), and of the stopping-test margin (the gap between the two highest logits);
* choices and top predictions that flip, and for each candidate bound (the engine's rule,
  codeq.rationales.search.rows_to_rescore) the share of steps and of rows it re-scores, and
  "missed": steps whose fp32 choice or top prediction it would get wrong (must be 0).

The default bounds in codeq.rationales.search.RESCORE_BOUNDS come from this script's output.
"""

from __future__ import annotations

import copy
import random

import click
import torch

from codeq.model.loading import ModelLoadError, load_model
from codeq.model.random_models import ARCHITECTURES, SIZES, random_model
from codeq.rationales.search import RESCORE_BOUNDS, rows_to_rescore, score_blocks
from codeq.training.workload import heldout_functions

DTYPES = {"bf16": torch.bfloat16, "fp16": torch.float16}
BOUNDS = (1e-4, 1e-3, 4e-3, 0.01, 0.02, 0.03, 0.04)


def step_blocks(sequences: list[list[int]], per_snippet: int, max_subset: int, seed: int = 0):
    """Blocks (ids, target id, positions) of random search steps: S holds t-1, each row adds one j."""
    rng = random.Random(seed)
    blocks = []
    for ids in sequences:
        ids_t = torch.tensor(ids)
        for _ in range(per_snippet):
            t = rng.randrange(3, len(ids))
            subset = sorted({t - 1, *rng.sample(range(t - 1), rng.randint(0, min(max_subset, t - 2)))})
            rows = [sorted(subset + [j]) for j in range(t) if j not in subset]
            blocks.append((ids_t, ids[t], torch.tensor(rows)))
    return blocks


def quantiles(values: torch.Tensor) -> str:
    q = torch.quantile(values.double(), torch.tensor([0.5, 0.9, 0.99, 0.999], dtype=torch.double)).tolist()
    return (
        "  ".join(f"{name} {v:.1e}" for name, v in zip(("median", "p90", "p99", "p99.9"), q))
        + f"  max {values.max().item():.1e}"
    )


def report(name: str, dtype_name: str, exact, reduced) -> dict:
    """Print the error distribution of ``reduced`` against ``exact`` (lists of LastScores per block)."""
    e = torch.cat([r.logp - x.logp for r, x in zip(reduced, exact)])
    scale = torch.cat([r.scale.max().expand(len(r.logp)) for r in reduced])
    spread = torch.stack(
        [((r.logp - x.logp).max() - (r.logp - x.logp).min()) / r.scale.max() for r, x in zip(reduced, exact)]
    )
    gap_err = torch.cat([(r.gap - x.gap).abs() / r.scale.max() for r, x in zip(reduced, exact)])
    flips = sum(int(r.logp.argmax()) != int(x.logp.argmax()) for r, x in zip(reduced, exact))
    top_flips = sum(int((r.top != x.top).sum()) for r, x in zip(reduced, exact))
    click.echo(
        f"{name} {dtype_name}: {len(e)} rows in {len(exact)} steps, largest |logit| median {scale.median().item():.2f}"
    )
    click.echo(f"  |e|          {quantiles(e.abs())}")
    click.echo(f"  |e| / scale  {quantiles(e.abs() / scale)}")
    click.echo(
        f"  / scale: choice-margin error max {spread.max().item():.1e}; stopping-margin error {quantiles(gap_err)}"
    )
    click.echo(f"  flips without re-scoring: choices {flips}/{len(exact)}, top predictions {top_flips}/{len(e)}")
    for bound in BOUNDS:
        steps = rows = missed = 0
        for r, x in zip(reduced, exact):
            again = rows_to_rescore(r, bound)
            best = int(r.logp.argmax())
            steps, rows = steps + bool(len(again)), rows + len(again)
            missed += (
                int(x.logp.argmax()) not in (again.tolist() or [best]) or not len(again) and r.top[best] != x.top[best]
            )
        click.echo(
            f"  bound {bound:<6g}: {steps / len(exact):4.0%} of steps, {rows / len(e):6.2%} of rows re-scored, "
            f"{missed} missed"
        )
    return {
        "max_abs": e.abs().max().item(),
        "max_rel": (e.abs() / scale).max().item(),
        "max_spread": spread.max().item(),
        "max_gap": gap_err.max().item(),
    }


@click.command()
@click.option("--device", default="cpu", show_default=True)
@click.option(
    "--size",
    "sizes",
    multiple=True,
    default=["tiny"],
    show_default=True,
    type=click.Choice(sorted(SIZES)),
    help="Random models' size: tiny is codeq-tiny's width (4 x 192); codeparrot-small is 12 x 768.",
)
@click.option("--snippets", default=12, show_default=True)
@click.option("--steps-per-snippet", default=6, show_default=True)
@click.option("--max-subset", default=16, show_default=True, help="Largest S besides t-1.")
@click.option("--max-tokens", default=160, show_default=True)
@click.option(
    "--dtype", "dtypes", multiple=True, default=["bf16", "fp16"], show_default=True, type=click.Choice(sorted(DTYPES))
)
@click.option(
    "--model",
    "checkpoints",
    multiple=True,
    help="Also measure this checkpoint (hub id or folder, on its own tokenizer); repeatable.",
)
@click.option("--threads", type=int, default=None)
def main(device, sizes, snippets, steps_per_snippet, max_subset, max_tokens, dtypes, checkpoints, threads):
    """Print the error distribution of reduced-precision scores against fp32."""
    if threads:
        torch.set_num_threads(threads)
    try:
        loaded = [load_model(name, device=device, dtype="fp32") for name in ("codeq-tiny", *checkpoints)]
    except ModelLoadError as err:
        raise click.ClickException(str(err)) from None
    sources = heldout_functions(snippets)

    def blocks_for(lm):
        sequences = [lm.tokenizer(source)["input_ids"][:max_tokens] for source in sources]
        return [
            (ids.to(lm.device), target, rows.to(lm.device))
            for ids, target, rows in step_blocks(sequences, steps_per_snippet, max_subset)
        ]

    bundled = loaded[0]
    models = [(lm.name, lm.model, blocks_for(lm)) for lm in loaded]
    for size in sizes:
        models += [
            (
                f"random {arch} {size}",
                random_model(arch, size, len(bundled.tokenizer), bundled.device, torch.float32),
                models[0][2],
            )
            for arch in ARCHITECTURES
        ]
    worst = {}
    for name, model, blocks in models:
        exact = score_blocks(model, blocks, 1024, 32768, 0)
        for dtype_name in dtypes:
            reduced = score_blocks(copy.deepcopy(model).to(DTYPES[dtype_name]), blocks, 1024, 32768, 0)
            for key, value in report(name, dtype_name, exact, reduced).items():
                worst[dtype_name, key] = max(worst.get((dtype_name, key), 0.0), value)
    for dtype_name in dtypes:
        click.echo(
            f"{dtype_name} over all models: largest |e| {worst[dtype_name, 'max_abs']:.2e}; relative to the "
            f"scale: |e| {worst[dtype_name, 'max_rel']:.2e}, choice-margin error "
            f"{worst[dtype_name, 'max_spread']:.2e}, stopping-margin error {worst[dtype_name, 'max_gap']:.2e}; "
            f"engine default bound {RESCORE_BOUNDS[DTYPES[dtype_name]]}"
        )


if __name__ == "__main__":
    main()
