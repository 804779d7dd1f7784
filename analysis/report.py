"""Run every analysis on an export folder and write CSVs, figures (PNG and SVG), report.html and,
on request, report.pdf.

The tables come first, all at once, from :func:`analysis.report_tables.compute`; then the report is a
list of sections, each built by one function of :data:`SECTIONS` from a :class:`Context` that only
presents those tables; a new section is one more function (in its own module if it is large) and one line
in that list. Sections are made of :mod:`analysis.sections` blocks, which carry the conventions.
"""

from __future__ import annotations

import logging
import platform
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path

import jinja2
import numpy as np
import pandas as pd
from markupsafe import escape
from tqdm import tqdm

from analysis.breakdown import format_duration
from analysis.ceiling import CEILING_FLOOR
from analysis.ceiling_plot import plot_ceiling
from analysis.correction import CORRECTIONS
from analysis.io import Export, ExportError, load_export
from analysis.plausibility import plot_explainers
from analysis.plots import plot_heatmap, plot_kappa, plot_rates
from analysis.references import REFERENCES
from analysis.report_tables import DEFAULTS, Options, ReportTables, compute, timed
from analysis.sections import (
    DAGGER,
    INTERVAL_NOTE,
    MIN_PARTICIPANTS,
    MIN_TASKS,
    Col,
    Figure,
    Paragraph,
    Section,
    Table,
    fixed,
    interval_notes,
    kind,
    markup,
    number,
    numbered,
    pvalue,
    save_figure,
)
from analysis.wilcoxon import METHODS, ZERO_METHODS

log = logging.getLogger(__name__)
PACKAGES = ("codeq-study", "numpy", "pandas", "scipy", "statsmodels", "pingouin", "krippendorff", "matplotlib")
ZERO_TEXT = {
    "wilcox": "participants with equal human and model rates are dropped before ranking",
    "pratt": "participants with equal rates are ranked, then their ranks ignored (Pratt 1959)",
}
METRIC_NAMES = {
    "kappa": "Cohen's κ",
    "ac1": "Gwet's AC1",
    "precision": "precision",
    "recall": "recall",
    "f1": "F1",
    "jaccard": "Jaccard",
}


def versions() -> dict[str, str]:
    """Installed versions of the packages the numbers depend on."""
    found = {"python": platform.python_version()}
    for name in PACKAGES:
        try:
            found[name] = version(name)
        except PackageNotFoundError:
            found[name] = "not installed"
    return found


def exclusion_note(export: Export, keep_excluded: bool) -> str:
    """Sentences on how excluded participants and non-main tasks were handled."""
    kinds = "".join(
        f" {n} {kind} responses were left out (only main tasks are analysed)."
        for kind, n in sorted(export.other_kinds.items())
    )
    if export.attention_failures is not None:
        failed = {p: n for p, n in sorted(export.attention_failures.items()) if n}
        kinds += (
            f" {sum(failed.values())} attention checks failed, by {len(failed)} of "
            f"{len(export.attention_failures)} participants who took one"
            + (f" ({', '.join(f'{p}: {n}' for p, n in failed.items())})." if failed else ".")
        )
    kinds += "".join(f" Note: {w[0].upper()}{w[1:]}." for w in export.warnings)
    if export.participants is None or "excluded" not in export.participants.columns:
        return "The export has no participants table with an excluded column: no exclusions were applied." + kinds
    if not export.excluded:
        return "No participant was marked excluded." + kinds
    ids = ", ".join(export.excluded[:20]) + (" ..." if len(export.excluded) > 20 else "")
    if keep_excluded:
        return f"{len(export.excluded)} participants marked excluded were kept on request ({ids})." + kinds
    return f"{len(export.excluded)} participants marked excluded were dropped before any analysis ({ids})." + kinds


