"""One definition of the target rules: read from [prepare], generated as the corpus commands' options."""

from pathlib import Path

import pytest
from click.testing import CliRunner

import codeq.corpus_run.run
import codeq.study.tasks
from codeq.cli import main
from codeq.study.instrument import read_study
from contract.study_definition import TargetRules

PILOT = Path(__file__).resolve().parents[2] / "instruments" / "pilot"
PILOT_CATEGORIES = ["identifiers", "operators", "conditionals", "loops", "exceptions", "oop", "functions"]
PILOT_CATEGORIES += ["imports", "assertions", "keywords", "types", "bool", "none", "strings", "numbers"]


def test_the_pilots_prepare_table_gives_its_rules():
    assert read_study(PILOT).rules == TargetRules(
        language="python",
        targets_per_snippet=2,
        selection="converged",
        categories=PILOT_CATEGORIES,
        min_context_units=20,
        max_new_tokens=64,
        max_steps=50,
        seed=0,
    )


@pytest.fixture
def captured(monkeypatch):
    """Replace what the corpus commands run, keeping the rules they were given."""
    seen = {}

    def run_corpus(input_path, out, settings, **kwargs):
        seen["rules"] = settings.rules
        return {}

    def build_tasks(lm, snippets, rules, dtype):
        seen["rules"] = rules
        return []

    monkeypatch.setattr(codeq.corpus_run.run, "run_corpus", run_corpus)
    monkeypatch.setattr(codeq.study.tasks, "build_tasks", build_tasks)
    monkeypatch.setattr("codeq.cli.load", lambda *args: None)
    return seen


@pytest.mark.parametrize(
    ("command", "targets"),
    [
        (["corpus", "run", "{src}", "--out", "{tmp}/run", "-m", "codeq-tiny"], "--targets-per-item"),
        (["rationalize-corpus", "{src}", "--out", "{tmp}/tasks.jsonl"], "--targets-per-snippet"),
    ],
    ids=["corpus run", "rationalize-corpus"],
)
def test_the_corpus_commands_take_every_rule_as_an_option(tmp_path, captured, command, targets):
    (tmp_path / "src").mkdir()
    (tmp_path / "src" / "a.py").write_text("def f(x):\n    return x\n")
    (tmp_path / "src" / "A.java").write_text("class A { int f(int x) { return x; } }\n")
    args = [a.format(src=tmp_path / "src", tmp=tmp_path) for a in command]
    result = CliRunner().invoke(main, args)
    assert result.exit_code == 0, result.output
    assert captured["rules"] == TargetRules(
        language="python",
        targets_per_snippet=4,
        selection="all",
        categories=None,
        min_context_units=10,
        max_new_tokens=64,
        max_steps=50,
        seed=0,
    )
    given = [targets, "3", "--selection", "converged", "--min-context-units", "5", "--max-new-tokens", "32"]
    given += ["--max-steps", "7", "--seed", "11", "--language", "java"]
    result = CliRunner().invoke(main, args + given)
    assert result.exit_code == 0, result.output
    assert captured["rules"] == TargetRules("java", 3, "converged", None, 5, 32, 7, 11)
    wrong = CliRunner().invoke(main, [*args, "--selection", "some"])
    assert wrong.exit_code == 2 and "'some' is not one of 'converged', 'all'" in wrong.output
