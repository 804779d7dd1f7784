"""`codeq rationalize-corpus` is `codeq corpus run --engine local` under its old option names."""

import shutil
from pathlib import Path

import pandas as pd
from click.testing import CliRunner

from codeq.cli import main
from codeq.corpus_run.shards import read_table

SNIPPETS = Path(__file__).resolve().parents[2] / "instruments" / "pilot" / "snippets"
RULES = ["--max-new-tokens", "24", "--max-steps", "10", "--seed", "3"]


def test_rationalize_corpus_writes_the_rows_of_corpus_run(tmp_path):
    src = tmp_path / "src"
    src.mkdir()
    for name in ("fnmatch-filter.py", "csv-sniff.py"):
        shutil.copy(SNIPPETS / name, src / name)
    old = CliRunner().invoke(
        main, ["rationalize-corpus", str(src), "--out", str(tmp_path / "old"), "--targets-per-snippet", "2", *RULES]
    )
    assert old.exit_code == 0, old.output
    assert "deprecated" in old.stderr and "codeq corpus run --engine local" in old.stderr
    new = CliRunner().invoke(
        main,
        ["corpus", "run", str(src), "--out", str(tmp_path / "new"), "-m", "codeq-tiny", "--device", "cpu"]
        + ["--engine", "local", "--targets-per-item", "2", *RULES],
    )
    assert new.exit_code == 0, new.output
    rows = read_table(tmp_path / "new")
    assert len(rows) > 0
    pd.testing.assert_frame_equal(read_table(tmp_path / "old"), rows)
    pd.testing.assert_frame_equal(read_table(tmp_path / "old", "errors"), read_table(tmp_path / "new", "errors"))
