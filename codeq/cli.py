"""The ``codeq`` command line."""

from __future__ import annotations

import functools
import importlib.util
import json
from dataclasses import asdict, fields
from pathlib import Path

import click

from contract.errors import UserError, user_errors
from contract.logs import log_level_option
from contract.prepared_tasks import EXPLAINERS
from contract.study_definition import SELECTIONS, TargetRules
from contract.taxonomy import LANGUAGES

# What every engine command imports; the base install (study app and analysis) has none of them.
ENGINE_MODULES = ("torch", "transformers", "tree_sitter")


@click.group()
@click.version_option(package_name="codeq-study")
@log_level_option
@click.pass_context
def main(ctx):
    """codeq: greedy rationales for code language models."""
    missing = [name for name in ENGINE_MODULES if importlib.util.find_spec(name) is None]
    if ctx.invoked_subcommand and missing:
        raise click.ClickException(
            f"`codeq {ctx.invoked_subcommand}` needs the model engine ({missing[0]} is not "
            "installed): pip install 'codeq-study[engine]'"
        )


def model_options(default_dtype: str = "auto"):
    """Add --model, --device and --dtype to a command."""

    def decorate(command):
        command = click.option(
            "--dtype",
            default=default_dtype,
            show_default=True,
            help="auto (bf16/fp16 on CUDA, fp32 on CPU), fp32, bf16 or fp16.",
        )(command)
        command = click.option("--device", default="auto", show_default=True, help="auto, cpu, cuda or cuda:N.")(
            command
        )
        return click.option(
            "--model", "-m", "model_name", required=True, help="Hub id, local folder, or the bundled codeq-tiny."
        )(command)

    return decorate


# What the corpus commands do unless told otherwise: every tried target kept, a few per snippet.
CORPUS_RULES = {"language": "python", "targets_per_snippet": 4, "selection": "all"}


def target_rules_options(targets_option: str, language_help: str | None = None):
    """Add an option for each field of :class:`TargetRules` but ``categories``; the command gets ``rules``.

    ``targets_option`` names the option of ``targets_per_snippet`` (what a snippet is called there).
    """
    rule_fields = [f for f in fields(TargetRules) if f.name != "categories"]

    def decorate(command):
        @functools.wraps(command)
        def with_rules(**kwargs):
            rules = TargetRules(**{f.name: kwargs.pop(f.name) for f in rule_fields})
            return command(rules=rules, **kwargs)

        for f in reversed(rule_fields):
            default = CORPUS_RULES.get(f.name, f.default)
            flag = targets_option if f.name == "targets_per_snippet" else "--" + f.name.replace("_", "-")
            with_rules = click.option(
                flag,
                f.name,
                default=default,
                show_default=True,
                type=click.Choice(SELECTIONS) if f.name == "selection" else type(default),
                help=language_help if f.name == "language" and language_help else f.metadata["help"],
            )(with_rules)
        return with_rules

    return decorate


def load(model_name: str, device: str, dtype: str):
    from codeq.model.loading import load_model

    return load_model(model_name, device=device, dtype=dtype)


@main.command("tiny-corpus")
@click.option(
    "--out",
    required=True,
    type=click.Path(dir_okay=False, path_type=Path),
    help="Corpus file to write (xz-compressed JSON lines, e.g. runs/tiny-corpus.jsonl.xz).",
)
@click.option(
    "--stdlib",
    type=click.Path(exists=True, file_okay=False, path_type=Path),
    default=None,
    help="Standard library folder (default: this interpreter's).",
)
@click.option(
    "--packages",
    type=click.Path(exists=True, file_okay=False, path_type=Path),
    multiple=True,
    help="Folder of installed distributions, repeatable (default: this interpreter's site-packages).",
)
def tiny_corpus_cmd(out, stdlib, packages):
    """Write codeq-tiny's training corpus: the standard library and the permissively licensed Python
    source of the installed packages, deduplicated, held-out modules (and copies of them) left out."""
    from codeq.training.tiny_corpus import build_corpus, write_corpus

    corpus = build_corpus(stdlib, list(packages) or None)
    with user_errors():
        write_corpus(corpus, out)
    summary = corpus.summary()
    summary["packages"] = {
        p["name"]: p["licence"] + ("" if p["permissive"] else " (left out)") for p in corpus.manifest["packages"]
    }
    click.echo(json.dumps(summary, indent=2))


