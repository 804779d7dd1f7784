"""Benchmark the analysis report on a synthetic export, or on the pilot's real export grown to a crowd.

    python -m bench.analysis                              # synthetic: 1,000 participants x 20 tasks x 150 units
    python -m bench.analysis --participants 20 --pool 30  # smaller
    python -m bench.analysis --pilot 1500                 # the pilot answered by 6 bots, grown to 1,500 participants
    python -m bench.analysis --pilot 1000 --mixed --power # also the mixed models and `analysis power`

Run it from the repository root as a module: as a script its own folder would come first on the import
path and this file would shadow the ``analysis`` package it measures.

The report runs as the researcher runs it, ``python -m analysis report EXPORT --out ... --no-mixed``,
in a child process, so the figures printed are that command's: wall and CPU seconds, peak resident
memory, and the wall and CPU seconds of each step (the report logs them at INFO). The synthetic
export is written to a temporary folder; the grown pilot is cached in ``--cache`` (built once:
bots through the study app, then clones with 15% of their selections flipped: :func:`simulated_pilot`,
:func:`grow_export`).
"""

from __future__ import annotations

import logging
import re
import resource
import shutil
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

import click
import numpy as np
import pandas as pd

from contract.taxonomy import load_taxonomy

if not __package__:
    sys.exit("run it as a module from the repository root: python -m bench.analysis")

TAXONOMY = load_taxonomy("python")
CATEGORIES = TAXONOMY.categories
GROUP_OF = np.array([TAXONOMY.groups[c] for c in CATEGORIES])
ROOT = Path(__file__).resolve().parents[1]
PILOT = ROOT / "instruments" / "pilot"
CLONED = ("participants", "responses", "selections", "questionnaire")  # tables with a row per participant


def simulated_pilot(folder: Path, n_participants: int = 6, seed: int = 0) -> Path:
    """Write the export of the pilot answered by ``n_participants`` bots to ``folder`` (Parquet); return it."""
    import sqlalchemy as sa
    from werkzeug.serving import make_server

    from study_app import create_app
    from study_app.extensions import db
    from study_app.models import Study
    from study_app.simulate import Catalog, Settings, run_bots

    folder.mkdir(parents=True, exist_ok=True)
    logging.getLogger("werkzeug").setLevel(logging.WARNING)  # not a line per request of the bots
    with tempfile.TemporaryDirectory() as tmp:
        app = create_app({"TESTING": True, "SECRET_KEY": "bench", "SQLALCHEMY_DATABASE_URI": f"sqlite:///{tmp}/db"})
        with app.app_context():
            db.create_all()
        loaded = app.test_cli_runner().invoke(args=["load-study", str(PILOT)])
        if loaded.exit_code != 0:
            raise RuntimeError(f"load-study {PILOT} failed: {loaded.output}")
        with app.app_context():
            study = db.session.scalar(sa.select(Study))
            slug, catalog = study.slug, Catalog.from_study(study)
        server = make_server("127.0.0.1", 0, app, threaded=True)
        thread = threading.Thread(target=server.serve_forever, daemon=True)
        thread.start()
        try:
            run_bots(
                f"http://127.0.0.1:{server.server_port}",
                slug,
                catalog,
                Settings(policy="noisy-model", noise=0.1),
                n=n_participants,
                threads=2,
                seed=seed,
                progress=False,
            )
        finally:
            server.shutdown()
            thread.join()
        from study_app.export.bundle import build_export  # after create_app: the blueprints import it too

        with app.app_context():
            tables = build_export(slug).tables
            db.engine.dispose()
    for name, table in tables.items():
        table.to_parquet(folder / f"{name}.parquet", index=False)
    return folder


def grow_export(source: Path, folder: Path, n_participants: int, flip: float = 0.15, seed: int = 0) -> dict[str, int]:
    """Clone the participants of the export in ``source`` until there are ``n_participants``; write to ``folder``.

    Clone ``c`` of participant ``p`` is ``p~c`` with all of ``p``'s rows; each of its selections of a
    selectable unit is flipped with probability ``flip`` (so clones agree with their original, and
    with each other, less than perfectly). Other tables are copied. Returns the rows per table.
    """
    rng = np.random.default_rng(seed)
    folder.mkdir(parents=True, exist_ok=True)
    people = pd.read_parquet(source / "participants.parquet")["participant_id"].astype(str).tolist()
    copies = [(people[i % len(people)], f"{people[i % len(people)]}~{i // len(people)}") for i in range(n_participants)]
    mapping = pd.DataFrame(copies, columns=["participant_id", "clone_id"])
    units = pd.read_parquet(source / "units.parquet", columns=["task_id", "unit_index", "selectable"])
    counts = {}
    for path in sorted(source.glob("*.parquet")):
        name = path.stem
        table = pd.read_parquet(path)
        if name in CLONED and "participant_id" in table.columns:
            table = table.astype({"participant_id": str}).merge(mapping, on="participant_id")
            table = table.drop(columns="participant_id").rename(columns={"clone_id": "participant_id"})
            if name == "selections":
                selectable = table[["task_id", "unit_index"]].merge(units, how="left")["selectable"].to_numpy() == 1
                flipped = selectable & (rng.random(len(table)) < flip)
                table["selected"] = np.where(flipped, 1 - table["selected"], table["selected"])
            table = table.sort_values("participant_id", kind="stable")
        table.to_parquet(folder / path.name, index=False)
        counts[name] = len(table)
    return counts


