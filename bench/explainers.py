"""Time every explainer on the same targets: seconds per target, per method.

    python bench/explainers.py --model codeq-tiny
    python bench/explainers.py --random gpt2 --size codeparrot-small --device cuda   # GPU timing (bf16 by default)

Inputs as in bench/rationalize.py (codeq.training.workload): held-out standard-library functions cut to
``--max-tokens`` tokens and, per snippet, ``--targets`` positions the model predicts itself (topped
up with other positions for random models, codeq.model.random_models, which use --model's tokenizer). Every method explains the same targets in one batched call after a
warm-up call; greedy's search is capped at ``--max-steps``. Prints wall-clock and process CPU
seconds per target (on a shared machine the CPU time is the steadier number).
"""

from __future__ import annotations

import time

import click
import torch

from codeq.explainers import explain
from codeq.model.loading import LoadedModel, ModelLoadError, load_model, resolve_dtype
from codeq.model.random_models import ARCHITECTURES, SIZES, random_model
from codeq.rationales.search import predicted_positions
from codeq.training.workload import heldout_functions, pick_targets
from contract.prepared_tasks import EXPLAINERS


@click.command()
@click.option("--model", "model_name", default="codeq-tiny", show_default=True)
@click.option("--device", default="cpu", show_default=True)
@click.option("--dtype", type=click.Choice(["auto", "fp32", "bf16", "fp16"]), default="auto", show_default=True)
@click.option("--snippets", default=4, show_default=True, help="Held-out functions to use.")
@click.option("--targets", default=4, show_default=True, help="Targets per snippet.")
@click.option("--max-tokens", default=160, show_default=True, help="Cut each snippet to this many tokens.")
@click.option("--max-steps", default=50, show_default=True, help="Greedy: most positions added after t-1.")
@click.option("--batch-size", default=16, show_default=True, help="Prefixes per forward pass (not greedy).")
@click.option("--method", "methods", multiple=True, default=EXPLAINERS, show_default=True)
@click.option(
    "--random",
    "random_arch",
    type=click.Choice(ARCHITECTURES),
    default=None,
    help="Time a randomly initialised model of --size instead of --model's weights.",
)
@click.option("--size", type=click.Choice(sorted(SIZES)), default="codeparrot-small", show_default=True)
@click.option("--threads", type=int, default=None, help="torch CPU threads (default: torch's choice).")
def main(
    model_name, device, dtype, snippets, targets, max_tokens, max_steps, batch_size, methods, random_arch, size, threads
):
    """Print seconds per target of every explainer."""
    if threads:
        torch.set_num_threads(threads)
    try:
        lm = load_model(model_name, device=device, dtype=dtype)
    except ModelLoadError as err:
        raise click.ClickException(str(err)) from None
    if random_arch:
        model_dtype = resolve_dtype(dtype, lm.device)
        model = random_model(random_arch, size, len(lm.tokenizer), lm.device, model_dtype)
        lm = LoadedModel(model, lm.tokenizer, f"random {random_arch} {size}", lm.device, model_dtype)
    sequences = [lm.tokenizer(text)["input_ids"][:max_tokens] for text in heldout_functions(snippets)]
    chosen = [pick_targets(predicted_positions(lm, ids), len(ids), targets, top_up=True) for ids in sequences]
    n = sum(map(len, chosen))
    print(
        f"model {lm.name} on {lm.device} ({lm.dtype}); {len(sequences)} snippets of "
        f"{sum(map(len, sequences)) / len(sequences):.0f} tokens, {n} targets"
    )
    print(f"{'method':<22}{'s/target':>10}{'cpu s/target':>14}{'total s':>10}")
    for method in methods:
        options = {"max_steps": max_steps} if method == "greedy" else {"batch_size": batch_size}
        explain(lm, sequences[:1], chosen[:1], method, **options)  # warm-up: kernels, caches, CUDA context
        if lm.device.type == "cuda":
            torch.cuda.synchronize()
        start, cpu = time.perf_counter(), time.process_time()
        explain(lm, sequences, chosen, method, **options)
        if lm.device.type == "cuda":
            torch.cuda.synchronize()
        elapsed, cpu = time.perf_counter() - start, time.process_time() - cpu
        print(f"{method:<22}{elapsed / n:>10.4f}{cpu / n:>14.4f}{elapsed:>10.2f}", flush=True)


if __name__ == "__main__":
    main()
