"""Benchmark the batched rationalization engine against the fp32 one-target-at-a-time reference.

    python bench/rationalize.py --model codeq-tiny --dtype bf16
    python bench/rationalize.py --random gpt2 --size codeparrot-small --device cuda --max-steps 16

The reference is always the fp32 computation on the same checkpoint (the bundled model read in fp32,
or the random model before it is cast). The engine runs in ``--dtype`` (auto: bf16 on CUDA, fp32
on the CPU), exact by default (near-ties re-scored in fp32; ``--inexact`` also times it without).
Both get the same inputs: held-out standard-library functions (codeq.tiny.HELDOUT_MODULES, never
trained on), cut to ``--max-tokens`` tokens, and per snippet ``--targets`` positions where the
model's greedy prediction equals the actual token (so the search converges); with ``--max-steps``,
snippets with too few of those are topped up with other positions (for untrained or random models).
Prints targets/second, forward passes, tokens processed (padding included), the speed-up, whether
all rationales equal the reference's, the share of decisions re-scored in fp32, and the arithmetic
rate of the engine's reduced-precision (candidate) passes, as a share of ``--peak-tflops``.
"""

from __future__ import annotations

import ast
import copy
import time

import click
import torch

from codeq.loading import LoadedModel, ModelLoadError, load_model, resolve_dtype
from codeq.rationale_search import predicted_positions, rationalize
from codeq.reference import rationalize_reference
from codeq.tiny import stdlib_files
from codeq.training import read_sources


def heldout_functions(count: int, min_lines: int = 6) -> list[str]:
    """Source of ``count`` top-level functions from the held-out modules, one file after the other."""
    per_file = []
    for text in read_sources(stdlib_files()[1]):
        funcs = [
            ast.get_source_segment(text, node)
            for node in ast.parse(text).body
            if isinstance(node, ast.FunctionDef) and node.end_lineno - node.lineno + 1 >= min_lines
        ]
        per_file.append(funcs)
    snippets = []
    for depth in range(max(map(len, per_file))):  # round robin: variety across modules first
        snippets += [funcs[depth] for funcs in per_file if depth < len(funcs)]
    return snippets[:count]


def pick_targets(predicted: list[int], length: int, count: int, top_up: bool) -> list[int]:
    """Evenly spaced predicted positions; if too few and ``top_up``, add the last other positions."""
    if len(predicted) >= count:
        return [predicted[round(i * (len(predicted) - 1) / max(1, count - 1))] for i in range(count)]
    others = [t for t in range(length - 1, 0, -1) if t not in predicted] if top_up else []
    return sorted(predicted + others[: count - len(predicted)])


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
    """Count the forward passes of a model, the tokens they process (padding included), their FLOPs and time.

    Time is taken between the pass's start and end: CUDA events on a GPU (no extra synchronisation),
    the wall clock on the CPU.
    """

    def __init__(self, model):
        self.model, self.passes, self.tokens, self.flops, self.seconds = model, 0, 0, 0.0, 0.0
        self.cuda = next(model.parameters()).device.type == "cuda"
        self.events = []
        self.handles = [
            model.register_forward_pre_hook(self._start, with_kwargs=True),
            model.register_forward_hook(self._end),
        ]

    def _start(self, module, args, kwargs):
        ids = kwargs.get("input_ids") if "input_ids" in kwargs else args[0]
        self.passes += 1
        self.tokens += ids.numel()
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
        return {"passes": self.passes, "tokens": self.tokens, "flops": self.flops, "pass_seconds": self.seconds}


def measure(run, model, fp32_model=None) -> dict:
    """Run once; return rationales, wall and CPU seconds, and the :class:`PassMeter` figures of ``model``
    (and, as ``fp32_*``, of ``fp32_model``, the re-scoring passes, when it is another module)."""
    meter = PassMeter(model)
    again = PassMeter(fp32_model) if fp32_model is not None and fp32_model is not model else None
    if next(model.parameters()).device.type == "cuda":
        torch.cuda.synchronize()
    wall, cpu = time.perf_counter(), time.process_time()
    rationales = run()
    if next(model.parameters()).device.type == "cuda":
        torch.cuda.synchronize()
    wall, cpu = time.perf_counter() - wall, time.process_time() - cpu
    result = {"rationales": rationales, "seconds": wall, "cpu": cpu, **meter.close()}
    if again is not None:
        result.update({f"fp32_{key}": value for key, value in again.close().items()})
    return result


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


SIZES = {  # (layers, width, heads, vocabulary)
    "tiny": (4, 192, 6, 8192),  # codeq-tiny's shape
    "codeparrot-small": (12, 768, 12, 32768),
}


def random_model(arch: str, size: str, tokenizer, device, dtype: torch.dtype) -> torch.nn.Module:
    """A randomly initialised GPT-2 or Llama (RoPE, grouped-query attention) of one of ``SIZES``."""
    from transformers import GPT2Config, GPT2LMHeadModel, LlamaConfig, LlamaForCausalLM

    layers, width, heads, vocab = SIZES[size]
    vocab = max(vocab, len(tokenizer))
    torch.manual_seed(0)
    if arch == "gpt2":
        model = GPT2LMHeadModel(
            GPT2Config(vocab_size=vocab, n_positions=1024, n_embd=width, n_layer=layers, n_head=heads)
        )
    else:
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
    return model.to(device, dtype).eval()


