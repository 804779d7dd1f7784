"""The ``python -m analysis`` command line."""

from __future__ import annotations

import json
import logging
import time
from pathlib import Path

import click

from analysis.correction import CORRECTIONS
from analysis.wilcoxon import ZERO_METHODS
from contract.errors import UserError, user_errors
from contract.logs import log_level_option

log = logging.getLogger("analysis")


@click.group()
@log_level_option
def main():
    """Alignment statistics between human and model rationales."""


@main.command("report")
@click.argument("export", type=click.Path(path_type=Path))
@click.option("--out", type=click.Path(path_type=Path), required=True, help="Folder for CSVs, figures and report.html.")
@click.option("--keep-excluded", is_flag=True, help="Keep participants marked excluded (dropped by default).")
@click.option(
    "--correction",
    type=click.Choice(list(CORRECTIONS)),
    default="holm",
    show_default=True,
    help="Multiple-comparison adjustment over categories (groups).",
)
@click.option(
    "--zero-method",
    type=click.Choice(list(ZERO_METHODS)),
    default="wilcox",
    show_default=True,
    help="Wilcoxon treatment of participants whose human and model rates are equal.",
)
@click.option("--n-boot", type=click.IntRange(min=1), default=2000, show_default=True, help="Bootstrap replicates.")
@click.option("--ci", type=click.FloatRange(0, 1, min_open=True, max_open=True), default=0.95, show_default=True)
@click.option("--seed", default=0, show_default=True, help="Bootstrap seed.")
@click.option(
    "--mixed/--no-mixed",
    default=True,
    show_default=True,
    help="Fit the per-category logistic mixed models (minutes on large exports).",
)
@click.option("--pdf", is_flag=True, help="Also write report.pdf (needs the pdf extra: WeasyPrint).")
@click.option("--quiet", is_flag=True, help="No progress bar (it shows only on a terminal anyway).")
def report_cmd(export, out, keep_excluded, correction, zero_method, n_boot, ci, seed, mixed, pdf, quiet):
    """Analyse the EXPORT folder (or zip) and write alignment.csv, category_tests.csv, figures and report.html."""
    from analysis.report import write_report
    from analysis.report_tables import Options

    started = time.perf_counter()
    options = Options(keep_excluded, correction, zero_method, n_boot, ci, seed, mixed)
    with user_errors():
        files = write_report(export, out, options, pdf=pdf, progress=not quiet)
    log.info("report of %s: %d files in %s, %.1f s", export, len(files), out, time.perf_counter() - started)
    click.echo(f"Wrote {len(files)} files; open {files['report']}" + (f" or {files['pdf']}" if pdf else ""))


def participant_counts(ctx, param, value: str) -> list[int]:
    """Parse ``10,20,40`` into sorted distinct positive ints, or fail with a one-line usage error."""
    try:
        counts = sorted({int(v) for v in value.split(",") if v.strip()})
    except ValueError:
        raise click.BadParameter(f"expected comma-separated whole numbers, got {value!r}") from None
    if not counts or counts[0] < 1:
        raise click.BadParameter(f"expected positive whole numbers, got {value!r}")
    return counts


@main.command("power")
@click.argument("export", metavar="PILOT_EXPORT", type=click.Path(path_type=Path))
@click.option(
    "--participants",
    default="10,20,40,80",
    show_default=True,
    callback=participant_counts,
    help="Study sizes to simulate, comma-separated.",
)
@click.option(
    "--out",
    type=click.Path(file_okay=False, path_type=Path),
    default=Path("power"),
    show_default=True,
    help="Folder for power.csv and power.png.",
)
@click.option("--by", type=click.Choice(["category", "group"]), default="category", show_default=True)
@click.option("--n-sim", type=click.IntRange(min=1), default=200, show_default=True, help="Simulated studies per size.")
@click.option("--alpha", type=click.FloatRange(0, 1, min_open=True, max_open=True), default=0.05, show_default=True)
@click.option("--correction", type=click.Choice(list(CORRECTIONS)), default="holm", show_default=True)
@click.option("--zero-method", type=click.Choice(list(ZERO_METHODS)), default="wilcox", show_default=True)
@click.option("--keep-excluded", is_flag=True, help="Keep pilot participants marked excluded.")
@click.option("--seed", default=0, show_default=True, help="Simulation seed.")
def power_cmd(export, participants, out, by, n_sim, alpha, correction, zero_method, keep_excluded, seed):
    """Power of the per-category tests for each study size, simulated from the PILOT_EXPORT's rates and spread."""
    from analysis.categories import category_rates
    from analysis.io import load_export
    from analysis.power import plot_power, simulate_power
    from analysis.tidy import response_units

    with user_errors():
        pilot = load_export(export, keep_excluded=keep_excluded)
        if pilot.selections.empty:
            raise UserError(f"{export}: no answers to main tasks in the pilot")
    rates = category_rates(response_units(pilot.selections, pilot.units, pilot.model_rationales), by)
    power = simulate_power(
        rates, participants, by=by, n_sim=n_sim, alpha=alpha, correction=correction, zero_method=zero_method, seed=seed
    )
    out.mkdir(parents=True, exist_ok=True)
    power.to_csv(out / "power.csv", index=False)
    plot_power(power, by, out / "power.png")
    table = power.pivot(index=by, columns="n_participants", values="power")
    click.echo(table.to_string(float_format=lambda v: f"{v:.2f}"))
    click.echo(f"Wrote {out / 'power.csv'} and {out / 'power.png'}")


@main.command("explain")
@click.argument("source", metavar="INPUT", type=click.Path(path_type=Path))
@click.option(
    "--out",
    type=click.Path(file_okay=False, path_type=Path),
    required=True,
    help="Folder for the matrices, frequencies, heatmap and summary.json.",
)
@click.option("--include-unconverged", is_flag=True, help="Also aggregate rationales that did not converge.")
@click.option(
    "--resample",
    type=click.Choice(["snippets", "tasks"]),
    default="snippets",
    show_default=True,
    help="Bootstrap clusters.",
)
@click.option("--n-boot", type=click.IntRange(min=1), default=2000, show_default=True, help="Bootstrap replicates.")
@click.option("--seed", default=0, show_default=True, help="Bootstrap seed.")
def explain_cmd(source, out, include_unconverged, resample, n_boot, seed):
    """Global explanation of the model rationales in INPUT: a tasks JSONL file, a study folder
    (its tasks.jsonl) or a folder of corpus Parquet shards.

    Writes category x category matrices, per-category frequencies with bootstrap CIs, the
    token- vs category-level entropy, a heatmap and summary.json to --out.
    """
    from analysis.global_explanation import CLUSTERS, explain_tasks
    from analysis.task_input import read_task_input

    with user_errors():
        summary = explain_tasks(
            read_task_input(source),
            out,
            converged_only=not include_unconverged,
            cluster=CLUSTERS[resample],
            n_boot=n_boot,
            seed=seed,
        )
    click.echo(json.dumps(summary, indent=2))


if __name__ == "__main__":
    main()
