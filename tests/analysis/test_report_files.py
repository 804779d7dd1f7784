"""The files a report writes: the documented table, REPORT_FILES and a real report agree."""

from __future__ import annotations

import re
from pathlib import Path

from export_files import write_export

from analysis.report import write_report
from analysis.report_tables import REPORT_FILES, Options

DOCS = Path(__file__).parents[2] / "docs" / "analysis.md"


def documented_rows() -> list[tuple[str, str, str]]:
    text = DOCS.read_text(encoding="utf-8")
    table = text.split("### Files a report writes", 1)[1].split("###", 1)[0]
    return re.findall(r"^\| `([^`]+)` \| (.+?) \| (.+?) \|$", table, re.MULTILINE)


def test_the_documented_files_are_report_files():
    assert documented_rows() == [(f.name, f.holds, f.when) for f in REPORT_FILES]


def test_a_report_writes_the_documented_files_in_order(tmp_path, random_tables):
    files = write_report(
        write_export(tmp_path / "export", random_tables), tmp_path / "r", Options(n_boot=20, mixed=False)
    )
    # the test export has no response timings (but greedy rationales, an explainer) and the report
    # runs without the mixed models and the PDF
    absent = {"when `responses` has `active_ms`", "unless `--no-mixed`", "with `--pdf`"}
    expected = [name for name, _, when in documented_rows() if when not in absent]
    written = [path.name for path in files.values() if path.suffix != ".svg"]
    assert written == expected
    svgs = sorted(path.name for path in files.values() if path.suffix == ".svg")
    assert svgs == sorted(name.replace(".png", ".svg") for name in expected if name.endswith(".png"))
    assert sorted(p.name for p in (tmp_path / "r").iterdir()) == sorted(written + svgs)
