"""Benchmark the batched rationalization engine against the one-target-at-a-time reference.

    python bench/rationalize.py --model codeq-tiny
    python bench/rationalize.py --model codeq-tiny --random-gpt2-small --device cuda   # GPU timing (bf16; --dtype fp32 to check identity)

Both implementations get the same inputs: held-out standard-library functions (codeq.tiny.HELDOUT_MODULES,
never trained on), cut to ``--max-tokens`` tokens, and per snippet ``--targets`` positions where the
model's greedy prediction equals the actual token (so the search converges); with ``--max-steps``,
snippets with too few of those are topped up with other positions (for untrained or random models). Prints targets/second,
forward passes, tokens processed (padding included), their ratios, and whether all rationales agree.
"""

from __future__ import annotations

import ast
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
        funcs = [ast.get_source_segment(text, node) for node in ast.parse(text).body
                 if isinstance(node, ast.FunctionDef) and node.end_lineno - node.lineno + 1 >= min_lines]
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
    return sorted(predicted + others[:count - len(predicted)])


class ForwardCounter:
    """Count forward passes and the tokens (padding included) they process."""

    def __init__(self, model):
        self.passes = self.tokens = 0
        self.handle = model.register_forward_pre_hook(self._hook, with_kwargs=True)

    def _hook(self, module, args, kwargs):
        self.passes += 1
        self.tokens += (kwargs.get("input_ids") if "input_ids" in kwargs else args[0]).numel()

    def close(self):
        self.handle.remove()


def measure(run, model) -> dict:
    """Run once; return rationales, wall seconds, CPU seconds of this process, forward passes and tokens."""
    counter = ForwardCounter(model)
    wall, cpu = time.perf_counter(), time.process_time()
    rationales = run()
    wall, cpu = time.perf_counter() - wall, time.process_time() - cpu
    counter.close()
    return {"rationales": rationales, "seconds": wall, "cpu": cpu, "passes": counter.passes, "tokens": counter.tokens}


def compare(fast, slow) -> tuple[bool, float]:
    """Return (same positions, predictions and convergence everywhere, largest probability difference).

    Probabilities are compared with a tolerance: a batch of other shape takes other fp32 kernels,
    which move p(target | S) in the 7th digit.
    """
    same = all(a.positions == b.positions and a.top_predictions == b.top_predictions and a.converged == b.converged
               and a.target_id == b.target_id and a.sequence_index == b.sequence_index for a, b in zip(fast, slow))
    diff = max(abs(p - q) for a, b in zip(fast, slow) for p, q in zip(a.probabilities, b.probabilities))
    return same and len(fast) == len(slow), diff


def gpt2_small_random(tokenizer, device, dtype: torch.dtype) -> LoadedModel:
    """A randomly initialised GPT-2 the size of codeparrot-small (12 layers x 768, 32768 vocabulary)."""
    from transformers import GPT2Config, GPT2LMHeadModel

    torch.manual_seed(0)
    config = GPT2Config(vocab_size=max(32768, len(tokenizer)), n_positions=1024, n_embd=768, n_layer=12, n_head=12)
    model = GPT2LMHeadModel(config).to(device, dtype).eval()
    return LoadedModel(model=model, tokenizer=tokenizer, name="random-gpt2-small", device=device, dtype=dtype)


@click.command()
@click.option("--model", "model_name", default="codeq-tiny", show_default=True)
@click.option("--device", default="cpu", show_default=True)
@click.option("--snippets", default=20, show_default=True, help="Held-out functions to use.")
@click.option("--targets", default=16, show_default=True, help="Targets per snippet.")
@click.option("--max-tokens", default=160, show_default=True, help="Cut each snippet to this many tokens.")
@click.option("--max-steps", type=int, default=None, help="Cap the search (needed for untrained models).")
@click.option("--random-gpt2-small", is_flag=True, help="Time a random codeparrot-small-sized GPT-2 instead.")
@click.option("--dtype", type=click.Choice(["auto", "fp32", "bf16", "fp16"]), default="auto", show_default=True,
              help="Random GPT-2's dtype (auto: bf16 on CUDA, fp32 on CPU); the bundled model runs in fp32.")
@click.option("--threads", type=int, default=None, help="torch CPU threads (default: torch's choice).")
def main(model_name, device, snippets, targets, max_tokens, max_steps, random_gpt2_small, dtype, threads):
    """Print speed, forward passes and tokens of the batched engine vs the reference."""
    if threads:
        torch.set_num_threads(threads)
    try:
        lm = load_model(model_name, device=device, dtype="fp32")
    except ModelLoadError as err:
        raise click.ClickException(str(err)) from None
    if random_gpt2_small:
        lm = gpt2_small_random(lm.tokenizer, lm.device, resolve_dtype(dtype, lm.device))
    sequences, target_lists = [], []
    for source in heldout_functions(snippets):
        ids = lm.tokenizer(source)["input_ids"][:max_tokens]
        sequences.append(ids)
        # positions the model does not predict never converge: only worth adding to a capped search
        target_lists.append(pick_targets(predicted_positions(lm, ids, start=2), len(ids), targets,
                                         top_up=max_steps is not None))
    n_targets = sum(map(len, target_lists))
    n_predicted = sum(len(set(ts) & set(predicted_positions(lm, ids, start=2)))
                      for ids, ts in zip(sequences, target_lists))
    click.echo(f"model {lm.name} on {lm.device} ({lm.dtype}), torch threads {torch.get_num_threads()}: "
               f"{len(sequences)} snippets, {n_targets} targets ({n_predicted} model-predicted), "
               f"mean length {sum(map(len, sequences)) / len(sequences):.0f} tokens, max_steps {max_steps}")
    rationalize(lm, sequences[:1], target_lists[:1], max_steps=1)  # warm-up
    fast = measure(lambda: rationalize(lm, sequences, target_lists, max_steps=max_steps, progress=True), lm.model)
    slow = measure(lambda: rationalize_reference(lm, sequences, target_lists, max_steps=max_steps), lm.model)
    for name, m in (("batched", fast), ("reference", slow)):
        click.echo(f"{name:>9}: {n_targets / m['seconds']:8.2f} targets/s  {m['seconds']:8.2f} s wall  "
                   f"{m['cpu']:8.2f} s CPU  {m['passes']:7d} forward passes  {m['tokens']:10d} tokens")
    converged = sum(r.converged for r in fast["rationales"])
    sizes = [len(r.positions) for r in fast["rationales"]]
    click.echo(f"reference / batched: wall {slow['seconds'] / fast['seconds']:.2f}x, CPU {slow['cpu'] / fast['cpu']:.2f}x, "
               f"forward passes {slow['passes'] / fast['passes']:.1f}x, tokens {slow['tokens'] / fast['tokens']:.2f}x")
    same, diff = compare(fast["rationales"], slow["rationales"])
    click.echo(f"rationales identical (positions, predictions, converged): {same}; largest probability difference "
               f"{diff:.1e}; converged {converged}/{n_targets}; mean rationale size {sum(sizes) / len(sizes):.1f}")


if __name__ == "__main__":
    main()