@dataclass
class Context:
    """What a section builder reads (the export, the computed tables, the options) and where its figures go.

    A builder only presents: it reads ``tables`` (from :func:`analysis.report_tables.compute`) and
    draws its figures with :meth:`figure`.
    """

    export: Export
    folder: Path
    out: Path
    options: Options
    tables: ReportTables
    files: dict[str, Path] = field(default_factory=dict)

    @property
    def data(self) -> pd.DataFrame:
        return self.tables.data

    @property
    def ci_label(self) -> str:
        return f"{round(self.options.ci * 100)}% CI"

    def figure(self, stem: str, fig, caption: str, alt: str) -> Figure:
        """Save ``fig`` as ``<stem>.png`` and ``<stem>.svg`` and return the block that shows it."""
        for suffix, path in save_figure(fig, self.out, stem).items():
            self.files[f"{stem}_{suffix}"] = path
        return Figure(stem, caption, alt)


def n_tasks_by(data: pd.DataFrame, by: str) -> pd.Series:
    """Tasks with at least one selectable unit of each level (what a level's bootstrap resamples)."""
    return data.dropna(subset=["unit_index"]).groupby(by, observed=True)["task_id"].nunique()


def ci_text(low, high) -> list[str]:
    return [
        f"{number(lo)} to {number(hi)}" if np.isfinite(lo) and np.isfinite(hi) else "–" for lo, hi in zip(low, high)
    ]


def overview_section(ctx: Context) -> Section:
    """Counts, exclusions and a warning when the sample is too small for the intervals and tests."""
    data, scores = ctx.data, ctx.tables["alignment"]
    n_people, n_tasks = data["participant_id"].nunique(), data["task_id"].nunique()
    blocks = []
    weak = []
    if n_tasks < MIN_TASKS:
        weak.append(
            f"with fewer than {MIN_TASKS} tasks the confidence intervals, which resample tasks, are unstable "
            "and usually too narrow"
        )
    if n_people < MIN_PARTICIPANTS:
        weak.append(f"Wilcoxon tests across fewer than {MIN_PARTICIPANTS} participants have little power")
    if weak:
        blocks.append(
            Paragraph(
                f"Small sample: {n_people} participants and {n_tasks} tasks; {'; '.join(weak)}. Read "
                "the numbers below as a description of this sample, not as estimates.",
                kind="warning",
            )
        )
    blocks.append(
        Paragraph(
            f"{n_people} participants, {n_tasks} tasks, {len(scores)} responses (participant × task), "
            f"{int(data['unit_index'].notna().sum())} selectable unit × response rows. "
            f"{exclusion_note(ctx.export, ctx.options.keep_excluded)}"
        )
    )
    return Section("Data", blocks)


def methods_section(ctx: Context) -> Section:
    o = ctx.options
    return Section(
        "Methods",
        [
            Paragraph(
                "For each response we compared the participant's selection with the model's greedy rationale (Vafa et "
                "al., 2021) over the task's selectable code units, the units left of the target that a participant could "
                "select; rationale units outside that range were ignored. Agreement per response is Cohen's kappa "
                "(Cohen, 1960; undefined, reported as NaN, when both raters are constant and agree; 0 and flagged when "
                "exactly one rater is constant) and, because selections are rare and kappa then suffers from the "
                "prevalence paradox, Gwet's AC1 (Gwet, 2008); with the participant's selection as reference we also "
                f"report precision, recall, F1 and Jaccard overlap. Means over responses carry {round(o.ci * 100)}% "
                f"percentile bootstrap confidence intervals (Efron & Tibshirani, 1993) from {o.n_boot} replicates that "
                f"resample tasks with replacement (seed {o.seed}): units and responses of one snippet are not "
                "independent, so tokens are never resampled."
            ),
            Paragraph(
                markup(
                    "For each category (and, separately, each group) we computed per participant the share of the "
                    "selectable units of that category, over the participant's tasks, that the participant selected, and "
                    "the share that the model's rationale selected on the same tasks. Human and model rates were compared "
                    "across participants with a two-sided Wilcoxon signed-rank test (Wilcoxon, 1945) through "
                    f'<code>pingouin.wilcoxon(d, zero_method="{escape(o.zero_method)}", correction=False)</code>: '
                    f"{escape(ZERO_TEXT[o.zero_method])}. P-values are those of <code>scipy.stats.wilcoxon</code>'s "
                    "defaults (and of R's <code>wilcox.test</code> for small samples): the exact null distribution for up "
                    "to 50 participants without ties or zero differences, the exact sign-flip permutation distribution with "
                    "ties or zeros up to 13 participants, otherwise the normal approximation with the variance corrected "
                    "for ties, without continuity correction; the method column says which. The effect size is "
                    "the matched-pairs rank-biserial correlation (Kerby, 2014), positive when participants select the "
                    "category more often than the model, with pingouin's common-language effect size (CLES) in the CSV. "
                    "P-values were adjusted over the categories (and separately over "
                    f"the groups) with the {escape(CORRECTIONS[o.correction])} procedure (<code>statsmodels "
                    f'multipletests(method="{escape(o.correction)}")</code>); categories whose test is undefined (every '
                    "participant's rates equal) are not counted."
                )
            ),
            Paragraph(
                "Entropy: the normalized Shannon entropy (Shannon, 1948) of the distribution of selected units "
                "over token types (unit text) and over categories, each divided by the log of the number of types "
                "(categories) available among the selectable units; human selections pooled over responses, the "
                "model's rationale counted once per task; reduction = (H_token − H_category) / H_token."
            ),
            Paragraph("Software: " + ", ".join(f"{name} {v}" for name, v in versions().items()) + ".", kind="small"),
        ],
    )


