"""A Java and a JavaScript study prepared as a researcher would: realistic methods that stop
mid-body, a tiny Llama made for the two languages with `codeq compat-finetune`, `codeq prepare`.

The model learns the sources in java_js/sources by heart, so its completion of each snippet is
the rest of the method, known here from the file: the expected text is read from the file up to the
line that closes the method (counted by hand, below), independently of the engine.
"""

import json
from pathlib import Path

import pytest
import torch
from click.testing import CliRunner

from codeq.cli import main
from codeq.model.random_models import build
from codeq.source.units import parser_for
from codeq.training.loop import TrainConfig, train
from codeq.training.tiny import train_tokenizer
from contract.prepared_tasks import read_tasks

SOURCES = Path(__file__).parent / "java_js" / "sources"

# file -> (lines the snippet keeps, the 1-based line whose "}" closes the method the snippet ends in)
JAVA = {
    "BinarySearch.java": (7, 16),
    "Point.java": (11, 14),  # getX() follows distanceTo(): the completion must not reach it
    "WordCount.java": (8, 15),
    "Stack.java": (8, 14),
    "Strings.java": (4, 9),
    "Fibonacci.java": (7, 14),
}
JAVA_TUTORIAL = {"Maximum.java": (4, 10)}
JAVASCRIPT = {
    "debounce.js": (3, 8),  # ends in the returned function, which closes first
    "groupBy.js": (4, 11),
    "formatDuration.js": (3, 8),
}
JAVASCRIPT_TUTORIAL = {"sum.js": (2, 7)}

STUDY = """\
[study]
id = "{id}"
title = "A {language} study"
researcher = "Test Lab"
contact = "lab@example.org"
estimated_minutes = 10
description = "Which code mattered to the model?"
tasks_per_participant = 3
seed = 1

[model]
name = "{model}"

[prepare]
language = "{language}"
targets_per_snippet = 2
selection = "all"
min_context_units = 10
max_new_tokens = 60
"""


@pytest.fixture(scope="session")
def java_js_model(tmp_path_factory):
    """A 2-layer Llama (hidden 64) with its own byte-level BPE, taught the sources, then
    compatibility fine-tuned on them with `codeq compat-finetune` (word dropout)."""
    torch.set_num_threads(1)
    root = tmp_path_factory.mktemp("java-js-model")
    texts = [p.read_text() for p in sorted(SOURCES.iterdir())]
    tokenizer = train_tokenizer(texts * 4, vocab_size=1000)
    base = build(
        "llama",
        layers=2,
        width=64,
        heads=4,
        vocab=len(tokenizer),
        context=512,
        intermediate=128,
        kv_heads=4,
        bos_eos_zero=True,
        tie_embeddings=True,
    )
    # stands in for a code model that already knows the languages: one block per file, each file
    # starting at position 0 as a prompt does
    rows = [(tokenizer(text)["input_ids"] + [tokenizer.eos_token_id] * 128)[:128] for text in texts]
    cfg = TrainConfig(steps=300, batch_size=8, block_size=128, lr=1e-2, warmup=10, word_dropout=0.0)
    train(base, tokenizer, torch.tensor(rows), root / "base", cfg)
    args = ["compat-finetune", "--model", str(root / "base"), "--data", str(SOURCES), "--out", str(root / "model")]
    args += ["--suffix", ".java", "--suffix", ".js", "--steps", "20", "--batch-size", "4", "--block-size", "128"]
    result = CliRunner().invoke(main, [*args, "--lr", "2e-4", "--device", "cpu"])
    assert result.exit_code == 0, result.output
    return root / "model"


def make_study(root: Path, language: str, model: Path, snippets: dict, tutorial: dict) -> Path:
    root.mkdir()
    (root / "study.toml").write_text(STUDY.format(id=language, language=language, model=model))
    (root / "consent.md").write_text("You agree.\n")
    (root / "questionnaire.toml").write_text('[[questions]]\nid = "years"\ntext = "Years?"\ntype = "number"\n')
    for folder, files in (("snippets", snippets), ("tutorial", tutorial)):
        (root / folder).mkdir()
        for name, (keep, _) in files.items():
            lines = (SOURCES / name).read_text().split("\n")
            (root / folder / name).write_text("\n".join(lines[:keep]) + "\n")
    return root


def rest_of_method(name: str) -> str:
    """The source after the snippet, through the "}" that closes its method."""
    keep, close = {**JAVA, **JAVASCRIPT}[name]
    lines = (SOURCES / name).read_text().split("\n")
    closing = lines[close - 1]
    return "\n" + "\n".join(lines[keep : close - 1] + [closing[: closing.index("}") + 1]])


SUFFIX = {"java": ".java", "javascript": ".js"}
# BinarySearch.java with a header line and a ";" missing on line 4 of the file
BROKEN = "// source: BinarySearch.java, a semicolon removed\n" + "\n".join(
    (SOURCES / "BinarySearch.java").read_text().split("\n")[:7]
).replace("int low = 0;", "int low = 0")


@pytest.mark.slow
@pytest.mark.parametrize(
    "language, snippets, tutorial",
    [("java", JAVA, JAVA_TUTORIAL), ("javascript", JAVASCRIPT, JAVASCRIPT_TUTORIAL)],
)
def test_snippets_ending_mid_body_get_targets_from_their_completion_lines(
    tmp_path, java_js_model, language, snippets, tutorial
):
    folder = make_study(tmp_path / "study", language, java_js_model, snippets, tutorial)
    if language == "java":
        (folder / "snippets" / "Broken.java").write_text(BROKEN)
    result = CliRunner().invoke(main, ["prepare", str(folder)])
    assert result.exit_code == 0, result.output
    card = json.loads((folder / "model_card.json").read_text())
    tasks = read_tasks(folder / "tasks.jsonl")
    # the realistic snippets end inside open blocks: tree-sitter alone reports an error in each ...
    parser = parser_for(language)
    assert all(parser.parse((folder / "snippets" / n).read_bytes()).root_node.has_error for n in snippets)
    # ... but only the snippet with a real mistake warns, on its line in the file
    parse_warnings = [w for w in card["warnings"] if "does not parse as" in w]
    expected = "snippet Broken does not parse as java: a syntax error on line 4 (int low = 0)"
    assert parse_warnings == ([expected] if language == "java" else [])
    by_snippet: dict[str, list] = {}
    for task in tasks:
        by_snippet.setdefault(task.snippet_id, []).append(task)
    for name in snippets:
        found = by_snippet[Path(name).stem]
        assert len(found) == 2, name
        # the completion is the method's own rest, read from the file: it stops where the method
        # closes (the closing line may end at a token boundary before its "}")
        completion = found[0].completion
        rest = rest_of_method(name)
        assert rest.startswith(completion) and "\n" not in rest[len(completion) :], (name, completion)
        for task in found:
            token = task.tokens[task.target.token_index]
            assert token.start >= len(task.prompt)  # a token the model wrote
            line = (task.prompt + task.completion)[: token.start].count("\n")
            assert (task.prompt + task.completion).split("\n")[line] in rest.split("\n")  # one of its lines
    if language == "java":
        assert "getX" not in by_snippet["Point"][0].completion
