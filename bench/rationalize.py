"""Benchmark the batched rationalization engine against the authors' one-target-at-a-time loop.

    python bench/rationalize.py --model codeq-tiny --threads 1,2
    python bench/rationalize.py --random gpt2 --size codeparrot-small --device cuda --max-steps 16

Two workloads on held-out standard-library functions (codeq.training.tiny.HELDOUT_MODULES, never trained on):
``every-token`` rationalizes every target 1..n-1 of each function cut to ``--every-token-max-tokens``
tokens (the CodeQ artifact's workload: many searches never converge and run to the whole prefix);
``predicted`` takes per function ``--targets`` positions where the model's greedy prediction equals
the actual token (so the search converges), cut to ``--max-tokens``; with ``--max-steps``, functions
with too few of those are topped up with other positions (for untrained or random models).

The reference (codeq.rationales.reference, the authors' loop) is always the fp32 computation on the same
checkpoint (the bundled model read in fp32, or the random model before it is cast). The engine runs
in ``--dtype`` (auto: bf16 on CUDA, fp32 on the CPU), exact by default (near-ties re-scored in fp32;
``--inexact`` also times it without). For each workload and thread count the engine and the
reference run one after the other in this process. Printed per run: targets/s (wall), CPU seconds
per target (unaffected by other jobs on a shared machine), forward passes, tokens computed and how
many of them are padding; then the speed-up, whether all rationales equal the reference's, the
share of decisions re-scored in fp32, and the arithmetic rate of the engine's candidate passes
against the matmul peak measured in the same run (a large matmul in the engine's dtype) and, on a
GPU, the data sheet's dense bf16 peak.
"""

from __future__ import annotations

import copy
import time

import click
import torch

from codeq.model.loading import LoadedModel, ModelLoadError, load_model, resolve_dtype
from codeq.model.random_models import SIZES, random_model
from codeq.rationales.reference import rationalize_reference
from codeq.rationales.search import predicted_positions, rationalize
from codeq.training.workload import heldout_functions, pick_targets

# Dense bf16 tensor-core peak (TFLOP/s, no sparsity) by device-name fragment, from the vendors' data sheets.
PEAK_BF16_TFLOPS = {"H200": 989.0, "H100": 989.0, "A100": 312.0, "L40S": 362.0, "L4": 121.0, "A10": 125.0}


def matmul_flops(model, input_ids: torch.Tensor, last_only: bool) -> float:
    """Multiply-add FLOPs of one forward pass over ``input_ids`` (R, W), padding included.

    Every weight matrix outside the embeddings acts on every token (2 FLOPs per weight per token);
    attention scores and the weighted sum add 4 W^2 d per row and layer; the vocabulary projection
    acts on the last position only when ``last_only`` (``logits_to_keep=1``), else on every token.
    """
    config = model.config
    embeddings = {id(m.weight) for m in model.modules() if isinstance(m, torch.nn.Embedding)}
    head = model.get_output_embeddings().weight
    body = sum(p.numel() for p in model.parameters() if p.dim() == 2 and id(p) not in embeddings and p is not head)
    rows, width = input_ids.shape
    layers, hidden = config.num_hidden_layers, config.hidden_size
    return (
        2.0 * rows * width * body
        + 4.0 * rows * width * width * hidden * layers
        + 2.0 * head.numel() * rows * (1 if last_only else width)
    )


class PassMeter:
    """Count the forward passes of a model, the tokens they compute (padding included) and the padding,
    their FLOPs and time.

    Time is taken between the pass's start and end: CUDA events on a GPU (no extra synchronisation),
    the wall clock on the CPU.
    """

    def __init__(self, model):
        self.model, self.passes, self.tokens, self.padding, self.flops, self.seconds = model, 0, 0, 0, 0.0, 0.0
        self.cuda = next(model.parameters()).device.type == "cuda"
        self.events = []
        self.handles = [
            model.register_forward_pre_hook(self._start, with_kwargs=True),
            model.register_forward_hook(self._end),
        ]

    def _start(self, module, args, kwargs):
        ids = kwargs.get("input_ids") if "input_ids" in kwargs else args[0]
        mask = kwargs.get("attention_mask")
        self.passes += 1
        self.tokens += ids.numel()
        self.padding += 0 if mask is None else int((mask == 0).sum())
        self.flops += matmul_flops(self.model, ids, kwargs.get("logits_to_keep") == 1)
        if self.cuda:
            self.events.append(torch.cuda.Event(enable_timing=True))
            self.events[-1].record()
        else:
            self.started = time.perf_counter()

    def _end(self, module, args, output):
        if self.cuda:
            self.events.append(torch.cuda.Event(enable_timing=True))
            self.events[-1].record()
        else:
            self.seconds += time.perf_counter() - self.started

    def close(self) -> dict:
        for handle in self.handles:
            handle.remove()
        if self.cuda:
            torch.cuda.synchronize()
            self.seconds = sum(a.elapsed_time(b) for a, b in zip(self.events[::2], self.events[1::2])) / 1000
        return {
            "passes": self.passes,
            "tokens": self.tokens,
            "padding": self.padding,
            "flops": self.flops,
            "pass_seconds": self.seconds,
        }