def agreement_section(ctx: Context) -> Section:
    summary, by_task = ctx.tables["alignment_summary"], ctx.tables["task_agreement"]
    shown = summary.assign(
        name=summary["metric"].map(METRIC_NAMES),
        ci=ci_text(summary["ci_low"], summary["ci_high"]),
        note=interval_notes(summary["n_tasks"], {"": (summary["ci_low"], summary["ci_high"])}),
    )
    notes = [INTERVAL_NOTE] if shown["note"].astype(bool).any() else []
    kappa = summary.set_index("metric").loc["kappa"]
    return Section(
        "Agreement per response",
        [
            Paragraph(
                f"What is compared: a participant's selection against the model's rationale, over the units the "
                f"participant could select. Mean Cohen's κ {fixed(kappa['mean'])} ({ctx.ci_label} "
                f"{fixed(kappa['ci_low'])} to {fixed(kappa['ci_high'])}) over {int(kappa['n'])} responses; 1 is "
                "perfect agreement, 0 what chance gives."
            ),
            Table(
                shown,
                "One row per agreement metric: mean and median over responses, with a bootstrap CI of the mean "
                "that resamples tasks. κ and AC1 range from −1 to 1; the others are proportions (0 to 1).",
                [
                    Col("name", "metric", text=True),
                    Col("n", "defined", "responses"),
                    Col("n_undefined", "undefined", "responses"),
                    Col("mean", "mean"),
                    Col("median", "median"),
                    Col("ci", ctx.ci_label, "of the mean", text=True),
                    Col("n_tasks", "tasks"),
                    Col("note", "note", text=True),
                ],
                notes,
            ),
            ctx.figure(
                "kappa",
                plot_kappa(ctx.tables["alignment"]),
                "Distribution of per-response agreement between the participant's selection and the model's "
                "rationale: Cohen's κ (left) and Gwet's AC1 (right), bins of width 0.1; the orange line is the "
                "mean. Undefined κ (both raters constant) are counted in the panel title, not drawn.",
                "Histograms of Cohen's kappa and Gwet's AC1 per response",
            ),
            Table(
                by_task,
                "One row per main task: mean agreement of its responses with the model's rationale.",
                [
                    Col("task_id", "task", text=True),
                    Col("n_responses", "responses"),
                    Col("n_kappa", "κ defined", "responses"),
                    Col("kappa_mean", "mean κ"),
                    Col("ac1_mean", "mean AC1"),
                    Col("f1_mean", "mean F1"),
                ],
            ),
        ],
    )


