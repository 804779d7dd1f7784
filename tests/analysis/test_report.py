"""The report's presentation: numbered captions, notes on weak intervals, the entropy text, PDF output."""

from __future__ import annotations

import re
import shutil
import subprocess

import pandas as pd
from export_files import write_export

from analysis.breakdown import format_duration, response_times
from analysis.report import write_report
from analysis.report_tables import Options


def note(html: str, level: str) -> str:
    """The last cell of the first table row whose first cell reads ``level`` (the pooled-rates table comes first)."""
    return re.search(rf'<tr><td class="text">{level}</td>.*?<td class="text">([^<]*)</td></tr>', html, re.DOTALL).group(
        1
    )


def test_report_flags_small_samples_and_weak_intervals(tmp_path, hand_tables):
    files = write_report(write_export(tmp_path / "export", hand_tables), tmp_path / "r", Options(n_boot=50))
    html = files["report"].read_text()
    # 2 participants and 3 tasks (p3 is excluded): both warnings at the top, before the methods
    warning = re.search(r'<p class="warning"[^>]*>(.*?)</p>', html, re.DOTALL).group(1)
    assert "2 participants and 3 tasks" in warning and "fewer than 5 tasks" in warning and "fewer than 10" in warning
    assert html.index('class="warning"') < html.index("<h2>Methods</h2>")
    # every figure and table is numbered 1..n in reading order and has a caption
    for kind in ("Figure", "Table"):
        numbers = [int(n) for n in re.findall(rf"<b>{kind} (\d+)\.</b>", html)]
        assert numbers == list(range(1, len(numbers) + 1)) and numbers
    assert html.count("<figure") == html.count("<figcaption>")
    # selectable units: t1 none, punctuation, identifiers, newline; t2 identifiers, none, punctuation, loops.
    # Nobody (model included) selects 'none' and the model never selects identifiers: rates of 0 in every
    # draw; humans select t1's identifier (p1) but not t2's, so their interval has a width.
    assert note(html, "none") == "from 2 tasks; human: zero width; model: zero width"
    assert note(html, "newline") == "from 1 task; human: zero width; model: zero width"
    assert note(html, "identifiers") == "from 2 tasks; model: zero width"
    for stem in ("kappa", "category_rates", "group_rates", "category_heatmap"):
        assert (tmp_path / "r" / f"{stem}.svg").read_text().lstrip().startswith("<?xml")
        assert f'src="{stem}.svg"' in html
    assert html.count('href="https://doi.org/') >= 9 and '<ol class="references">' in html


def test_negative_entropy_reduction_is_explained(tmp_path, hand_tables):
    files = write_report(write_export(tmp_path / "export", hand_tables), tmp_path / "r", Options(n_boot=20))
    entropy = pd.read_csv(files["entropy"]).set_index("rater")
    html = files["report"].read_text()
    for rater, row in entropy.iterrows():
        # hand example: the model picks 2 of 5 texts in 2 of 4 categories, so H_category > H_token
        assert (f"The {rater}&#39;s reduction is negative ({row['reduction']:.2f})" in html) == (row["reduction"] < 0)
    assert (entropy["reduction"] < 0).any()


def test_pdf_has_the_same_report(tmp_path, random_tables, service_missing):
    if shutil.which("pdftotext") is None:
        service_missing("pdftotext is not installed (apt-get install poppler-utils)")
    files = write_report(write_export(tmp_path / "export", random_tables), tmp_path / "r", Options(n_boot=20), pdf=True)
    text = subprocess.run(["pdftotext", str(files["pdf"]), "-"], capture_output=True, text=True, check=True).stdout
    html = files["report"].read_text()
    for caption in re.findall(r"<b>((?:Figure|Table) \d+)\.</b>", html):
        assert caption in text


def test_response_times_quartiles_and_format():
    responses = pd.DataFrame(
        {
            "participant_id": list("abcde"),
            "task_id": ["t1"] * 4 + ["t2"],
            "kind": ["main"] * 4 + ["attention"],
            "phase": 1,
            "active_ms": [60_000, 70_000, 80_000, 200_000, 5_000],
        }
    )
    times = response_times(responses)
    # numpy's linear quantiles of 60, 70, 80, 200: q1 = 67.5, median = 75, q3 = 110; the attention row is left out
    assert times.to_dict("records") == [{"task_id": "t1", "n": 4, "median_s": 75.0, "q1_s": 67.5, "q3_s": 110.0}]
    assert format_duration(75.0) == "1 min 15 s" and format_duration(110.0) == "1 min 50 s"


def test_fraction_of_a_chance_ceiling_is_flagged_and_the_kappa_plot_marks_zero(tmp_path, random_tables):
    import numpy as np

    from analysis.ceiling import CEILING_FLOOR
    from analysis.plots import plot_kappa

    files = write_report(
        write_export(tmp_path / "export", random_tables), tmp_path / "r", Options(n_boot=50, mixed=False)
    )
    summary = pd.read_csv(files["ceiling_summary"]).iloc[0]
    # random selections: people agree at chance, so the ratio is not given
    assert abs(summary["human_loo_kappa"]) < CEILING_FLOOR and summary["ceiling_ci_low"] <= 0
    assert pd.isna(summary["fraction_of_ceiling"]) and "interval includes 0" in summary["fraction_note"]
    html = files["report"].read_text()
    assert "Fraction of the ceiling: undefined, because the human ceiling" in html
    assert f"only when the ceiling is at least {CEILING_FLOOR:g}" in html
    scores = pd.read_csv(files["alignment"])
    axes = plot_kappa(scores).axes
    assert all(any(np.allclose(line.get_xdata(), 0) for line in ax.lines) for ax in axes)
