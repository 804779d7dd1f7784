"""Every benchmark in bench/ runs at its smallest size and prints figures that are there and plausible.

Each runs as a user runs it (``python -m bench.<name>`` from the repository root, in its own process),
so a benchmark whose imports, options or output drifted from the packages fails here.
"""

from __future__ import annotations

import ast
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest
import sqlalchemy as sa

from contract.prepared_tasks import EXPLAINERS
from study_app.instrument import load_instrument

ROOT = Path(__file__).resolve().parents[2]
POSTGRES_URL = os.environ.get("CODEQ_TEST_POSTGRES_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test")
NUMBER = r"([0-9]+(?:\.[0-9]+)?(?:e[-+]?[0-9]+)?)"

PACKAGES = {"codeq", "study_app", "analysis"}


@pytest.mark.parametrize("script", sorted(p.name for p in (ROOT / "bench").glob("*.py")))
def test_benchmark_imports_what_it_measures_from_the_packages(script):
    """No sys.path edits, nothing from tests/ or from another benchmark: what runs is what users import."""
    tree = ast.parse((ROOT / "bench" / script).read_text(), script)
    siblings = {p.stem for p in (ROOT / "bench").glob("*.py")} - PACKAGES
    for node in ast.walk(tree):
        if isinstance(node, ast.Attribute) and node.attr == "path" and getattr(node.value, "id", None) == "sys":
            pytest.fail(f"{script}:{node.lineno} edits sys.path")
        if isinstance(node, ast.Import | ast.ImportFrom):
            names = [a.name for a in node.names] if isinstance(node, ast.Import) else [node.module or ""]
            for name in names:
                top = name.split(".")[0]
                assert top not in {"tests", "bench"} | siblings, f"{script}:{node.lineno} imports {name}"