def rates_section(by: str) -> Callable[[Context], Section]:
    """Build the section comparing human and model selection rates per level of ``by``."""
    levels = {"category": "categories", "group": "groups"}[by]

    def build(ctx: Context) -> Section:
        o = ctx.options
        rates, tests, pooled = (ctx.tables[name] for name in (f"{by}_rates", f"{by}_tests", f"pooled_{by}_rates"))
        n_tasks = n_tasks_by(ctx.data, by).reindex(pooled[by]).fillna(0).astype(int).to_numpy()
        notes = interval_notes(
            n_tasks, {rater: (pooled[f"{rater}_ci_low"], pooled[f"{rater}_ci_high"]) for rater in ("human", "model")}
        )
        flagged = [level for level, note in zip(pooled[by], notes) if note]
        shown = pooled.assign(
            n_tasks=n_tasks,
            human_ci=ci_text(pooled["human_ci_low"], pooled["human_ci_high"]),
            model_ci=ci_text(pooled["model_ci_low"], pooled["model_ci_high"]),
            note=notes,
        )
        blocks = [
            ctx.figure(
                f"{by}_rates",
                plot_rates(pooled, by, flagged, ci=o.ci),
                (
                    f"Pooled selection rate per {by}: the share of selectable units of that {by}, over all "
                    f"responses, that participants (blue circles) and the model's rationale (orange squares) "
                    f"selected, with {ctx.ci_label}s resampling tasks; sorted by the human rate."
                )
                + (f" {DAGGER}: interval from fewer than {MIN_TASKS} tasks or of zero width." if flagged else ""),
                f"Human and model selection rate per {by} with confidence intervals",
            ),
            Table(
                shown,
                f"One row per {by}: pooled selection rates (selected / selectable units) over all responses.",
                [
                    Col(by, by, text=True),
                    Col("n_units", "units", "unit × response"),
                    Col("n_tasks", "tasks"),
                    Col("human_rate", "human rate"),
                    Col("human_ci", f"human {ctx.ci_label}", text=True),
                    Col("model_rate", "model rate"),
                    Col("model_ci", f"model {ctx.ci_label}", text=True),
                    Col("note", "note", text=True),
                ],
                [INTERVAL_NOTE] if flagged else [],
            ),
            Table(
                tests,
                f"One row per {by}: per-participant human vs model selection rate (share of selectable "
                "units), compared across participants.",
                [
                    Col(by, by, text=True),
                    Col("n", "n", "participants"),
                    Col("n_nonzero", "n ≠", "participants"),
                    Col("human_median", "human median", "rate"),
                    Col("model_median", "model median", "rate"),
                    Col("statistic", "W", fmt=lambda v: number(v, 1)),
                    Col("p", "p", fmt=pvalue),
                    Col("p_adj", "p adjusted", fmt=pvalue),
                    Col("rank_biserial", "r rank-biserial"),
                    Col("method", "p-value method", text=True),
                    Col("note", "note", text=True),
                ],
                [
                    (
                        f"Every row: two-sided Wilcoxon signed-rank test, zero_method "
                        f'"{o.zero_method}"; p-value method: '
                        + "; ".join(f"{name}, {text}" for name, text in METHODS.items())
                        + f". P adjusted with {CORRECTIONS[o.correction]} over the {levels} tested. "
                        f"n ≠: participants whose two rates differ. r > 0: participants select the {by} more often than "
                        "the model."
                    )
                ],
            ),
        ]
        if by == "category":
            blocks.append(
                ctx.figure(
                    "category_heatmap",
                    plot_heatmap(rates, by),
                    "Human minus model selection rate per participant (rows, sorted by their mean difference) and "
                    "category (columns), each over the participant's own tasks; rows are labelled with the first "
                    "characters of the participant's pseudonym. Red: the participant selected the "
                    "category more often than the model; blue: less; grey: no selectable unit of the category in the "
                    "participant's tasks. The colour scale is symmetric around 0 and ends at the 99th percentile of "
                    "the absolute differences.",
                    "Heatmap of human minus model selection rate by participant and category",
                )
            )
        return Section(f"Selection rate by {by}", blocks)

    build.__name__ = f"rates_section_{by}"  # names the step in the timing log
    return build


