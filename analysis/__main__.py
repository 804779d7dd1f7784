"""The ``python -m analysis`` command line."""

from __future__ import annotations

import logging
import sys
import time
from pathlib import Path

import click

from analysis.correction import CORRECTIONS
from analysis.io import ExportError
from analysis.wilcoxon import ZERO_METHODS
from codeq.logs import log_level_option

log = logging.getLogger("analysis")


@click.group()
@log_level_option
def main():
    """Alignment statistics between human and model rationales."""


@main.command("report")
@click.argument("export", type=click.Path(path_type=Path))
@click.option("--out", type=click.Path(path_type=Path), required=True, help="Folder for CSVs, figures and report.html.")
@click.option("--keep-excluded", is_flag=True, help="Keep participants marked excluded (dropped by default).")
@click.option("--correction", type=click.Choice(list(CORRECTIONS)), default="holm", show_default=True,
              help="Multiple-comparison adjustment over categories (groups).")
@click.option("--zero-method", type=click.Choice(list(ZERO_METHODS)), default="wilcox", show_default=True,
              help="Wilcoxon treatment of participants whose human and model rates are equal.")
@click.option("--n-boot", type=click.IntRange(min=1), default=2000, show_default=True, help="Bootstrap replicates.")
@click.option("--ci", type=click.FloatRange(0, 1, min_open=True, max_open=True), default=0.95, show_default=True)
@click.option("--seed", default=0, show_default=True, help="Bootstrap seed.")
@click.option("--pdf", is_flag=True, help="Also write report.pdf (needs the pdf extra: WeasyPrint).")
def report_cmd(export, out, keep_excluded, correction, zero_method, n_boot, ci, seed, pdf):
    """Analyse the EXPORT folder (or zip) and write alignment.csv, category_tests.csv, figures and report.html."""
    from analysis.report import write_report

    started = time.perf_counter()
    try:
        files = write_report(export, out, keep_excluded=keep_excluded, correction=correction,
                             zero_method=zero_method, n_boot=n_boot, ci=ci, seed=seed, pdf=pdf)
    except ExportError as e:
        click.echo(f"Error: {e}", err=True)
        sys.exit(2)
    log.info("report of %s: %d files in %s, %.1f s", export, len(files), out, time.perf_counter() - started)
    click.echo(f"Wrote {len(files)} files; open {files['report']}" + (f" or {files['pdf']}" if pdf else ""))


if __name__ == "__main__":
    main()