def bench(name: str, *args: str, timeout: float = 900) -> str:
    """Run ``bench/<name>.py`` with ``args``; return its standard output (it must exit 0)."""
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(ROOT), os.environ.get("PYTHONPATH", "")])}
    result = subprocess.run(
        [sys.executable, "-m", f"bench.{name}", *args],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=timeout,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    return result.stdout


def figure(pattern: str, text: str) -> list[float]:
    """The numbers of the one line matching ``pattern`` (NUMBER groups), which must be there."""
    match = re.search(pattern, text, re.M)
    assert match, f"no line matches {pattern!r} in:\n{text}"
    return [float(g) for g in match.groups()]


@pytest.mark.slow
def test_explainers_time_every_method():
    out = bench("explainers", "--snippets", "1", "--targets", "2", "--max-tokens", "32", "--max-steps", "4")
    (tokens,) = figure(rf"^model codeq-tiny on cpu \(torch.float32\); 1 snippets of {NUMBER} tokens, 2 targets$", out)
    assert tokens == 32
    rows = {m: figure(rf"^{m} +{NUMBER} +{NUMBER} +{NUMBER}$", out) for m in EXPLAINERS}
    for method, (per_target, cpu_per_target, total) in rows.items():
        assert per_target > 0 and cpu_per_target > 0 and total == pytest.approx(2 * per_target, abs=0.01), method
    # integrated gradients makes 50 forward and backward passes per target, attention one forward pass
    assert rows["integrated_gradients"][1] > 5 * rows["attention"][1]


@pytest.mark.slow
def test_precision_error_measures_every_model_under_the_bound():
    out = bench(
        "precision_error",
        *("--snippets", "1", "--steps-per-snippet", "1", "--max-subset", "2", "--max-tokens", "24"),
        *("--dtype", "bf16", "--size", "tiny", "--threads", "1"),
    )
    for model in ("codeq-tiny", "random gpt2 tiny", "random llama tiny"):
        rows, steps, _ = figure(
            rf"^{model} bf16: {NUMBER} rows in {NUMBER} steps, largest \|logit\| median {NUMBER}$", out
        )
        assert steps == 1 and 2 <= rows <= 23  # one row per j < t outside S, t < 24
    largest, relative, choice, stopping = figure(
        rf"^bf16 over all models: largest \|e\| {NUMBER}; relative to the scale: \|e\| {NUMBER}, "
        rf"choice-margin error {NUMBER}, stopping-margin error {NUMBER}; engine default bound 0.03$",
        out,
    )
    assert 0 < relative <= largest < 1 and 0 < choice < 0.03 and 0 < stopping < 0.03  # bf16 keeps 8 bits
    missed = [int(n) for n in re.findall(r"^  bound 0\.03  : .* re-scored, (\d+) missed$", out, re.M)]
    assert missed == [0, 0, 0]


@pytest.mark.slow
def test_model_quality_reports_perplexity_and_completions():
    out = bench("model_quality", "--functions", "2", "--max-new-tokens", "8", "--max-blocks", "2", "--threads", "1")
    perplexity, tokens = figure(rf"^model codeq-tiny \(fp32\): held-out perplexity {NUMBER} over {NUMBER} tokens$", out)
    assert tokens == 2 * 512 and 1 < perplexity < 8192 / 10  # far better than guessing among 8,192 tokens
    repeating, parsing = figure(
        rf"^2 held-out functions, 8 new tokens: {NUMBER} completions repeat a non-blank line, "
        rf"{NUMBER} prompt\+completion texts parse without tree-sitter errors$",
        out,
    )
    assert 0 <= repeating <= 2 and 0 <= parsing <= 2


@pytest.mark.slow
def test_export_study_seeds_and_exports_the_pilot():
    out = bench("export_study", "--participants", "3", "--events", "1")
    pilot = load_instrument(ROOT / "instruments" / "pilot")
    each = len(pilot.tutorial) + 2 * pilot.config["study"]["tasks_per_participant"] + len(pilot.attention)
    seeded = figure(
        rf"^seeded {{'participants': {NUMBER}, 'responses': {NUMBER}, 'selections': {NUMBER}, 'events': {NUMBER}}}",
        out,
    )
    assert seeded[:2] == [3, 3 * each] and seeded[3] == 3 * (each - pilot.config["study"]["tasks_per_participant"])
    (built, csv, zipped, total, _, megabytes) = figure(
        rf"^export in process: build {NUMBER} s, \+CSV {NUMBER} s, \+zip {NUMBER} s = {NUMBER} s wall, "
        rf"{NUMBER} s CPU; zip {NUMBER} MB; rows participants 3, responses {3 * each}, ",
        out,
    )
    assert total == pytest.approx(built + csv + zipped, abs=0.15) and 0 < megabytes < 10
    seconds, _ = figure(rf"^admin download \(HTTP route\): {NUMBER} s, {NUMBER} MB, status 200; .*: within$", out)
    assert seconds > 0


@pytest.mark.slow
def test_load_study_loses_nothing(service_missing):
    try:
        sa.create_engine(POSTGRES_URL).connect().close()
    except sa.exc.OperationalError as err:
        service_missing(f"PostgreSQL is unreachable at {POSTGRES_URL}: {str(err).splitlines()[0]}")
    out = bench(
        "load_study",
        *("--bots", "1", "--fault-bots", "1", "--kill-after", "1", "--workers", "2", "--threads", "2"),
        *("--server", POSTGRES_URL),
    )
    assert figure(rf"^bots finished +{NUMBER} / {NUMBER}", out) == [1, 1]
    for phase in ("load: 1 bots at once", "fault: 1 bots, one worker killed"):
        section = out.split(f"== {phase} ==")[1]
        sent, stored = figure(rf"^answers ack'd/stored +{NUMBER} / {NUMBER}", section)
        assert sent == stored > 0
        p50, p95, p99, largest = figure(
            rf"^answer latency ms +p50 {NUMBER} +p95 {NUMBER} +p99 {NUMBER} +max {NUMBER}$", section
        )
        assert 0 < p50 <= p95 <= p99 <= largest
    assert "nothing acknowledged lost, no duplicates: load True, fault True" in out