@main.command("train-tiny")
@click.option(
    "--out",
    type=click.Path(path_type=Path),
    default=Path(__file__).parent / "models" / "codeq-tiny",
    show_default=True,
    help="Folder for the model, tokenizer and checkpoints.",
)
@click.option(
    "--corpus",
    type=click.Path(dir_okay=False, path_type=Path),
    default=None,
    help="Corpus file from `codeq tiny-corpus` (default: build it from this machine now).",
)
@click.option("--steps", default=20000, show_default=True, help="Optimizer steps (at most).")
@click.option(
    "--max-minutes",
    type=float,
    default=None,
    help="Stop after this many minutes; the learning rate decays over them (see docs/engine.md).",
)
@click.option("--batch-size", default=64, show_default=True, help="Sequences of --context tokens per step.")
@click.option("--lr", default=2e-3, show_default=True, help="Peak learning rate.")
@click.option("--warmup", default=200, show_default=True, help="Warm-up steps.")
@click.option(
    "--checkpoint-every", default=250, show_default=True, help="Steps between held-out evaluations and checkpoints."
)
@click.option(
    "--layers", type=int, default=None, help="Transformer blocks (default: the bundled model's, see docs/engine.md)."
)
@click.option("--width", type=int, default=None, help="Hidden size (default: the bundled model's).")
@click.option("--heads", type=int, default=None, help="Attention heads (default: the bundled model's).")
@click.option("--vocab-size", type=int, default=None, help="BPE vocabulary (default: the bundled model's).")
@click.option(
    "--context", type=int, default=None, help="Positions, also the training block size (default: the bundled model's)."
)
@click.option(
    "--tokenizer-mb", default=64.0, show_default=True, help="Megabytes of the corpus the tokenizer is trained on."
)
@click.option("--seed", default=0, show_default=True)
@click.option("--device", default="cpu", show_default=True, help="cpu, cuda, cuda:N or auto.")
def train_tiny_cmd(
    out,
    corpus,
    steps,
    max_minutes,
    batch_size,
    lr,
    warmup,
    checkpoint_every,
    layers,
    width,
    heads,
    vocab_size,
    context,
    tokenizer_mb,
    seed,
    device,
):
    """Train the bundled codeq-tiny model on the standard library and installed packages' source.

    Resumable: rerunning with the same --out continues from the last checkpoint. The held-out loss
    is measured at every checkpoint and the best checkpoint's weights are saved, in bf16.
    """
    from codeq.model.loading import resolve_device
    from codeq.training.loop import TrainConfig
    from codeq.training.tiny import TinySize, train_tiny
    from codeq.training.tiny_corpus import read_corpus

    shape = {"layers": layers, "width": width, "heads": heads, "vocab_size": vocab_size, "context": context}
    size = TinySize(**{k: v for k, v in shape.items() if v is not None})
    cfg = TrainConfig(
        steps=steps,
        batch_size=batch_size,
        block_size=size.context,
        lr=lr,
        warmup=warmup,
        checkpoint_every=checkpoint_every,
        seed=seed,
        max_minutes=max_minutes,
        save_dtype="bf16",
    )
    with user_errors():
        device = resolve_device(device)
        loaded = read_corpus(corpus) if corpus else None
        result = train_tiny(out, loaded, size, cfg, tokenizer_mb=tokenizer_mb, device=device)
    click.echo(
        json.dumps({k: v for k, v in result.items() if k not in ("config", "corpus", "heldout_curve")}, indent=2)
    )


