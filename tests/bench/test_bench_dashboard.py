"""bench/export_study.py --dashboard at its smallest size: dashboard reloads timed while bots answer."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def test_dashboard_reloads_are_timed_while_answers_arrive():
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    args = ["--participants", "3", "--events", "1", "--dashboard", "6", "--bots", "1", "--every", "0.5"]
    done = subprocess.run(
        [sys.executable, "-m", "bench.export_study", *args],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert done.returncode == 0, done.stderr
    cold = re.search(
        r"^dashboard first load \(computes the figures\): ([\d.]+) s; figures as of .+ \((\d+) finished",
        done.stdout,
        re.M,
    )
    assert cold and float(cold[1]) > 0 and int(cold[2]) == 3  # the three seeded participants, all finished
    line = re.search(
        r"^dashboard: (\d+) reloads while 1 bots answered \((\d+) answers stored\): p50 (\d+) ms, p95 (\d+) ms, "
        r"max (\d+) ms; (\d+) showed figures behind the database; (\d+) distinct computations shown",
        done.stdout,
        re.M,
    )
    assert line, done.stdout
    reloads, stored, p50, p95, top, behind, computed = map(int, line.groups())
    assert reloads >= 3 and stored > 0 and 0 < p50 <= p95 <= top and behind <= reloads and computed >= 1