def time_section(ctx: Context) -> Section | None:
    """Time on task, when the export has responses with timings."""
    overall = ctx.tables.overall_time
    if overall is None:
        return None
    times = ctx.tables["response_times"]
    if times.empty:
        return None
    shown = times.assign(
        median=times["median_s"].map(format_duration),
        iqr=[f"{format_duration(a)} to {format_duration(b)}" for a, b in zip(times["q1_s"], times["q3_s"])],
    )
    row = overall.iloc[0]
    return Section(
        "Time per task",
        [
            Paragraph(
                f"Time the task page had focus while the participant selected (phase 1), over "
                f"{int(row['n'])} responses: median {format_duration(row['median_s'])}, interquartile range "
                f"{format_duration(row['q1_s'])} to {format_duration(row['q3_s'])}."
            ),
            Table(
                shown,
                "One row per main task: time its page had focus, in minutes and seconds.",
                [
                    Col("task_id", "task", text=True),
                    Col("n", "n", "responses"),
                    Col("median", "median", "min s", text=True),
                    Col("iqr", "interquartile range", "min s", text=True),
                ],
            ),
        ],
    )


def entropy_section(ctx: Context) -> Section:
    entropy = ctx.tables["entropy"]
    blocks = [
        Paragraph(
            "How concentrated are the selections? H_token is the normalized entropy of the selected units over "
            "token types (each distinct unit text, e.g. every self, is one type); H_category the same over "
            "categories. Both run from 0 (every selection of one type) to 1 (selections spread evenly over "
            "everything that could be selected), so the two levels and the two raters can be compared. The "
            "reduction (H_token − H_category) / H_token says how much of the token-level spread disappears "
            "when tokens are grouped into categories: near 1, many different tokens of few categories; near 0, "
            "the categories are as spread as the tokens."
        ),
        Table(
            entropy,
            "One row per rater: entropy of where that rater's selected units fall (normalized, 0 to 1).",
            [
                Col("rater", "rater", text=True),
                Col("n_selected", "selected", "units"),
                Col("k_token", "k token", "types available"),
                Col("k_category", "k category", "categories available"),
                Col("h_token", "H token"),
                Col("h_category", "H category"),
                Col("reduction", "reduction"),
            ],
        ),
    ]
    for row in entropy.itertuples():
        if row.n_selected == 0:
            blocks.append(Paragraph(f"The {row.rater} selected no unit: its entropies are undefined."))
        elif pd.notna(row.reduction) and row.reduction < 0:
            blocks.append(
                Paragraph(
                    f"The {row.rater}'s reduction is negative ({row.reduction:.2f}): relative to what was available, its "
                    f"selections are spread more evenly over categories ({row.h_category:.2f}) than over token types "
                    f"({row.h_token:.2f}). This happens when few token types are selected but they belong to different "
                    f"categories, and there are far fewer categories ({row.k_category}) than types ({row.k_token}) to "
                    "normalize by; grouping into categories then does not make the selections look more focused."
                )
            )
        elif pd.isna(row.reduction):
            blocks.append(
                Paragraph(
                    f"The {row.rater}'s reduction is undefined: every selection is of one token type (H_token = 0)."
                )
            )
    return Section("Entropy", blocks)