def cached_grown_pilot(cache: Path, n_participants: int, simulated: int = 6, flip: float = 0.15) -> Path:
    """The grown pilot export in ``cache`` (built on first use: bots, then clones); return its folder."""
    pilot = cache / f"pilot-{simulated}"
    grown = cache / f"pilot-{simulated}-grown-{n_participants}-{flip}"
    if not (pilot / "selections.parquet").exists():
        shutil.rmtree(pilot, ignore_errors=True)
        simulated_pilot(pilot, simulated)
    if not (grown / "selections.parquet").exists():
        shutil.rmtree(grown, ignore_errors=True)
        partial = grown.with_name(grown.name + ".partial")
        shutil.rmtree(partial, ignore_errors=True)
        grow_export(pilot, partial, n_participants, flip)
        partial.rename(grown)  # a crash halfway leaves no folder that looks complete
    return grown


STEP = re.compile(r"analysis\.report: (?P<step>.+): (?P<wall>[\d.]+) s wall, (?P<cpu>[\d.]+) s CPU")


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


def children_usage() -> tuple[float, float]:
    """CPU seconds and peak resident MiB of the waited-for child processes so far (Linux reports KiB)."""
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime, usage.ru_maxrss / (2**20 if sys.platform == "darwin" else 2**10)


def run_analysis(args: list[str]) -> tuple[float, float, float, str]:
    """Run ``python -m analysis`` with ``args``; return wall s, CPU s, peak MiB of the child and its stderr."""
    cpu_before, _ = children_usage()
    started = time.perf_counter()
    done = subprocess.run(
        [sys.executable, "-m", "analysis", "--log-level", "INFO", *args], capture_output=True, text=True
    )
    wall = time.perf_counter() - started
    if done.returncode != 0:
        sys.exit(f"python -m analysis {' '.join(args)} failed:\n{done.stderr}")
    cpu_after, peak = children_usage()
    return wall, cpu_after - cpu_before, peak, done.stderr


def print_report_run(label: str, export: Path, out: Path, n_boot: int, mixed: bool) -> None:
    args = ["report", str(export), "--out", str(out), "--n-boot", str(n_boot), "--quiet"]
    wall, cpu, peak, log = run_analysis([*args, "--mixed" if mixed else "--no-mixed"])
    print(f"{label}: {wall:.1f} s wall, {cpu:.1f} s CPU, peak RSS {peak:.0f} MiB")
    for m in STEP.finditer(log):
        print(f"  {m['step']}: {float(m['wall']):.2f} s wall, {float(m['cpu']):.2f} s CPU")


@click.command()
@click.option("--participants", default=1000, show_default=True, help="Synthetic export: participants.")
@click.option("--tasks-each", default=20, show_default=True, help="Synthetic export: tasks per participant.")
@click.option("--units", default=150, show_default=True, help="Synthetic export: units per task.")
@click.option("--pool", default=200, show_default=True, help="Synthetic export: distinct tasks in the study.")
@click.option(
    "--pilot", type=int, default=None, help="Instead: the pilot's real export grown to this many participants."
)
@click.option("--cache", type=click.Path(path_type=Path), default=Path(tempfile.gettempdir()) / "codeq-bench-analysis")
@click.option("--n-boot", default=2000, show_default=True)
@click.option("--seed", default=0, show_default=True)
@click.option("--mixed", is_flag=True, help="Also run the report with the per-category mixed models.")
@click.option("--power", is_flag=True, help="Also time `python -m analysis power` at its defaults on the export.")
def main(participants, tasks_each, units, pool, pilot, cache, n_boot, seed, mixed, power):
    """Time the whole report, step by step, on one export."""
    with tempfile.TemporaryDirectory() as tmp:
        t0 = time.perf_counter()
        if pilot:
            export = cached_grown_pilot(cache, pilot)
            shape = f"the pilot grown to {pilot} participants ({export})"
        else:
            export = Path(tmp) / "export"
            export.mkdir()
            rows = make_export(export, participants, tasks_each, units, max(pool, tasks_each), seed)
            shape = f"synthetic, {participants} participants x {tasks_each} tasks x {units} units; rows {rows}"
        rows = len(pd.read_parquet(export / "selections.parquet", columns=["selected"]))
        print(f"export: {shape}; {rows} selection rows; ready in {time.perf_counter() - t0:.1f} s")
        out = Path(tmp) / "report"
        print_report_run("report without the mixed models", export, out, n_boot, mixed=False)
        summary = pd.read_csv(out / "ceiling_summary.csv").iloc[0]
        fraction = "undefined" if pd.isna(summary["fraction_of_ceiling"]) else f"{summary['fraction_of_ceiling']:.3f}"
        print(
            f"human ceiling (leave-one-out kappa) {summary['human_loo_kappa']:.3f}, model kappa "
            f"{summary['model_kappa']:.3f}, fraction of the ceiling {fraction}"
            + (f" ({summary['fraction_note']})" if isinstance(summary.get("fraction_note"), str) else "")
        )
        if mixed:
            print_report_run("report with the mixed models", export, Path(tmp) / "mixed", n_boot, mixed=True)
        if power:
            wall, cpu, _, _ = run_analysis(["power", str(export), "--out", str(Path(tmp) / "power")])
            print(f"analysis power at its defaults: {wall:.1f} s wall, {cpu:.1f} s CPU")


if __name__ == "__main__":
    main()
