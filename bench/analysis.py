"""Benchmark the analysis report on a synthetic export.

    python bench/analysis.py                      # 1,000 participants x 20 tasks x 150 units
    python bench/analysis.py --participants 100   # smaller

Writes a synthetic export as Parquet to a temporary folder (vectorized numpy, a few seconds), runs
the report (without the mixed models) on it and prints the wall time and the peak resident memory of
the process, then times the human ceiling (with its permutation test) on its own and, with --mixed,
the per-category mixed models.
"""

from __future__ import annotations

import resource
import sys
import tempfile
import time
from pathlib import Path

import click
import numpy as np
import pandas as pd

# This file is named like the package it measures: drop its own folder from the import path so
# that ``import analysis`` finds the package, not this script.
sys.path[:] = [p for p in sys.path if Path(p or ".").resolve() != Path(__file__).resolve().parent]

GROUPS = {
    "semantic": [
        "conditionals",
        "loops",
        "exceptions",
        "oop",
        "functions",
        "return",
        "imports",
        "assertions",
        "types",
        "bool",
        "none",
        "operators",
    ],
    "natural language": ["identifiers", "strings", "numbers", "comments"],
    "non-semantic": ["indentation", "newline", "punctuation"],
    "errors": ["errors"],
}
CATEGORIES = [c for cs in GROUPS.values() for c in cs]
GROUP_OF = np.array([g for g, cs in GROUPS.items() for _ in cs])


def make_export(folder: Path, participants: int, tasks_each: int, units: int, pool: int, seed: int) -> dict[str, int]:
    """Write units, selections, model_rationales and participants as Parquet; return the row counts."""
    rng = np.random.default_rng(seed)
    task_ids = np.array([f"t{i:04d}" for i in range(pool)])
    category = rng.integers(0, len(CATEGORIES), size=(pool, units))
    selectable = np.zeros((pool, units), dtype=np.int8)
    selectable[:, 5 : units - 10] = 1  # context_start = 5, target 10 units before the end
    in_rationale = (rng.random((pool, units)) < 0.06 * (1 + (category < 5))) & (selectable == 1)
    unit_frame = pd.DataFrame(
        {
            "task_id": np.repeat(task_ids, units),
            "unit_index": np.tile(np.arange(units), pool),
            "text": np.char.add(np.array(CATEGORIES)[category.ravel()], rng.integers(0, 30, pool * units).astype(str)),
            "category": np.array(CATEGORIES)[category.ravel()],
            "group": GROUP_OF[category.ravel()],
            "selectable": selectable.ravel(),
            "start": 0,
            "end": 0,
            "line": 0,
        }
    )
    unit_frame.to_parquet(folder / "units.parquet", index=False)
    pd.DataFrame(
        {
            "task_id": unit_frame["task_id"],
            "unit_index": unit_frame["unit_index"],
            "in_rationale": in_rationale.ravel().astype(np.int8),
        }
    ).to_parquet(folder / "model_rationales.parquet", index=False)

    # each participant sees tasks_each distinct tasks of the pool; selections cover the selectable units
    seen = np.argsort(rng.random((participants, pool)), axis=1)[:, :tasks_each]  # (P, K)
    cols = np.flatnonzero(selectable[0])
    task = np.repeat(seen.ravel(), cols.size)  # (P*K*U,)
    unit = np.tile(cols, participants * tasks_each)
    p_select = 0.04 + 0.25 * in_rationale[task, unit] + 0.03 * (category[task, unit] % 4)
    pid = np.array([f"p{i:05d}" for i in range(participants)])
    pd.DataFrame(
        {
            "participant_id": np.repeat(pid, tasks_each * cols.size),
            "task_id": task_ids[task],
            "unit_index": unit,
            "selected": (rng.random(task.size) < p_select).astype(np.int8),
        }
    ).to_parquet(folder / "selections.parquet", index=False)
    excluded = (rng.random(participants) < 0.02).astype(np.int8)
    pd.DataFrame({"participant_id": pid, "excluded": excluded}).to_parquet(folder / "participants.parquet", index=False)
    return {"units": len(unit_frame), "selections": int(task.size), "excluded": int(excluded.sum())}


def peak_rss_mib() -> float:
    """Peak resident set size of this process so far (Linux reports KiB, macOS bytes)."""
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return peak / 2**20 if sys.platform == "darwin" else peak / 2**10


@click.command()
@click.option("--participants", default=1000, show_default=True)
@click.option("--tasks-each", default=20, show_default=True)
@click.option("--units", default=150, show_default=True)
@click.option("--pool", default=200, show_default=True, help="Distinct tasks in the study.")
@click.option("--n-boot", default=2000, show_default=True)
@click.option("--seed", default=0, show_default=True)
@click.option("--mixed", is_flag=True, help="Also time the per-category mixed models (slow: minutes).")
def main(participants, tasks_each, units, pool, n_boot, seed, mixed):
    """Time the whole report on a synthetic export."""
    from analysis.ceiling import ceiling_summary, human_agreement
    from analysis.io import load_export
    from analysis.mixed import category_mixed_models
    from analysis.report import write_report
    from analysis.tidy import response_units

    with tempfile.TemporaryDirectory() as tmp:
        export, out = Path(tmp) / "export", Path(tmp) / "report"
        export.mkdir()
        t0 = time.perf_counter()
        rows = make_export(export, participants, tasks_each, units, max(pool, tasks_each), seed)
        t1 = time.perf_counter()
        rss_before = peak_rss_mib()
        write_report(export, out, n_boot=n_boot, seed=seed, mixed=False)
        t2 = time.perf_counter()
        print(f"export: {participants} participants x {tasks_each} tasks x {units} units; rows {rows}")
        print(f"generate + write parquet: {t1 - t0:.1f} s (peak RSS {rss_before:.0f} MiB)")
        print(
            f"report (load, validate, all statistics but the mixed models, {n_boot} bootstrap replicates, plots, "
            f"html): {t2 - t1:.1f} s"
        )
        print(f"peak RSS of the process: {peak_rss_mib():.0f} MiB")
        loaded = load_export(export)
        data = response_units(loaded.selections, loaded.units, loaded.model_rationales)
        t3 = time.perf_counter()
        summary = ceiling_summary(human_agreement(data), data, n_boot=n_boot, seed=seed)
        t4 = time.perf_counter()
        print(
            f"of which human ceiling + 1000 random rationales per task: {t4 - t3:.1f} s "
            f"(fraction of ceiling {summary['fraction_of_ceiling'].iloc[0]:.3f})"
        )
        if mixed:
            category_mixed_models(data)
            print(f"mixed models for {len(CATEGORIES)} categories: {time.perf_counter() - t4:.1f} s")


if __name__ == "__main__":
    main()
