"""Every table of a report, computed from an export and the options: :func:`compute`.

Computing is kept apart from presenting (:mod:`analysis.report`) so that the files a report writes
follow from one function and :data:`REPORT_FILES` can list them.
"""

from __future__ import annotations

import logging
import time
from contextlib import contextmanager
from dataclasses import dataclass, field

import pandas as pd

from analysis.breakdown import agreement_tables, response_times
from analysis.categories import category_rates, category_tests, pooled_rates
from analysis.entropy import rationale_entropy
from analysis.io import Export
from analysis.mixed import category_mixed_models
from analysis.plausibility import plausibility_tables

log = logging.getLogger("analysis.report")  # bench/analysis.py reads the step timings from this logger


@dataclass(frozen=True)
class Options:
    """How a report is computed; ``python -m analysis report`` builds one from its options."""

    keep_excluded: bool = False
    correction: str = "holm"
    zero_method: str = "wilcox"
    n_boot: int = 2000
    ci: float = 0.95
    seed: int = 0
    mixed: bool = True


DEFAULTS = Options()


@dataclass(frozen=True)
class ReportFile:
    name: str
    holds: str
    when: str = "always"


# Every file a report writes, in the order the report lists its CSVs (figures and the HTML last).
# docs/analysis.md documents the same list; tests/analysis/test_report_files.py checks both.
REPORT_FILES: tuple[ReportFile, ...] = (
    ReportFile("alignment.csv", "agreement scores per response"),
    ReportFile("alignment_summary.csv", "mean, median and bootstrap CI per agreement metric"),
    ReportFile("task_agreement.csv", "mean agreement per main task"),
    ReportFile("participant_agreement.csv", "mean agreement per participant"),
    ReportFile("human_agreement.csv", "agreement among participants and with the model, per task"),
    ReportFile("ceiling_summary.csv", "the human ceiling and the fraction of it the model reaches"),
    ReportFile("category_rates.csv", "human and model selection rate per participant and category"),
    ReportFile("category_tests.csv", "Wilcoxon test of human vs model rate per category"),
    ReportFile("pooled_category_rates.csv", "pooled selection rates per category with bootstrap CIs"),
    ReportFile("group_rates.csv", "human and model selection rate per participant and group"),
    ReportFile("group_tests.csv", "Wilcoxon test of human vs model rate per group"),
    ReportFile("pooled_group_rates.csv", "pooled selection rates per group with bootstrap CIs"),
    ReportFile("response_times.csv", "time on task per main task", "when `responses` has `active_ms`"),
    ReportFile("entropy.csv", "normalized entropy of the selections per rater"),
    ReportFile("category_mixed.csv", "logistic mixed model per category", "unless `--no-mixed`"),
    ReportFile("explainer_scores.csv", "plausibility metrics per response and explainer"),
    ReportFile("explainer_categories.csv", "mean AUPRC per explainer and category"),
    ReportFile("explainers.csv", "plausibility and faithfulness per explainer, ranked"),
    ReportFile("explainer_tests.csv", "paired Wilcoxon tests between explainers"),
    ReportFile("kappa.png", "histograms of κ and AC1 per response (also `.svg`)"),
    ReportFile("category_rates.png", "human and model rate per category (also `.svg`)"),
    ReportFile("category_heatmap.png", "human minus model rate per participant and category (also `.svg`)"),
    ReportFile("group_rates.png", "human and model rate per group (also `.svg`)"),
    ReportFile("human_ceiling.png", "human-human and model-human κ per task (also `.svg`)"),
    ReportFile(
        "explainers.png",
        "AUPRC per explainer, and against comprehensiveness (also `.svg`)",
        "when an explainer scored a response",
    ),
    ReportFile("report.html", "the readable report"),
    ReportFile("report.pdf", "the report as A4 pages", "with `--pdf`"),
)


@dataclass(frozen=True)
class ReportTables:
    """The long data (not written) and every table of a report, by file stem, in writing order."""

    data: pd.DataFrame
    tables: dict[str, pd.DataFrame] = field(default_factory=dict)
    # responses without any selected unit, left out of the explainer metrics (they have no positives)
    explainer_excluded: int = 0
    # time on task over every response (one row), beside the per-task ``response_times`` table
    overall_time: pd.DataFrame | None = None

    def __getitem__(self, name: str) -> pd.DataFrame:
        return self.tables[name]


@contextmanager
def timed(step: str):
    """Log the wall and CPU seconds of a step of the report (``bench/analysis.py`` prints them)."""
    wall, cpu = time.perf_counter(), time.process_time()
    yield
    log.info("%s: %.2f s wall, %.2f s CPU", step, time.perf_counter() - wall, time.process_time() - cpu)


def kept_responses(export: Export, data: pd.DataFrame) -> pd.DataFrame | None:
    """The export's timed responses of the participants analysed, or None when it has no timings."""
    responses = export.responses
    if responses is None or "active_ms" not in responses.columns:
        return None
    analysed = data["participant_id"].drop_duplicates().astype("str")
    return responses[responses["participant_id"].astype("str").isin(analysed)]


def compute(export: Export, options: Options) -> ReportTables:
    """Every table of the report of ``export`` (see :data:`REPORT_FILES`); writes nothing."""
    o = options
    with timed("agreement tables"):
        tables = agreement_tables(export, n_boot=o.n_boot, ci=o.ci, seed=o.seed)
    data = tables.pop("data")
    for by in ("category", "group"):
        with timed(f"{by} rate tables"):
            rates = tables[f"{by}_rates"] = category_rates(data, by)
            tables[f"{by}_tests"] = category_tests(rates, by, correction=o.correction, zero_method=o.zero_method)
            tables[f"pooled_{by}_rates"] = pooled_rates(data, by, n_boot=o.n_boot, ci=o.ci, seed=o.seed)
    kept = kept_responses(export, data)
    overall = None
    if kept is not None:
        tables["response_times"] = response_times(kept)
        overall = response_times(kept, by=None)
    tables["entropy"] = rationale_entropy(data)
    if o.mixed:
        with timed("mixed model tables"):
            tables["category_mixed"] = category_mixed_models(data, "category", ci=o.ci)
    with timed("explainer tables"):
        explainers, excluded = plausibility_tables(
            export, correction=o.correction, zero_method=o.zero_method, n_boot=o.n_boot, ci=o.ci, seed=o.seed
        )
    tables.update(explainers)
    return ReportTables(data, tables, excluded, overall)