def ceiling_section(ctx: Context) -> Section:
    """Agreement among participants per task (the human ceiling) beside the model's agreement with them."""
    agreement, summary = ctx.tables["human_agreement"], ctx.tables["ceiling_summary"]  # from agreement_tables
    row = summary.iloc[0]
    notes = interval_notes(summary["n_tasks"], {"": (summary["ci_low"], summary["ci_high"])})
    shown = summary.assign(
        ceiling_ci=ci_text(summary["ceiling_ci_low"], summary["ceiling_ci_high"]),
        ci=ci_text(summary["ci_low"], summary["ci_high"]),
        note=[
            "; ".join(filter(None, [f"fraction undefined: {why}" if isinstance(why, str) else "", note]))
            for why, note in zip(summary["fraction_note"], notes)
        ],
    )
    fraction = (
        f"Fraction of the ceiling: {fixed(row['fraction_of_ceiling'])} ({ctx.ci_label} {fixed(row['ci_low'])} to "
        f"{fixed(row['ci_high'])}): the model's agreement with people is {fixed(row['fraction_of_ceiling'], 2)} of "
        "their agreement with each other."
        if pd.isna(row["fraction_note"])
        else f"Fraction of the ceiling: undefined, because {row['fraction_note']}; a ratio to a ceiling that close to "
        "chance could take any value, so none is given."
    )
    return Section(
        "Human ceiling",
        [
            Paragraph(fraction, kind="" if pd.isna(row["fraction_note"]) else "warning"),
            Paragraph(
                markup(
                    "How far participants agree with each other, per task, beside how far the model agrees with them. "
                    "Participants who selected nothing on a task are left out of it (<code>n_empty</code>). Fleiss' kappa "
                    "(Fleiss, 1971; statsmodels) and Krippendorff's alpha, nominal (Krippendorff, 2004; the "
                    "<code>krippendorff</code> package), take the participants as raters and the selectable units as items; "
                    "leave-one-out κ is the mean over participants of Cohen's κ against the units selected by at least half "
                    "of the other participants, model κ the mean of Cohen's κ between the model's rationale and each "
                    "participant. The fraction of the ceiling is mean model κ / mean leave-one-out κ over the tasks where both "
                    f"are defined, with a {escape(ctx.ci_label)} percentile bootstrap over tasks "
                    "(<code>pingouin.compute_bootci</code>); the p-value compares the mean model κ with that of random "
                    f"rationales of the same size on the same tasks (one-sided permutation test, {int(row['n_perm'])} draws). "
                    "A fraction near 1: the model agrees with people as well as they agree with each other. It is reported "
                    f"only when the ceiling is at least {CEILING_FLOOR:g} (above slight agreement, Landis &amp; Koch, 1977) "
                    f"and its {escape(ctx.ci_label)} (bootstrap over tasks) excludes 0; otherwise it is undefined and the "
                    "note says why."
                )
            ),
            Table(
                shown,
                "One row: the human ceiling and the model's agreement, means over tasks (κ and α from −1 to 1).",
                [
                    Col("n_tasks", "tasks"),
                    Col("fleiss_kappa", "Fleiss κ"),
                    Col("krippendorff_alpha", "Krippendorff α"),
                    Col("human_loo_kappa", "leave-one-out κ", "the ceiling"),
                    Col("ceiling_ci", ctx.ci_label, "of the ceiling", text=True),
                    Col("model_kappa", "model κ"),
                    Col("fraction_of_ceiling", "fraction of ceiling"),
                    Col("ci", ctx.ci_label, text=True),
                    Col("random_kappa", "random κ"),
                    Col("p_vs_random", "p vs random", fmt=pvalue),
                    Col("note", "note", text=True),
                ],
                [INTERVAL_NOTE] if any(notes) else [],
            ),
            ctx.figure(
                "human_ceiling",
                plot_ceiling(agreement),
                "Per main task (rows, sorted by human agreement): mean leave-one-out Cohen's κ of each participant "
                "against the majority of the others (blue circles) and mean κ of the model's rationale against each "
                "participant (orange squares); the dotted line is chance agreement (κ = 0).",
                "Per task, human-human and model-human kappa",
            ),
            Table(
                agreement,
                "One row per main task: agreement among its participants and with the model.",
                [
                    Col("task_id", "task", text=True),
                    Col("n_units", "units"),
                    Col("n_model", "model", "units"),
                    Col("n_participants", "participants"),
                    Col("n_empty", "empty", "participants"),
                    Col("fleiss_kappa", "Fleiss κ"),
                    Col("krippendorff_alpha", "Krippendorff α"),
                    Col("human_loo_kappa", "leave-one-out κ"),
                    Col("model_kappa", "model κ"),
                ],
            ),
        ],
    )