def synchronize(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.synchronize(device)


def measure(run, model, fp32_model=None) -> dict:
    """Run once; return rationales, wall and CPU seconds, and the :class:`PassMeter` figures of ``model``
    (and, as ``fp32_*``, of ``fp32_model``, the re-scoring passes, when it is another module)."""
    meter = PassMeter(model)
    again = PassMeter(fp32_model) if fp32_model is not None and fp32_model is not model else None
    device = next(model.parameters()).device
    synchronize(device)
    wall, cpu = time.perf_counter(), time.process_time()
    rationales = run()
    synchronize(device)
    wall, cpu = time.perf_counter() - wall, time.process_time() - cpu
    result = {"rationales": rationales, "seconds": wall, "cpu": cpu, **meter.close()}
    if again is not None:
        result.update({f"fp32_{key}": value for key, value in again.close().items()})
    return result


def matmul_peak(device: torch.device, dtype: torch.dtype) -> float:
    """FLOP/s of a square matmul in ``dtype`` on ``device``, the best of several (wall clock): 2048 wide,
    8 times on a GPU; 1024 wide, 3 times on a CPU (where bf16 and fp16 are emulated and slow)."""
    n, repeats = (2048, 8) if device.type == "cuda" else (1024, 3)
    a, b = (torch.randn(n, n, device=device).to(dtype) for _ in range(2))
    a @ b  # warm-up
    best = float("inf")
    for _ in range(repeats):
        synchronize(device)
        start = time.perf_counter()
        a @ b
        synchronize(device)
        best = min(best, time.perf_counter() - start)
    return 2.0 * n**3 / best


def compare(fast, slow) -> tuple[bool, float]:
    """Return (same positions, predictions and convergence everywhere, largest probability difference).

    Probabilities are compared with a tolerance: a batch of other shape takes other fp32 kernels,
    which move p(target | S) in the 7th digit.
    """
    same = all(
        a.positions == b.positions
        and a.top_predictions == b.top_predictions
        and a.converged == b.converged
        and a.target_id == b.target_id
        and a.sequence_index == b.sequence_index
        for a, b in zip(fast, slow)
    )
    diff = max(abs(p - q) for a, b in zip(fast, slow) for p, q in zip(a.probabilities, b.probabilities))
    return same and len(fast) == len(slow), diff


def decisions(rationale) -> int:
    """Decisions a search made: a stopping test per step, and a choice per step after the first."""
    return 2 * len(rationale.positions) - 1


def workloads(names, reference_model, tokenizer, snippets, targets, max_tokens, every_max_tokens, max_steps):
    """Return {name: (sequences, target lists)} for the asked workloads."""
    sources = heldout_functions(snippets)
    result = {}
    if "every-token" in names:
        sequences = [tokenizer(source)["input_ids"][:every_max_tokens] for source in sources]
        result["every-token"] = sequences, [list(range(1, len(ids))) for ids in sequences]
    if "predicted" in names:
        sequences, target_lists = [], []
        for source in sources:
            ids = tokenizer(source)["input_ids"][:max_tokens]
            sequences.append(ids)
            # positions the model does not predict never converge: only worth adding to a capped search
            predicted = predicted_positions(reference_model, ids, start=2)
            target_lists.append(pick_targets(predicted, len(ids), targets, top_up=max_steps is not None))
        result["predicted"] = sequences, target_lists
    return result


def time_runs(lm, reference_model, sequences, target_lists, inexact: bool, settings: dict) -> dict:
    """Time the engine (exact, and without re-scoring if ``inexact``), then the reference, on the same inputs."""
    rationalize(lm, sequences[:1], [target_lists[0][:1]], max_steps=1)  # warm-up
    runs = {
        "batched": measure(
            lambda: rationalize(lm, sequences, target_lists, progress=True, **settings), lm.model, reference_model
        )
    }
    if inexact:
        runs["inexact"] = measure(lambda: rationalize(lm, sequences, target_lists, exact=False, **settings), lm.model)
    runs["reference"] = measure(
        lambda: rationalize_reference(reference_model, sequences, target_lists, max_steps=settings["max_steps"]),
        reference_model,
    )
    return runs


def report(label, runs, n_targets, peak, datasheet_tflops, engine_dtype) -> None:
    """Print one workload's rows at one thread count; every line starts with ``label``."""
    slow = runs["reference"]
    for run_name, m in runs.items():
        useful = m["tokens"] - m["padding"]
        click.echo(
            f"{label} {run_name:>9}: {n_targets / m['seconds']:8.2f} targets/s  "
            f"{m['cpu'] / n_targets * 1000:8.1f} ms CPU/target  {m['seconds']:8.2f} s wall  {m['passes']:7d} "
            f"forward passes  {m['tokens']:10d} tokens ({useful} useful, {m['padding']} padding, "
            f"{m['padding'] / max(1, m['tokens']):.1%})"
        )
    for run_name, m in runs.items():
        if run_name == "reference":
            continue
        same, diff = compare(m["rationales"], slow["rationales"])
        click.echo(
            f"{label} {run_name:>9} vs reference: {slow['seconds'] / m['seconds']:.2f}x wall, "
            f"{slow['cpu'] / m['cpu']:.2f}x CPU, forward passes {slow['passes'] / m['passes']:.1f}x fewer; "
            f"rationales identical (positions, predictions, converged): {same}; largest probability "
            f"difference {diff:.1e}"
        )
    fast = runs["batched"]
    rescored = sum(r.rescored for r in fast["rationales"])
    total = sum(decisions(r) for r in fast["rationales"])
    converged = sum(r.converged for r in fast["rationales"])
    sizes = [len(r.positions) for r in fast["rationales"]]
    click.echo(
        f"{label} decisions re-scored in fp32: {rescored}/{total} ({rescored / total:.1%}); "
        f"{fast.get('fp32_passes', 0)} fp32 passes, {fast.get('fp32_tokens', 0)} tokens "
        f"({fast.get('fp32_tokens', 0) / fast['tokens']:.2%} of the candidate tokens), "
        f"{fast.get('fp32_pass_seconds', 0.0):.2f} s; converged {converged}/{n_targets}; "
        f"mean rationale size {sum(sizes) / len(sizes):.1f}"
    )
    for run_name, m in runs.items():
        rate = m["flops"] / m["pass_seconds"]
        sheet = (
            f", {rate / 1e12 / datasheet_tflops:.1%} of the {datasheet_tflops:g} TFLOP/s bf16 data-sheet peak"
            if datasheet_tflops
            else ""
        )
        click.echo(
            f"{label} {run_name:>9} passes ({engine_dtype if run_name != 'reference' else torch.float32}): "
            f"{m['flops'] / 1e12:.3g} TFLOP in {m['pass_seconds']:.2f} s of {m['seconds']:.2f} s wall: "
            f"{rate / 1e9:.4g} GFLOP/s, {rate / peak:.1%} of the measured matmul peak"
            f"{sheet}"
        )


@click.command()
@click.option(
    "--model",
    "model_name",
    default="codeq-tiny",
    show_default=True,
    help="Checkpoint to time (its tokenizer also serves the random models).",
)
@click.option(
    "--random",
    "random_arch",
    type=click.Choice(["gpt2", "llama"]),
    default=None,
    help="Time a randomly initialised model of --size instead of --model's weights.",
)
@click.option("--size", type=click.Choice(sorted(SIZES)), default="codeparrot-small", show_default=True)
@click.option("--device", default="cpu", show_default=True)
@click.option(
    "--dtype",
    type=click.Choice(["auto", "fp32", "bf16", "fp16"]),
    default="auto",
    show_default=True,
    help="The engine's dtype (auto: bf16 on CUDA, fp32 on CPU); the reference is always fp32.",
)
@click.option("--inexact", is_flag=True, help="Also time the engine with exact=False (no fp32 re-scoring).")
@click.option("--rescore-bound", type=float, default=None, help="The engine's rescore_bound (default: its dtype's).")
@click.option(
    "--workload",
    "workload_names",
    type=click.Choice(["every-token", "predicted"]),
    multiple=True,
    default=("every-token", "predicted"),
    show_default=True,
    help="Which workloads to time (repeat the option for several).",
)
@click.option("--snippets", default=20, show_default=True, help="Held-out functions to use.")
@click.option("--targets", default=16, show_default=True, help="Targets per function (predicted workload).")
@click.option("--max-tokens", default=160, show_default=True, help="Cut each function to this many tokens (predicted).")
@click.option(
    "--every-token-max-tokens",
    default=72,
    show_default=True,
    help="Cut each function to this many tokens (every-token).",
)
@click.option("--max-steps", type=int, default=None, help="Cap the search (needed for untrained models).")
@click.option("--batch-size", default=1024, show_default=True, help="The engine's batch_size.")
@click.option("--max-batch-tokens", default=32768, show_default=True, help="The engine's max_batch_tokens.")
@click.option(
    "--peak-tflops",
    type=float,
    default=None,
    help="The device's dense bf16 data-sheet peak (default: looked up by GPU name; none on the CPU).",
)
@click.option(
    "--threads", default="", help="Comma-separated torch CPU thread counts to time each workload at (default: torch's)."
)
def main(
    model_name,
    random_arch,
    size,
    device,
    dtype,
    inexact,
    rescore_bound,
    workload_names,
    snippets,
    targets,
    max_tokens,
    every_token_max_tokens,
    max_steps,
    batch_size,
    max_batch_tokens,
    peak_tflops,
    threads,
):
    """Print speed, forward passes, padding, identity and re-scoring of the engine vs the reference."""
    try:
        thread_counts = [int(n) for n in threads.split(",") if n.strip()] or [torch.get_num_threads()]
    except ValueError:
        raise click.BadParameter(f"{threads!r} is not a list of numbers", param_hint="--threads") from None
    try:
        exact = load_model(model_name, device=device, dtype="fp32")
    except ModelLoadError as err:
        raise click.ClickException(str(err)) from None
    engine_dtype = resolve_dtype(dtype, exact.device)
    reference_model = (
        random_model(random_arch, size, len(exact.tokenizer), exact.device) if random_arch else exact.model
    )
    name = f"random {random_arch} {size}" if random_arch else model_name
    model = reference_model if engine_dtype == torch.float32 else copy.deepcopy(reference_model).to(engine_dtype)
    lm = LoadedModel(
        model=model,
        tokenizer=exact.tokenizer,
        name=name,
        device=exact.device,
        dtype=engine_dtype,
        fp32_model=reference_model,
    )
    if peak_tflops is None and lm.device.type == "cuda":
        gpu = torch.cuda.get_device_name(lm.device)
        peak_tflops = next((v for k, v in PEAK_BF16_TFLOPS.items() if k in gpu), None)
    cases = workloads(
        workload_names, reference_model, lm.tokenizer, snippets, targets, max_tokens, every_token_max_tokens, max_steps
    )
    settings = {
        "max_steps": max_steps,
        "batch_size": batch_size,
        "max_batch_tokens": max_batch_tokens,
        "rescore_bound": rescore_bound,
    }
    click.echo(f"model {lm.name} on {lm.device}, engine {engine_dtype}, reference fp32, max_steps {max_steps}")
    for workload, (sequences, target_lists) in cases.items():
        n_targets = sum(map(len, target_lists))
        click.echo(
            f"{workload}: {len(sequences)} functions, {n_targets} targets, mean length "
            f"{sum(map(len, sequences)) / len(sequences):.0f} tokens, longest {max(map(len, sequences))}"
        )
        for count in thread_counts:
            torch.set_num_threads(count)
            label = f"{workload} {torch.get_num_threads()} thread(s)"
            peak = matmul_peak(lm.device, engine_dtype)
            click.echo(f"{label}: measured {engine_dtype} matmul peak {peak / 1e9:.4g} GFLOP/s")
            runs = time_runs(lm, reference_model, sequences, target_lists, inexact, settings)
            report(label, runs, n_targets, peak, peak_tflops, engine_dtype)


if __name__ == "__main__":
    main()
