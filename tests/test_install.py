"""The base install (no extras) is the study app and the analysis, without torch or transformers."""

import os
import secrets
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).parents[1]


@pytest.mark.slow
def test_app_only_install_runs_without_torch(tmp_path):
    venv = tmp_path / "venv"
    subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True)
    python, bindir = venv / "bin" / "python", venv / "bin"
    # A plain, non-editable install of a copy of the tree (pip builds in place; pip's cache keeps reruns quick).
    source = tmp_path / "source"
    for name in ("pyproject.toml", "README.md"):
        (source / name).parent.mkdir(exist_ok=True)
        shutil.copy(ROOT / name, source / name)
    for package in ("contract", "codeq", "study_app", "analysis"):
        shutil.copytree(ROOT / package, source / package, ignore=shutil.ignore_patterns("__pycache__", "checkpoint.pt"))
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "VIRTUAL_ENV")}
    env["PATH"] = f"{bindir}{os.pathsep}{env['PATH']}"
    # as a deployment would: outside debug and testing the app refuses to start without a real key
    env["SECRET_KEY"] = secrets.token_hex(32)
    subprocess.run(
        [str(python), "-m", "pip", "install", "-q", str(source)], check=True, env=env, cwd=tmp_path, timeout=900
    )

    def run(*args):
        return subprocess.run(
            [str(a) for a in args], capture_output=True, text=True, env=env, cwd=tmp_path, timeout=300
        )

    absent = run(
        python,
        "-c",
        "import importlib.util as u; print([m for m in ('torch', 'transformers', "
        "'tree_sitter', 'ray', 'pytest') if u.find_spec(m)])",
    )
    assert absent.stdout.strip() == "[]", absent.stderr
    flask = run(bindir / "flask", "--app", "study_app", "--help")
    assert flask.returncode == 0, flask.stderr
    assert "load-study" in flask.stdout and "export" in flask.stdout
    analysis = run(python, "-m", "analysis", "--help")
    assert analysis.returncode == 0, analysis.stderr
    assert "report" in analysis.stdout
    codeq = run(bindir / "codeq", "prepare", ROOT / "instruments" / "pilot")
    assert codeq.returncode == 1
    assert codeq.stderr.strip().splitlines() == [
        "Error: `codeq prepare` needs the model engine (torch is not installed): pip install 'codeq-study[engine]'"
    ]
