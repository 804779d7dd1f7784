"""The ``codeq`` command line."""

from __future__ import annotations

import json
from pathlib import Path

import click


@click.group()
@click.version_option(package_name="codeq-study")
def main():
    """codeq: greedy rationales for code language models."""


@main.command("train-tiny")
@click.option("--out", type=click.Path(path_type=Path), default=Path(__file__).parent / "models" / "codeq-tiny",
              show_default=True, help="Folder for the model, tokenizer and checkpoints.")
@click.option("--steps", default=1500, show_default=True, help="Optimizer steps (batch 8 x 512 tokens).")
@click.option("--vocab-size", default=8192, show_default=True)
@click.option("--seed", default=0, show_default=True)
def train_tiny_cmd(out, steps, vocab_size, seed):
    """Train the bundled codeq-tiny model on this machine's Python standard library.

    Resumable: rerunning with the same --out continues from the last checkpoint.
    """
    from codeq.tiny import train_tiny

    result = train_tiny(out, steps=steps, vocab_size=vocab_size, seed=seed)
    click.echo(json.dumps({k: v for k, v in result.items() if k != "config"}, indent=2))


if __name__ == "__main__":
    main()
