"""Alignment statistics between human and model rationales, from exported study tables.

Notebook API: every function takes and returns pandas DataFrames with stable snake_case columns.

>>> import analysis
>>> export = analysis.load_export("exports/pilot")                      # doctest: +SKIP
>>> data = analysis.response_units(export.selections, export.units, export.model_rationales)  # doctest: +SKIP
>>> scores = analysis.alignment_scores(data)                                    # doctest: +SKIP
>>> tests = analysis.category_tests(analysis.category_rates(data))       # doctest: +SKIP
>>> ceiling = analysis.human_agreement(data)                              # doctest: +SKIP

Command line: ``python -m analysis report EXPORT --out DIR``, ``python -m analysis explain INPUT --out DIR``,
``python -m analysis power PILOT_EXPORT``. Imports neither torch nor flask.
"""

from analysis.alignment import alignment_scores, alignment_summary
from analysis.bootstrap import task_bootstrap
from analysis.categories import category_rates, category_tests, pooled_rates
from analysis.ceiling import ceiling_summary, human_agreement
from analysis.correction import adjust_pvalues
from analysis.entropy import normalized_entropy, rationale_entropy
from analysis.io import Export, ExportError, load_export
from analysis.mixed import category_mixed_models
from analysis.power import simulate_power
from analysis.tidy import response_units
from analysis.wilcoxon import paired_wilcoxon

__all__ = [
    "Export",
    "ExportError",
    "adjust_pvalues",
    "alignment_scores",
    "alignment_summary",
    "category_mixed_models",
    "category_rates",
    "category_tests",
    "ceiling_summary",
    "human_agreement",
    "load_export",
    "normalized_entropy",
    "paired_wilcoxon",
    "pooled_rates",
    "rationale_entropy",
    "response_units",
    "simulate_power",
    "task_bootstrap",
    "write_report",
]


def __getattr__(name):
    # The report pulls in matplotlib and jinja2; load them only when it is asked for.
    if name == "write_report":
        from analysis.report import write_report

        return write_report
    raise AttributeError(f"module 'analysis' has no attribute {name!r}")