@main.command("prepare")
@click.argument("study", type=click.Path(file_okay=False, path_type=Path))
@click.option("--model", default=None, help="Model to use instead of study.toml's [model] name.")
@click.option("--device", default="cpu", show_default=True, help="cpu, cuda or auto.")
def prepare_cmd(study, model, device):
    """Write STUDY/tasks.jsonl, tutorial.jsonl and model_card.json from study.toml and the snippets."""
    from codeq.study.instrument import read_study
    from codeq.study.prepare import NoTargetsError, prepare

    with user_errors():
        lm = load(model, device, read_study(study).dtype) if model else None
        try:
            card = prepare(study, lm=lm, device=device)
        except NoTargetsError as err:
            for line in err.details:
                click.echo(line, err=True)
            raise
    click.echo(json.dumps(card, indent=2, sort_keys=True))
    for warning in card["warnings"]:
        click.echo(f"Warning: {warning}", err=True)


@main.command("rationalize-corpus")
@click.argument("input_path", metavar="INPUT", type=click.Path(exists=True, path_type=Path))
@click.option(
    "--out", required=True, type=click.Path(file_okay=False, path_type=Path), help="Run folder, as corpus run's."
)
@click.option("--model", default="codeq-tiny", show_default=True)
@click.option("--device", default="cpu", show_default=True)
@click.option("--dtype", default="fp32", show_default=True)
@target_rules_options("--targets-per-snippet")
@click.pass_context
def rationalize_corpus_cmd(ctx, input_path, out, model, device, dtype, rules):
    """Deprecated: `codeq corpus run INPUT --engine local` (--targets-per-snippet is --targets-per-item)."""
    click.echo(
        "codeq rationalize-corpus is deprecated: it runs `codeq corpus run --engine local` "
        "(--targets-per-snippet is --targets-per-item)",
        err=True,
    )
    ctx.invoke(
        corpus_run_cmd,
        input_path=input_path,
        out=out,
        model_name=model,
        device=device,
        dtype=dtype,
        engine="local",
        **{f.name: getattr(rules, f.name) for f in fields(TargetRules) if f.name != "categories"},
    )


@main.command("unit-coverage")
@click.argument("paths", nargs=-1, type=click.Path(exists=True, path_type=Path))
@click.option("--language", default="python", show_default=True)
def unit_coverage_cmd(paths, language):
    """Report the share of units in each category over PATHS (default: the whole Python stdlib)."""
    from codeq.source.snippets import category_counts, source_files
    from codeq.training.tiny import stdlib_root

    if not paths:
        root = stdlib_root()
        paths = [p for p in sorted(root.rglob("*.py")) if not {"site-packages", "dist-packages"} & set(p.parts)]
    with user_errors():
        files = source_files(list(paths), language)
        counts = category_counts(files, language)
    total = sum(counts.values())
    click.echo(
        f"{len(files)} files, {total} units, unknown {counts['unknown'] / max(total, 1):.4%}, "
        f"errors {counts['errors'] / max(total, 1):.4%}"
    )
    for category, n in counts.most_common():
        click.echo(f"  {category:<14} {n:>9}  {n / total:.4%}")


@main.command("complete")
@model_options()
@click.argument("prompt_file", type=click.File("r", encoding="utf-8"))
@click.option("--max-new-tokens", default=64, show_default=True, help="Token budget for the completion.")
@click.option(
    "--stop",
    default="eos,blank_line,end_of_function",
    show_default=True,
    help="Comma-separated stop rules: eos, blank_line, end_of_function (empty: budget only).",
)
@click.option(
    "--language",
    type=click.Choice(LANGUAGES),
    default="python",
    show_default=True,
    help="The prompt's language: where its function ends (a dedent, or the closing brace).",
)
@click.option(
    "--format",
    "fmt",
    type=click.Choice(["text", "json"]),
    default="text",
    show_default=True,
    help="text: the completion only; json: ids, offsets and stop reason too.",
)
def complete_cmd(model_name, device, dtype, prompt_file, max_new_tokens, stop, language, fmt):
    """Complete the code in PROMPT_FILE ('-' for stdin) greedily.

    The file's trailing newlines are dropped: byte-level BPE merges a final newline with the next
    line's indentation, so a prompt ending in one makes the model stop at once.

    \b
    Example:
      printf 'def add(a, b):' | codeq complete -m codeq-tiny -
    """
    from codeq.model.completion import complete

    prompt = prompt_file.read().rstrip("\n")
    with user_errors():
        lm = load(model_name, device, dtype)
        rules = tuple(rule.strip() for rule in stop.split(",") if rule.strip())
        result = complete(lm, prompt, max_new_tokens=max_new_tokens, stop=rules, language=language)
    if fmt == "text":
        click.echo(result.text, nl=False)
        return
    click.echo(json.dumps({**asdict(result), "ids": result.ids, "model": lm.name}, ensure_ascii=False))