def mixed_section(ctx: Context) -> Section | None:
    """Per-category logistic mixed models (skipped with ``mixed=False``: the slowest step)."""
    if not ctx.options.mixed:
        return None
    table = ctx.tables["category_mixed"]
    shown = table.assign(ci=ci_text(table["ci_low"], table["ci_high"]))
    return Section(
        "Mixed-effects model by category",
        [
            Paragraph(
                markup(
                    "Per category, a logistic mixed model of selected ~ source (human / model) over every selectable unit, "
                    "with random intercepts for participants and tasks (statsmodels <code>BinomialBayesMixedGLM</code>, "
                    f"variational Bayes, {escape(ctx.ci_label)} posterior interval). Odds ratios above 1: participants select "
                    "the category's units more readily than the model. Prefer it to the Wilcoxon tests when participants saw "
                    "different tasks; its intervals are approximate and too narrow when participants differ a lot."
                )
            ),
            Table(
                shown,
                "One row per category: odds of a unit being selected by a participant vs by the model's rationale.",
                [
                    Col("category", "category", text=True),
                    Col("n_rows", "rows", "unit × response"),
                    Col("n_participants", "participants"),
                    Col("n_tasks", "tasks"),
                    Col("human_rate", "human rate"),
                    Col("model_rate", "model rate"),
                    Col("odds_ratio", "odds ratio"),
                    Col("ci", ctx.ci_label, text=True),
                    Col("note", "note", text=True),
                ],
            ),
        ],
    )


def explainers_section(ctx: Context) -> Section | None:
    """Which explainer's unit scores come closest to the participants' selections, beside faithfulness."""
    o = ctx.options
    table, excluded = ctx.tables["explainers"], ctx.tables.explainer_excluded
    if table.empty:
        return None
    shown = table.assign(
        ci_participants=ci_text(table["auprc_ci_low_participants"], table["auprc_ci_high_participants"]),
        ci_tasks=ci_text(table["auprc_ci_low_tasks"], table["auprc_ci_high_tasks"]),
    )
    return Section(
        "Which explainer agrees with the participants?",
        [
            Paragraph(
                markup(
                    "Each explainer's unit scores were compared with each participant's selection over the task's selectable "
                    "units: AUPRC (scikit-learn's <code>average_precision_score</code>; chance is the share of units "
                    "selected), and F1 and IOU of the explainer's top-k units with k the participant's own selection size "
                    "(ties to the unit nearer the target); for set-valued explainers (greedy) also F1 of their own set. "
                    f"{excluded} responses with no selected unit were left out (no positives). Intervals are percentile "
                    "bootstraps resampling participants, or tasks, with all their responses. Paired Wilcoxon signed-rank "
                    "tests compare every two explainers on the participants' mean AUPRC, adjusted over all pairs (p vs best: "
                    "against the top-ranked one; all pairs in <code>explainer_tests.csv</code>). Faithfulness, measured on the "
                    "model when the study was prepared, is ERASER comprehensiveness (higher = more faithful) and sufficiency "
                    "(lower = more faithful) of each explainer's set (DeYoung et al., 2020)."
                )
            ),
            Table(
                shown,
                "One row per explainer, ranked by mean AUPRC over responses (metrics are proportions, 0 to 1).",
                [
                    Col("rank", "rank"),
                    Col("explainer", "explainer", text=True),
                    Col("n_responses", "responses"),
                    Col("prevalence", "chance"),
                    Col("auprc", "AUPRC"),
                    Col("ci_participants", f"{ctx.ci_label}", "participants", text=True),
                    Col("ci_tasks", f"{ctx.ci_label}", "tasks", text=True),
                    Col("f1_topk", "F1 top-k"),
                    Col("iou_topk", "IOU top-k"),
                    Col("f1_set", "F1 own set"),
                    Col("comprehensiveness", "compr."),
                    Col("sufficiency", "suff."),
                    Col("p_adjusted_vs_best", "p vs best", fmt=pvalue),
                ],
            ),
            ctx.figure(
                "explainers",
                plot_explainers(table, ci=o.ci),
                "Left: mean AUPRC of each explainer's unit scores against the participants' selections, with "
                f"{ctx.ci_label}s resampling participants; grey ticks mark chance (the share of units selected). "
                "Right: plausibility (AUPRC) against faithfulness (comprehensiveness) per explainer.",
                "AUPRC per explainer with intervals, and AUPRC against comprehensiveness",
            ),
        ],
    )


def references_section(ctx: Context) -> Section:
    return Section("References", [REFERENCES])


