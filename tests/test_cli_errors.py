"""One error path for both command lines: a user's mistake is one line and exit status 1, a bug keeps its traceback."""

import subprocess
import sys
from pathlib import Path

import click
import pytest

from contract.errors import UserError, user_errors

ROOT = Path(__file__).parents[1]
# Run a command line in a fresh interpreter after replacing one function with one that fails like a bug.
WITH_BUG = """
import sys, {module} as target
def bug(*args, **kwargs):
    raise ValueError("a bug, not the user's mistake")
target.{name} = bug
from {cli} import main
main(sys.argv[1:])
"""


def run(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, *args], capture_output=True, text=True, cwd=ROOT, timeout=300, stdin=subprocess.DEVNULL
    )


def test_user_errors_turns_only_user_mistakes_into_one_line(tmp_path):
    with pytest.raises(click.ClickException) as caught, user_errors():
        raise UserError("study.toml: tasks_per_participant must be positive")
    assert caught.value.exit_code == 1 and caught.value.format_message() == (
        "study.toml: tasks_per_participant must be positive"
    )
    with pytest.raises(click.ClickException) as caught, user_errors():
        (tmp_path / "absent.jsonl").open()
    assert caught.value.format_message() == f"{tmp_path / 'absent.jsonl'}: No such file or directory"
    with pytest.raises(ValueError, match="^a bug$"), user_errors():  # a plain ValueError is a bug
        raise ValueError("a bug")


@pytest.mark.parametrize(
    ("args", "line"),
    [
        (
            ["-m", "analysis", "explain", "absent.jsonl", "--out", "{tmp}/out"],
            "Error: absent.jsonl: no such file or folder",
        ),
        (
            ["-m", "codeq.cli", "explain", "-m", "codeq-tiny", "--method", "lime", "-"],
            "Error: unknown explainer 'lime': use one of greedy, attention, attention_rollout, saliency, "
            "grad_x_input, integrated_gradients, occlusion",
        ),
    ],
    ids=["analysis", "codeq"],
)
def test_a_user_mistake_is_one_line_and_status_1(tmp_path, args, line):
    done = run(*(a.format(tmp=tmp_path) for a in args))
    assert done.returncode == 1
    assert done.stderr.strip().splitlines() == [line]


@pytest.mark.parametrize(
    ("module", "name", "cli", "args"),
    [
        ("analysis.task_input", "read_task_input", "analysis.__main__", ["explain", "x.jsonl", "--out", "{tmp}"]),
        ("codeq.explainers", "explainer", "codeq.cli", ["explain", "-m", "codeq-tiny", "-"]),
    ],
    ids=["analysis", "codeq"],
)
def test_a_bug_keeps_its_traceback(tmp_path, module, name, cli, args):
    done = run("-c", WITH_BUG.format(module=module, name=name, cli=cli), *(a.format(tmp=tmp_path) for a in args))
    assert done.returncode == 1
    assert "Traceback (most recent call last)" in done.stderr
    assert done.stderr.strip().splitlines()[-1] == "ValueError: a bug, not the user's mistake"