def read_rationalize_input(lines, tokenizer) -> list[dict]:
    """Parse JSON lines with "text" or "ids" and optional "targets"; tokenize texts."""
    items = []
    for lineno, line in enumerate(lines, 1):
        if not line.strip():
            continue
        try:
            item = json.loads(line)
        except json.JSONDecodeError as err:
            raise UserError(f"input line {lineno}: not JSON ({err.msg})") from None
        if not isinstance(item, dict) or ("text" in item) == ("ids" in item):
            raise UserError(f'input line {lineno}: give exactly one of "text" or "ids"')
        if "text" in item:
            item["ids"] = tokenizer(item["text"])["input_ids"]
        if not item["ids"]:
            raise UserError(f"input line {lineno}: the sequence is empty")
        items.append(item)
    return items


@main.command("rationalize")
@model_options()
@click.argument("input_file", type=click.File("r", encoding="utf-8"))
@click.option(
    "--out",
    "-o",
    type=click.File("w", encoding="utf-8"),
    default="-",
    show_default=True,
    help="Where to write the rationales.",
)
@click.option(
    "--format",
    "fmt",
    type=click.Choice(["jsonl", "json"]),
    default="jsonl",
    show_default=True,
    help="jsonl: one line per input sequence; json: one array.",
)
@click.option("--max-steps", type=int, default=None, help="Most positions added after t-1 (default: no limit).")
@click.option("--batch-size", default=1024, show_default=True, help="Most candidate rows per forward pass.")
@click.option("--max-batch-tokens", default=32768, show_default=True, help="Most padded tokens per forward pass.")
@click.option(
    "--exact/--inexact",
    default=True,
    show_default=True,
    help="bf16/fp16 models: decide near-ties again in fp32, so rationales equal the fp32 computation's.",
)
def rationalize_cmd(model_name, device, dtype, input_file, out, fmt, max_steps, batch_size, max_batch_tokens, exact):
    """Compute greedy rationales for target tokens of the sequences in INPUT_FILE ('-' for stdin).

    INPUT_FILE holds JSON lines, each {"text": "..."} or {"ids": [...]}, optionally with
    "targets": [positions]. Without targets, every position whose token the model predicts itself
    under full context is rationalized. All sequences are searched together.

    \b
    Example:
      echo '{"text": "def add(a, b):\\n    return a + b\\n"}' | codeq rationalize -m codeq-tiny -
    """
    from codeq.rationales.search import predicted_positions, rationalize

    with user_errors():
        lm = load(model_name, device, dtype)
        items = read_rationalize_input(input_file, lm.tokenizer)
        if not items:
            raise UserError("the input holds no sequences")
        targets = [item["targets"] if "targets" in item else predicted_positions(lm, item["ids"]) for item in items]
        results = rationalize(
            lm,
            [item["ids"] for item in items],
            targets,
            max_steps=max_steps,
            batch_size=batch_size,
            max_batch_tokens=max_batch_tokens,
            progress=True,
            exact=exact,
        )
    records = [
        {"ids": item["ids"], "tokens": lm.tokenizer.convert_ids_to_tokens(item["ids"]), "rationales": []}
        for item in items
    ]
    for r in results:
        records[r.sequence_index]["rationales"].append(asdict(r))
    if fmt == "json":
        out.write(json.dumps(records, ensure_ascii=False) + "\n")
    else:
        out.writelines(json.dumps(record, ensure_ascii=False) + "\n" for record in records)