# The report's sections, in order. Each takes the Context and returns a Section (or None to skip).
SECTIONS: list[Callable[[Context], Section | None]] = [
    overview_section,
    methods_section,
    agreement_section,
    rates_section("category"),
    rates_section("group"),
    time_section,
    entropy_section,
    ceiling_section,
    mixed_section,
    explainers_section,
    references_section,
]


def write_report(
    folder,
    out,
    options: Options = DEFAULTS,
    pdf: bool = False,
    progress: bool = True,
) -> dict[str, Path]:
    """Analyse the export in ``folder`` and write every table, figure and ``report.html`` to ``out``.

    Parameters
    ----------
    folder, out : str or pathlib.Path
        The export folder (see :func:`analysis.load_export`) and the output folder (created).
    options : Options
        How to compute: ``keep_excluded`` keeps participants marked excluded; ``correction``
        ({"holm", "fdr_bh"}) adjusts the category and group tests; ``zero_method`` ({"wilcox",
        "pratt"}) treats zero differences in the Wilcoxon tests; ``n_boot``, ``ci``, ``seed`` set the
        bootstraps; ``mixed`` fits the per-category mixed models (the slowest step: minutes for
        thousands of responses).
    pdf : bool
        Also write ``report.pdf`` (needs WeasyPrint: ``pip install codeq-study[pdf]``).
    progress : bool
        Show a progress bar over the sections when stderr is a terminal (never in a pipe or a log);
        False never shows it.

    Returns
    -------
    dict of pathlib.Path
        Every file written, by short name.
    """
    if options.correction not in CORRECTIONS:
        raise ValueError(f"correction must be one of {', '.join(CORRECTIONS)}, got {options.correction!r}")
    if options.zero_method not in ZERO_METHODS:
        raise ValueError(f"zero_method must be one of {', '.join(ZERO_METHODS)}, got {options.zero_method!r}")
    if pdf:
        pdf_renderer()  # before any work: a missing renderer is a one-line error
    export = load_export(folder, keep_excluded=options.keep_excluded)  # before the progress bar: errors print alone
    if export.selections.empty:
        left_out = (
            f" ({len(export.excluded)} excluded participants left out)"
            if export.excluded and not options.keep_excluded
            else ""
        )
        raise ExportError(f"{folder}: no answers to main tasks to analyse yet{left_out}")
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    ctx = Context(export, Path(folder), out, options, compute(export, options))
    sections = []
    # disable=None: tqdm draws only when stderr is a terminal, so logs and pipes stay clean
    for build in tqdm(SECTIONS, desc="analysis report", unit="section", disable=None if progress else True):
        with timed(build.__name__):
            section = build(ctx)
        if section is not None:
            sections.append(section)
    files = {}
    for name, table in ctx.tables.tables.items():
        files[name] = out / f"{name}.csv"
        table.to_csv(files[name], index=False)
    files.update(ctx.files)
    files["report"] = out / "report.html"
    html = render_html(ctx, numbered(sections), csvs=[p.name for p in files.values() if p.suffix == ".csv"])
    files["report"].write_text(html, encoding="utf-8")
    if pdf:
        files["pdf"] = write_pdf(files["report"], out / "report.pdf")
    return files


TEMPLATES = jinja2.Environment(loader=jinja2.FileSystemLoader(Path(__file__).parent / "templates"), autoescape=True)


def render_html(ctx: Context, sections: list[Section], csvs: list[str]) -> str:
    """Fill the report template with the numbered sections."""
    return TEMPLATES.get_template("report.html").render(
        title="Human-model rationale alignment",
        folder=str(ctx.folder),
        generated=datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC"),
        sections=sections,
        csvs=csvs,
        kind=kind,
    )


def pdf_renderer():
    """Return WeasyPrint's HTML class, or raise a one-line ExportError saying how to install it."""
    try:
        from weasyprint import HTML
    except ImportError:
        raise ExportError("--pdf needs WeasyPrint: pip install 'codeq-study[pdf]'") from None
    return HTML


def write_pdf(html: Path, path: Path) -> Path:
    """Print the report at ``html`` (with its figures beside it) to ``path`` as A4 pages."""
    pdf_renderer()(filename=str(html), base_url=str(html.parent)).write_pdf(str(path))
    return path
