"""bench/analysis.py at its smallest size: it runs, measures the real package, and prints every figure."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pandas as pd

from analysis.report import SECTIONS
from contract.taxonomy import load_taxonomy

ROOT = Path(__file__).resolve().parents[2]
SMALL = ["--participants", "12", "--tasks-each", "4", "--units", "30", "--pool", "8", "--n-boot", "50"]


def run(*args: str) -> subprocess.CompletedProcess:
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    return subprocess.run([sys.executable, *args], cwd=ROOT, env=env, capture_output=True, text=True, timeout=600)


def test_smallest_run_prints_plausible_figures():
    done = run("-m", "bench.analysis", *SMALL)
    assert done.returncode == 0, done.stderr
    out = done.stdout
    rows = re.search(r"rows \{'units': (\d+), 'selections': (\d+), 'excluded': (\d+)\}; (\d+) selection rows", out)
    # 8 tasks x 30 units; 12 participants x 4 tasks x 15 selectable units (5 to 20)
    assert rows and (int(rows[1]), int(rows[2]), int(rows[4])) == (240, 720, 720)
    total = re.search(r"report without the mixed models: ([\d.]+) s wall, ([\d.]+) s CPU, peak RSS (\d+) MiB", out)
    wall, cpu, peak = float(total[1]), float(total[2]), int(total[3])
    assert cpu > 0 and 0 < wall < 600 and 50 < peak < 4000
    steps = dict(re.findall(r"^  (\S+): ([\d.]+) s wall, [\d.]+ s CPU$", out, re.MULTILINE))
    names = {build.__name__ for build in SECTIONS} | {"agreement tables"}
    assert names - {"agreement tables"} <= set(steps) and "agreement tables" in out
    assert sum(float(v) for v in steps.values()) <= wall
    ceiling = re.search(r"fraction of the ceiling (undefined \(.+\)|-?[\d.]+)$", out, re.MULTILINE)
    assert ceiling, out
    # the synthetic people select near the model's rationale at random: agreement among them is near chance
    assert ceiling[1].startswith("undefined (the human ceiling")


def test_synthetic_export_uses_the_taxonomy(tmp_path):
    from bench.analysis import make_export

    make_export(tmp_path, participants=3, tasks_each=2, units=40, pool=4, seed=1)
    units = pd.read_parquet(tmp_path / "units.parquet")
    groups = load_taxonomy("python").groups
    assert set(units["category"]) <= set(groups)
    assert (units["group"] == units["category"].map(groups)).all()


def test_run_as_a_script_says_how_to_run_it():
    done = run("bench/analysis.py", *SMALL)
    assert done.returncode == 1 and "python -m bench.analysis" in done.stderr