@main.command("explain")
@model_options()
@click.argument("input_file", type=click.File("r", encoding="utf-8"))
@click.option(
    "--method",
    "methods",
    multiple=True,
    default=["greedy"],
    show_default=True,
    help=f"Explainer (repeatable): {', '.join(EXPLAINERS)}.",
)
@click.option(
    "--out",
    "-o",
    type=click.File("w", encoding="utf-8"),
    default="-",
    show_default=True,
    help="Where to write the explanations.",
)
@click.option(
    "--batch-size",
    default=16,
    show_default=True,
    help="Prefixes per forward pass (greedy: candidate rows, at least 1024 used).",
)
@click.option("--n-steps", default=50, show_default=True, help="Integrated gradients: integration steps.")
@click.option("--max-steps", type=int, default=None, help="Greedy: most positions added after t-1.")
def explain_cmd(model_name, device, dtype, input_file, methods, out, batch_size, n_steps, max_steps):
    """Score every context token of target tokens in INPUT_FILE ('-' for stdin) with one or more explainers.

    INPUT_FILE holds JSON lines as for `codeq rationalize`: {"text": "..."} or {"ids": [...]}, optionally
    with "targets": [positions]; without targets, every position the model predicts itself is explained.
    Writes one JSON line per sequence: ids, tokens and, per target, each method's scores of
    positions 0..t-1 (and the set, for greedy). Method details: docs/explainers.md.

    \b
    Example:
      echo '{"text": "def add(a, b):\\n    return a + b"}' | codeq explain -m codeq-tiny --method occlusion -
    """
    from codeq.explainers import explain, explainer
    from codeq.rationales.search import predicted_positions

    with user_errors():
        specs = [explainer(m) for m in methods]
        lm = load(model_name, device, dtype)
        items = read_rationalize_input(input_file, lm.tokenizer)
        if not items:
            raise UserError("the input holds no sequences")
        targets = [item["targets"] if "targets" in item else predicted_positions(lm, item["ids"]) for item in items]
        given = {"n_steps": n_steps, "max_steps": max_steps, "progress": True}
        results = {}
        for spec in specs:
            # greedy's batch is candidate rows of one search step, far more than prefixes of the others
            size = max(batch_size, 1024) if spec.name == "greedy" else batch_size
            options = {name: value for name, value in given.items() if name in spec.options}
            results[spec.name] = explain(
                lm, [item["ids"] for item in items], targets, spec.name, batch_size=size, **options
            )
    records = [
        {
            "ids": item["ids"],
            "tokens": lm.tokenizer.convert_ids_to_tokens(item["ids"]),
            "targets": [{"position": t, "token_id": item["ids"][t], "explanations": {}} for t in ts],
        }
        for item, ts in zip(items, targets)
    ]
    for method, found in results.items():
        place = {}
        for r in found:
            place.setdefault(r.sequence_index, iter(records[r.sequence_index]["targets"]))
            target = next(place[r.sequence_index])
            target["explanations"][method] = {"scores": r.scores, "positions": r.positions, **r.details}
    out.writelines(json.dumps(record, ensure_ascii=False) + "\n" for record in records)


