"""How plausible is the Python a model writes? Held-out perplexity and degenerate completions.

    python bench/model_quality.py                                   # the bundled codeq-tiny, CPU
    python bench/model_quality.py --model runs/tiny --corpus runs/tiny-corpus.jsonl.xz --json out.json
    python bench/model_quality.py --functions 2 --max-new-tokens 8 --max-blocks 2   # seconds: the figures only

Held-out perplexity is measured as ``codeq train-tiny`` measures it: the held-out standard-library
modules (codeq.training.tiny.HELDOUT_MODULES) joined with EOS, cut into blocks of ``--block-size`` tokens,
mean next-token cross-entropy with full context, exponentiated. Then ``--functions`` functions of
those modules (a seeded sample, in file order, of those whose prompt has at most ``MAX_PROMPT_CHARS``
characters, so that every model's context holds it) are completed greedily: the prompt is the header
and the first statement after any docstring, ``--max-new-tokens`` new tokens, the usual stop rules.
Printed: how many completions repeat a non-blank line, and how many prompt+completion texts parse
without tree-sitter errors (``codeq.source.screen``, the definitions ``codeq prepare`` screens with).
Held-out texts come from ``--corpus`` when given (the copy a model was trained against), else from
this interpreter's standard library.
"""

from __future__ import annotations

import json
import math
import random
from pathlib import Path

import click
import torch
from tqdm.auto import tqdm

from codeq.model.completion import complete
from codeq.model.loading import ModelLoadError, load_model
from codeq.source.screen import first_repeated_line, parses
from codeq.source.snippets import head_snippets
from codeq.training.loop import evaluate_loss, read_sources, token_blocks
from codeq.training.tiny import stdlib_files, stdlib_root
from codeq.training.tiny_corpus import read_corpus

MAX_PROMPT_CHARS = 1000  # at least 2.5 characters a token: 400 tokens + 48 new ones fit 512 positions


def heldout_texts(corpus: Path | None) -> list[tuple[str, str]]:
    """(relative path, text) of the held-out modules, from a corpus file or this interpreter."""
    if corpus is not None:
        return [(f.path, f.text) for f in read_corpus(corpus).heldout]
    root = stdlib_root()
    return [(p.relative_to(root).as_posix(), text) for p in stdlib_files(root)[1] for text in read_sources([p])]


def quality(
    lm,
    texts: list[tuple[str, str]],
    functions: int,
    max_new_tokens: int,
    block_size: int,
    seed: int,
    max_blocks: int | None = None,
) -> dict:
    """Measure ``lm`` on held-out ``texts`` (perplexity on the first ``max_blocks`` blocks, all by
    default); return the figures and every completion."""
    blocks = token_blocks(lm.tokenizer, [text for _, text in texts], block_size)[:max_blocks]
    loss = evaluate_loss(lm.model, blocks)
    snippets = [
        s
        for path, text in texts
        for s in head_snippets(text, path.removesuffix(".py").replace("/", "."))
        if len(s.prompt) <= MAX_PROMPT_CHARS
    ]
    positions = lm.model.config.max_position_embeddings
    chosen = sorted(random.Random(seed).sample(range(len(snippets)), min(functions, len(snippets))))
    rows = []
    for i in tqdm(chosen, desc="completing", unit="function"):
        snippet = snippets[i]
        length = len(lm.tokenizer(snippet.prompt)["input_ids"]) + max_new_tokens
        if length > positions:
            raise click.ClickException(
                f"{snippet.snippet_id}: {length} tokens exceed the model's {positions} positions"
            )
        completion = complete(lm, snippet.prompt, max_new_tokens=max_new_tokens)
        text = snippet.prompt + completion.text
        repeated = first_repeated_line(text, len(snippet.prompt))
        rows.append(
            {
                "snippet": snippet.snippet_id,
                "prompt": snippet.prompt,
                "completion": completion.text,
                "stop_reason": completion.stop_reason,
                "repeated_line": repeated,
                "parses": parses(text, "python"),
            }
        )
    return {
        "heldout_tokens": blocks.numel(),
        "heldout_loss": loss,
        "heldout_perplexity": math.exp(loss),
        "functions": len(rows),
        "max_new_tokens": max_new_tokens,
        "repeating_a_line": sum(r["repeated_line"] is not None for r in rows),
        "parsing": sum(r["parses"] for r in rows),
        "completions": rows,
    }


@click.command()
@click.option("--model", "model_name", default="codeq-tiny", show_default=True)
@click.option(
    "--corpus",
    type=click.Path(dir_okay=False, path_type=Path),
    default=None,
    help="Corpus file whose held-out modules to use (default: this interpreter's stdlib).",
)
@click.option("--device", default="cpu", show_default=True)
@click.option("--dtype", default="fp32", show_default=True, help="fp32 measures what a CPU user gets.")
@click.option("--functions", default=40, show_default=True)
@click.option("--max-new-tokens", default=48, show_default=True)
@click.option("--block-size", default=512, show_default=True, help="Tokens per held-out block, as in training.")
@click.option("--max-blocks", type=click.IntRange(min=1), default=None, help="Perplexity on the first N blocks only.")
@click.option("--seed", default=0, show_default=True)
@click.option("--threads", default=None, type=int, help="CPU threads for torch.")
@click.option("--show", is_flag=True, help="Print every prompt and completion.")
@click.option(
    "--json",
    "json_path",
    type=click.Path(dir_okay=False, path_type=Path),
    default=None,
    help="Also write the figures and completions here.",
)
def main(
    model_name, corpus, device, dtype, functions, max_new_tokens, block_size, max_blocks, seed, threads, show, json_path
):
    """Print held-out perplexity and how many completions repeat a line or fail to parse."""
    if threads:
        torch.set_num_threads(threads)
    try:
        lm = load_model(model_name, device=device, dtype=dtype)
        texts = heldout_texts(corpus)
    except (ModelLoadError, ValueError) as err:
        raise click.ClickException(str(err)) from None
    result = quality(lm, texts, functions, max_new_tokens, block_size, seed, max_blocks)
    result.update(model=model_name, dtype=dtype, seed=seed)
    if show:
        for row in result["completions"]:
            flags = ("" if row["parses"] else " [does not parse]") + (
                " [repeats a line]" if row["repeated_line"] else ""
            )
            click.echo(f"--- {row['snippet']}{flags}\n{row['prompt']}⟪{row['completion']}⟫")
    click.echo(
        f"model {model_name} ({dtype}): held-out perplexity {result['heldout_perplexity']:.2f} "
        f"over {result['heldout_tokens']} tokens"
    )
    click.echo(
        f"{result['functions']} held-out functions, {max_new_tokens} new tokens: "
        f"{result['repeating_a_line']} completions repeat a non-blank line, "
        f"{result['parsing']} prompt+completion texts parse without tree-sitter errors"
    )
    if json_path:
        json_path.parent.mkdir(parents=True, exist_ok=True)
        json_path.write_text(json.dumps(result, indent=2) + "\n", encoding="utf-8")


if __name__ == "__main__":
    main()