def decisions(rationale) -> int:
    """Decisions a search made: a stopping test per step, and a choice per step after the first."""
    return 2 * len(rationale.positions) - 1


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
@click.option("--snippets", default=20, show_default=True, help="Held-out functions to use.")
@click.option("--targets", default=16, show_default=True, help="Targets per snippet.")
@click.option("--max-tokens", default=160, show_default=True, help="Cut each snippet to this many tokens.")
@click.option("--max-steps", type=int, default=None, help="Cap the search (needed for untrained models).")
@click.option("--batch-size", default=1024, show_default=True, help="The engine's batch_size.")
@click.option("--max-batch-tokens", default=32768, show_default=True, help="The engine's max_batch_tokens.")
@click.option(
    "--peak-tflops",
    type=float,
    default=None,
    help="The device's dense bf16 peak (default: looked up by GPU name; none on the CPU).",
)
@click.option("--threads", type=int, default=None, help="torch CPU threads (default: torch's choice).")
def main(
    model_name,
    random_arch,
    size,
    device,
    dtype,
    inexact,
    rescore_bound,
    snippets,
    targets,
    max_tokens,
    max_steps,
    batch_size,
    max_batch_tokens,
    peak_tflops,
    threads,
):
    """Print speed, forward passes, identity and re-scoring of the engine vs the fp32 reference."""
    if threads:
        torch.set_num_threads(threads)
    try:
        exact = load_model(model_name, device=device, dtype="fp32")
    except ModelLoadError as err:
        raise click.ClickException(str(err)) from None
    engine_dtype = resolve_dtype(dtype, exact.device)
    reference_model = (
        random_model(random_arch, size, exact.tokenizer, exact.device, torch.float32) if random_arch else exact.model
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
    sequences, target_lists = [], []
    for source in heldout_functions(snippets):
        ids = lm.tokenizer(source)["input_ids"][:max_tokens]
        sequences.append(ids)
        # positions the model does not predict never converge: only worth adding to a capped search
        target_lists.append(
            pick_targets(
                predicted_positions(reference_model, ids, start=2), len(ids), targets, top_up=max_steps is not None
            )
        )
    n_targets = sum(map(len, target_lists))
    n_predicted = sum(
        len(set(ts) & set(predicted_positions(reference_model, ids, start=2)))
        for ids, ts in zip(sequences, target_lists)
    )
    click.echo(
        f"model {lm.name} on {lm.device}, engine {engine_dtype}, reference fp32, torch threads "
        f"{torch.get_num_threads()}: {len(sequences)} snippets, {n_targets} targets ({n_predicted} "
        f"model-predicted), mean length {sum(map(len, sequences)) / len(sequences):.0f} tokens, max_steps {max_steps}"
    )
    settings = {
        "max_steps": max_steps,
        "batch_size": batch_size,
        "max_batch_tokens": max_batch_tokens,
        "rescore_bound": rescore_bound,
    }
    rationalize(lm, sequences[:1], target_lists[:1], max_steps=1)  # warm-up
    runs = {
        "batched": measure(
            lambda: rationalize(lm, sequences, target_lists, progress=True, **settings), lm.model, reference_model
        )
    }
    if inexact:
        runs["inexact"] = measure(lambda: rationalize(lm, sequences, target_lists, exact=False, **settings), lm.model)
    runs["reference"] = measure(
        lambda: rationalize_reference(reference_model, sequences, target_lists, max_steps=max_steps), reference_model
    )
    slow = runs["reference"]
    for run_name, m in runs.items():
        click.echo(
            f"{run_name:>9}: {n_targets / m['seconds']:8.2f} targets/s  {m['seconds']:8.2f} s wall  "
            f"{m['cpu']:8.2f} s CPU  {m['passes']:7d} forward passes  {m['tokens']:10d} tokens"
        )
    for run_name, m in runs.items():
        if run_name == "reference":
            continue
        same, diff = compare(m["rationales"], slow["rationales"])
        click.echo(
            f"{run_name:>9} vs fp32 reference: wall {slow['seconds'] / m['seconds']:.2f}x faster, forward passes "
            f"{slow['passes'] / m['passes']:.1f}x fewer; rationales identical (positions, predictions, "
            f"converged): {same}; largest probability difference {diff:.1e}"
        )
    fast = runs["batched"]
    rescored = sum(r.rescored for r in fast["rationales"])
    total = sum(decisions(r) for r in fast["rationales"])
    converged = sum(r.converged for r in fast["rationales"])
    sizes = [len(r.positions) for r in fast["rationales"]]
    click.echo(
        f"decisions re-scored in fp32: {rescored}/{total} ({rescored / total:.1%}); "
        f"{fast.get('fp32_passes', 0)} fp32 passes, {fast.get('fp32_tokens', 0)} tokens "
        f"({fast.get('fp32_tokens', 0) / fast['tokens']:.2%} of the candidate tokens), "
        f"{fast.get('fp32_pass_seconds', 0.0):.2f} s; converged {converged}/{n_targets}; "
        f"mean rationale size {sum(sizes) / len(sizes):.1f}"
    )
    rate = fast["flops"] / fast["pass_seconds"] / 1e12
    if peak_tflops is None and lm.device.type == "cuda":
        gpu = torch.cuda.get_device_name(lm.device)
        peak_tflops = next((v for k, v in PEAK_BF16_TFLOPS.items() if k in gpu), None)
    share = f", {rate / peak_tflops:.1%} of the {peak_tflops:g} TFLOP/s bf16 peak" if peak_tflops else ""
    click.echo(
        f"candidate passes ({engine_dtype}): {fast['flops'] / 1e12:.3g} TFLOP in {fast['pass_seconds']:.2f} s "
        f"of {fast['seconds']:.2f} s wall: {rate:.3g} TFLOP/s{share}"
    )


if __name__ == "__main__":
    main()