@main.command("compat-finetune")
@model_options(default_dtype="fp32")
@click.option("--data", type=click.Path(path_type=Path), required=True, help="Folder of source files to train on.")
@click.option(
    "--out",
    type=click.Path(path_type=Path),
    required=True,
    help="Folder for checkpoints and the fine-tuned model; rerun to resume.",
)
@click.option(
    "--suffix",
    "suffixes",
    multiple=True,
    default=[".py"],
    show_default=True,
    help="File suffixes to read from --data (repeatable).",
)
@click.option("--steps", default=1000, show_default=True)
@click.option("--batch-size", default=8, show_default=True)
@click.option("--block-size", default=512, show_default=True, help="Tokens per training sequence.")
@click.option("--lr", default=5e-5, show_default=True, help="Peak learning rate (warmup, then cosine decay).")
@click.option("--word-dropout", default=0.5, show_default=True, help="Share of batches trained with word dropout.")
@click.option("--checkpoint-every", default=100, show_default=True)
@click.option("--seed", default=0, show_default=True)
def compat_finetune_cmd(
    model_name,
    device,
    dtype,
    data,
    out,
    suffixes,
    steps,
    batch_size,
    block_size,
    lr,
    word_dropout,
    checkpoint_every,
    seed,
):
    """Fine-tune a causal LM with word dropout (Vafa et al., 2021) so its rationales are meaningful.

    Resumable: rerunning with the same --out continues from the last checkpoint.
    """
    from codeq.training.compat import compat_finetune
    from codeq.training.loop import TrainConfig

    cfg = TrainConfig(
        steps=steps,
        batch_size=batch_size,
        block_size=block_size,
        lr=lr,
        warmup=min(50, steps // 10),
        word_dropout=word_dropout,
        checkpoint_every=checkpoint_every,
        seed=seed,
    )
    with user_errors():
        lm = load(model_name, device, dtype)
        result = compat_finetune(lm, data, out, cfg, suffixes=tuple(suffixes))
    click.echo(json.dumps({k: v for k, v in result.items() if k != "config"}, indent=2))


@main.group("corpus")
def corpus_group():
    """Rationalize whole corpora into resumable Parquet shards, in one process or on Ray."""


@corpus_group.command("run")
@click.argument("input_path", metavar="INPUT", type=click.Path(exists=True, path_type=Path))
@click.option(
    "--out",
    required=True,
    type=click.Path(file_okay=False, path_type=Path),
    help="Run folder: manifest.json, rationales/ and errors/ shards. Rerun to resume.",
)
@model_options(default_dtype="fp32")
@click.option(
    "--engine",
    type=click.Choice(["local", "ray"]),
    default="local",
    show_default=True,
    help="local: this process; ray: Ray Data actors (RAY_ADDRESS joins a cluster).",
)
@click.option("--workers", default=1, show_default=True, help="Ray actors, each loading the model once.")
@click.option("--gpus-per-worker", default=0.0, show_default=True, help="GPUs per Ray actor (0: CPU actors).")
@click.option(
    "--threads",
    type=int,
    default=None,
    help="CPU threads per worker (local default: torch's; Ray CPU actors default: 1).",
)
@click.option("--items-per-shard", default=16, show_default=True, help="Most items per shard file.")
@target_rules_options("--targets-per-item", "Language of a source folder, and of records that name none.")
@click.option(
    "--items-per-call",
    default=64,
    show_default=True,
    help="Most items a worker is sent at once (a killed run redoes at most this many per worker).",
)
@click.option(
    "--tokens-in-flight",
    default=4096,
    show_default=True,
    help="Most tokens (prompt plus --max-new-tokens) of the items a worker rationalizes together.",
)
@click.option(
    "--completion/--no-completion",
    default=True,
    show_default=True,
    help="Complete each item and pick targets in the completion, or rationalize the item's own "
    "tokens that the model predicts itself.",
)
def corpus_run_cmd(
    input_path,
    out,
    model_name,
    device,
    dtype,
    engine,
    workers,
    gpus_per_worker,
    threads,
    items_per_shard,
    rules,
    items_per_call,
    tokens_in_flight,
    completion,
):
    """Complete every item of INPUT, choose targets as `codeq prepare` does, and rationalize them.

    INPUT is a JSONL or Parquet file of items (id, code, optional language; the code is the prompt)
    or a folder of source files (each function of 6-60 lines gives one item: its first half).
    With --no-completion the items' own tokens that the model predicts are the targets.
    Bad items go to OUT/errors with the reason; the run goes on. Killed runs resume where they
    stopped when rerun with the same command. See docs/scale.md.

    \b
    Example:
      codeq corpus run snippets.jsonl --out runs/corpus --model codeq-tiny
      codeq corpus run src/ --out runs/corpus --model codeq-tiny --engine ray --workers 2
    """
    from codeq.corpus_run.manifest import RunSettings
    from codeq.corpus_run.run import run_corpus

    with user_errors():
        summary = run_corpus(
            input_path,
            out,
            RunSettings(model=model_name, dtype=dtype, rules=rules, completion=completion),
            engine=engine,
            workers=workers,
            gpus_per_worker=gpus_per_worker,
            device=device,
            threads=threads,
            items_per_shard=items_per_shard,
            tokens_in_flight=tokens_in_flight,
            items_per_call=items_per_call,
        )
    click.echo(json.dumps(summary, indent=2))


if __name__ == "__main__":
    main()
