"""Run every analysis on an export folder and write CSVs, PNG figures and report.html."""

from __future__ import annotations

import platform
from datetime import UTC, datetime
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path

import jinja2
from tqdm import tqdm

from analysis.alignment import alignment, alignment_summary
from analysis.categories import category_rates, category_tests, pooled_rates
from analysis.correction import CORRECTIONS
from analysis.entropy import rationale_entropy
from analysis.io import Export, ExportError, load_export
from analysis.plots import plot_heatmap, plot_kappa, plot_rates
from analysis.tidy import response_units
from analysis.wilcoxon import ZERO_METHODS

PACKAGES = ("codeq-study", "numpy", "pandas", "scipy", "statsmodels", "matplotlib")
ZERO_TEXT = {
    "wilcox": "participants with equal human and model rates are dropped before ranking",
    "pratt": "participants with equal rates are ranked, then their ranks ignored (Pratt 1959)",
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
    kinds = "".join(f" {n} {kind} responses were left out (only main tasks are analysed)."
                    for kind, n in sorted(export.other_kinds.items()))
    kinds += "".join(f" Note: {w[0].upper()}{w[1:]}." for w in export.warnings)
    if export.participants is None or "excluded" not in export.participants.columns:
        return "The export has no participants table with an excluded column: no exclusions were applied." + kinds
    if not export.excluded:
        return "No participant was marked excluded." + kinds
    ids = ", ".join(export.excluded[:20]) + (" ..." if len(export.excluded) > 20 else "")
    if keep_excluded:
        return f"{len(export.excluded)} participants marked excluded were kept on request ({ids})." + kinds
    return f"{len(export.excluded)} participants marked excluded were dropped before any analysis ({ids})." + kinds


def write_report(folder, out, keep_excluded: bool = False, correction: str = "holm", zero_method: str = "wilcox",
                 n_boot: int = 2000, ci: float = 0.95, seed: int = 0) -> dict[str, Path]:
    """Analyse the export in ``folder`` and write every table, figure and ``report.html`` to ``out``.

    Parameters
    ----------
    folder, out : str or pathlib.Path
        The export folder (see :func:`analysis.load_export`) and the output folder (created).
    keep_excluded : bool
        Keep participants marked excluded.
    correction : {"holm", "fdr_bh"}
        Multiple-comparison adjustment of the category and group tests.
    zero_method : {"wilcox", "pratt"}
        Treatment of zero differences in the Wilcoxon tests.
    n_boot, ci, seed
        Bootstrap replicates, CI coverage, seed.

    Returns
    -------
    dict of pathlib.Path
        Every file written, by short name.
    """
    if correction not in CORRECTIONS:
        raise ValueError(f"correction must be one of {', '.join(CORRECTIONS)}, got {correction!r}")
    if zero_method not in ZERO_METHODS:
        raise ValueError(f"zero_method must be one of {', '.join(ZERO_METHODS)}, got {zero_method!r}")
    export = load_export(folder, keep_excluded=keep_excluded)  # before the progress bar: errors print alone
    if export.selections.empty:
        left_out = f" ({len(export.excluded)} excluded participants left out)" if export.excluded and not keep_excluded else ""
        raise ExportError(f"{folder}: no answers to main tasks to analyse yet{left_out}")
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    with tqdm(total=7, desc="analysis report", unit="step") as steps:
        data = response_units(export.selections, export.units, export.model_rationales)
        steps.update()
        tables = {"alignment": alignment(data)}
        tables["alignment_summary"] = alignment_summary(tables["alignment"], n_boot=n_boot, ci=ci, seed=seed)
        steps.update()
        for by in ("category", "group"):
            tables[f"{by}_rates"] = category_rates(data, by)
            tables[f"{by}_tests"] = category_tests(tables[f"{by}_rates"], by, correction=correction,
                                                   zero_method=zero_method)
            tables[f"pooled_{by}_rates"] = pooled_rates(data, by, n_boot=n_boot, ci=ci, seed=seed)
            steps.update()
        tables["entropy"] = rationale_entropy(data)
        steps.update()
        files = {}
        for name, table in tables.items():
            files[name] = out / f"{name}.csv"
            table.to_csv(files[name], index=False)
        files["category_rates_png"] = plot_rates(tables["pooled_category_rates"], "category", out / "category_rates.png")
        files["group_rates_png"] = plot_rates(tables["pooled_group_rates"], "group", out / "group_rates.png")
        files["kappa_png"] = plot_kappa(tables["alignment"], out / "kappa.png")
        files["heatmap_png"] = plot_heatmap(tables["category_rates"], "category", out / "category_heatmap.png")
        steps.update()
        files["report"] = out / "report.html"
        files["report"].write_text(render_html(export, data, tables, files, folder, keep_excluded=keep_excluded,
                                               correction=correction, zero_method=zero_method,
                                               n_boot=n_boot, ci=ci, seed=seed), encoding="utf-8")
        steps.update()
    return files


def render_html(export, data, tables, files, folder, *, keep_excluded, correction, zero_method, n_boot, ci, seed) -> str:
    """Fill the report template: counts, the methods paragraph, tables and figures."""
    def html(table):
        return table.to_html(index=False, float_format=lambda v: f"{v:.3g}", na_rep="NaN", border=0, classes="t")

    counts = {
        "participants": data["participant_id"].nunique(),
        "tasks": data["task_id"].nunique(),
        "responses": len(tables["alignment"]),
        "unit_rows": int(data["unit_index"].notna().sum()),
    }
    return TEMPLATE.render(
        generated=datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC"), folder=str(folder),
        counts=counts, exclusion=exclusion_note(export, keep_excluded), n_boot=n_boot, ci=round(ci * 100),
        seed=seed, correction=correction, correction_text=CORRECTIONS[correction], zero_method=zero_method,
        zero_text=ZERO_TEXT[zero_method], versions=versions(),
        tables={name: html(t) for name, t in tables.items()},
        figures={name: path.name for name, path in files.items() if name.endswith("_png")},
        csvs=[p.name for name, p in files.items() if p.suffix == ".csv"],
    )


TEMPLATE = jinja2.Environment(autoescape=True).from_string("""<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>Human-model rationale alignment</title>
<style>
body{font-family:system-ui,sans-serif;max-width:1100px;margin:2em auto;padding:0 1em;line-height:1.5;color:#222}
table.t{border-collapse:collapse;font-size:.85em;margin:1em 0}
table.t td,table.t th{padding:.2em .6em;border-bottom:1px solid #ddd;text-align:right}
img{max-width:100%} code{background:#f4f4f4;padding:0 .2em} .small{color:#666;font-size:.9em}
</style></head><body>
<h1>Human-model rationale alignment</h1>
<p class="small">Export <code>{{ folder }}</code>, generated {{ generated }}.</p>
<h2>Data</h2>
<p>{{ counts.participants }} participants, {{ counts.tasks }} tasks, {{ counts.responses }} responses
(participant x task), {{ counts.unit_rows }} selectable unit x response rows. {{ exclusion }}</p>
<h2>Methods</h2>
<p>For each response we compared the participant's selection with the model's greedy rationale
(Vafa et al., 2021) over the task's selectable code units, the units left of the target that a participant
could select; rationale units outside that range were ignored. Agreement per response is Cohen's kappa
(Cohen, 1960; undefined, reported as NaN, when both raters are constant and agree; 0 and flagged when exactly
one rater is constant) and, because selections are rare and kappa then suffers from the prevalence paradox,
Gwet's AC1 (Gwet, 2008); with the participant's selection as reference we also report precision, recall,
F1 and Jaccard overlap. Means over responses carry {{ ci }}% percentile bootstrap confidence intervals from
{{ n_boot }} replicates that resample tasks with replacement (seed {{ seed }}): units and responses of one
snippet are not independent, so tokens are never resampled.</p>
<p>For each category (and, separately, each group) we computed per participant the share of the selectable
units of that category, over the participant's tasks, that the participant selected, and the share that the
model's rationale selected on the same tasks. Human and model rates were compared across participants with a
two-sided Wilcoxon signed-rank test (Wilcoxon, 1945) using <code>scipy.stats.wilcoxon(d,
zero_method="{{ zero_method }}", correction=False, method="asymptotic")</code>: {{ zero_text }}; p-values
from the normal approximation with the variance corrected for ties, without continuity correction. The
effect size is the matched-pairs rank-biserial correlation (Kerby, 2014), positive when participants select
the category more often than the model. P-values were adjusted over the categories (and separately over
the groups) with the {{ correction_text }} procedure (<code>statsmodels multipletests(method="{{ correction
}}")</code>); categories whose test is undefined (every participant's rates equal) are not counted.
Entropy: the normalized Shannon entropy of the distribution of selected units over token types (unit text)
and over categories, each divided by the log of the number of types (categories) available among the
selectable units; human selections pooled over responses, the model's rationale counted once per task;
reduction = (H_token - H_category) / H_token.</p>
<p class="small">Software: {% for name, v in versions.items() %}{{ name }} {{ v }}{% if not loop.last %}, {% endif %}{% endfor %}.</p>
<h2>Agreement per response</h2>
{{ tables.alignment_summary | safe }}
<img src="{{ figures.kappa_png }}" alt="Distribution of kappa and AC1 per response">
<h2>Selection rate by category</h2>
<img src="{{ figures.category_rates_png }}" alt="Human and model selection rate per category">
{{ tables.category_tests | safe }}
<img src="{{ figures.heatmap_png }}" alt="Human minus model rate per participant and category">
<h2>Selection rate by group</h2>
<img src="{{ figures.group_rates_png }}" alt="Human and model selection rate per group">
{{ tables.group_tests | safe }}
<h2>Entropy</h2>
{{ tables.entropy | safe }}
<h2>References</h2>
<p class="small">Cohen, J. (1960). A coefficient of agreement for nominal scales. Educ. Psychol. Meas. 20(1), 37-46.
Gwet, K. L. (2008). Computing inter-rater reliability and its variance in the presence of high agreement.
Br. J. Math. Stat. Psychol. 61(1), 29-48. Holm, S. (1979). A simple sequentially rejective multiple test
procedure. Scand. J. Stat. 6(2), 65-70. Benjamini, Y., &amp; Hochberg, Y. (1995). Controlling the false discovery
rate. J. R. Stat. Soc. B 57(1), 289-300. Kerby, D. S. (2014). The simple difference formula. Compr. Psychol. 3.
Pratt, J. W. (1959). Remarks on zeros and ties in the Wilcoxon signed rank procedures. JASA 54, 655-667.
Vafa, K., et al. (2021). Rationales for sequential predictions. EMNLP. Wilcoxon, F. (1945). Individual
comparisons by ranking methods. Biometrics Bull. 1(6), 80-83.</p>
<p class="small">Tables: {{ csvs | join(", ") }}.</p>
</body></html>
""")
