"""Every shell block (```bash) of README.md and docs/*.md runs as written, in a temporary folder.

The folder holds a copy of instruments/ and a SQLite database with two studies loaded (the pilot
and a copy of it), so an example that leaves out ``--study`` fails as it would for a researcher
with two studies. A block that needs a server, a GPU, a placeholder filled in or a long run is
marked in the Markdown, visibly to its readers, by a comment on the line before it:

    <!-- docs-test: skip needs a running server -->

A marked block is not run (so it is no test case of the run, rather than a skipped one), but it is
still read: its ``SECRET_KEY=...`` values must pass the app's own key check, and its export and
simulate commands must name ``--study``.
"""

from __future__ import annotations

import os
import re
import secrets
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from study_app.config import key_problem

ROOT = Path(__file__).parents[1]
DOCS = [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]
FENCE = re.compile(r"^```bash\n(.*?)^```", re.S | re.M)
SKIP = re.compile(r"<!-- docs-test: skip (.+?) -->\s*$")
STUDY_COMMANDS = re.compile(r"flask --app study_app (export|simulate)\b[^\n]*")


def shell_blocks() -> list:
    """(file:line, code, skip reason or None) for every bash block, in document order."""
    found = []
    for path in DOCS:
        text = path.read_text(encoding="utf-8")
        for m in FENCE.finditer(text):
            before = text[: m.start()].rstrip("\n").rsplit("\n", 1)[-1]
            skip = SKIP.search(before)
            where = f"{path.relative_to(ROOT)}:{text.count(chr(10), 0, m.start()) + 1}"
            found.append(pytest.param(m.group(1), skip.group(1) if skip else None, id=where))
    return found


BLOCKS = shell_blocks()
RUNNABLE = [pytest.param(b.values[0], id=b.id) for b in BLOCKS if b.values[1] is None]


@pytest.fixture(scope="module")
def docs_folder(tmp_path_factory):
    """A folder laid out as the repository's root, with a database holding two studies."""
    folder = tmp_path_factory.mktemp("docs")
    shutil.copytree(ROOT / "instruments", folder / "instruments")
    for name in ("scripts", "bench", "gunicorn.conf.py"):
        (folder / name).symlink_to(ROOT / name)
    env = {
        **os.environ,
        "PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ['PATH']}",
        "PYTHONPATH": str(ROOT),
        "DATABASE_URL": f"sqlite:///{folder / 'study.db'}",
        "SECRET_KEY": secrets.token_hex(32),
        "EXPORT_KEY": secrets.token_hex(32),
        "RATELIMIT_STORAGE_URI": "memory://",
        "CODEQ_LOG_LEVEL": "ERROR",
    }
    second = shutil.copytree(folder / "instruments" / "pilot", folder / "second")
    toml = (second / "study.toml").read_text()
    (second / "study.toml").write_text(toml.replace('id = "pilot"', 'id = "second"', 1))
    setup = "flask --app study_app db upgrade && flask --app study_app load-study instruments/pilot"
    setup += " && flask --app study_app load-study second"
    done = subprocess.run(["bash", "-c", setup], cwd=folder, env=env, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stdout + done.stderr
    return folder, env


@pytest.mark.slow
@pytest.mark.parametrize("code", RUNNABLE)
def test_shell_block_runs_as_written(docs_folder, code):
    folder, env = docs_folder
    done = subprocess.run(
        ["bash", "-e", "-o", "pipefail", "-c", code],
        cwd=folder,
        env=env,
        capture_output=True,
        text=True,
        timeout=900,  # the README's tour prepares the pilot: minutes on a busy CPU
        stdin=subprocess.DEVNULL,
    )
    assert done.returncode == 0, f"exit {done.returncode}\n{done.stdout[-2000:]}\n{done.stderr[-2000:]}"


@pytest.mark.parametrize("code, skip", BLOCKS)
def test_every_block_uses_strong_keys_and_names_the_study(code, skip):
    for key in re.findall(r"\b(?:SECRET_KEY|EXPORT_KEY)=(\S+)", code):
        if not key.startswith(("$", "...")):  # generated, or a placeholder the reader fills in
            assert key_problem("SECRET_KEY", key) is None, f"SECRET_KEY={key}: {key_problem('SECRET_KEY', key)}"
    for command in STUDY_COMMANDS.finditer(code):
        assert "--study" in command.group(0), f"{command.group(0)!r} fails once the database holds two studies"


def test_the_blocks_are_found():
    """The parser sees the blocks (a changed fence style would silently test nothing)."""
    assert len(BLOCKS) >= 15
    reasons = [p.values[1] for p in BLOCKS if p.values[1]]
    assert len(reasons) < len(BLOCKS)  # some blocks run
