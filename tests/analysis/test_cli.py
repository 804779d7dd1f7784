"""The report command end to end and its one-line errors."""

import subprocess
import sys

import pandas as pd
import scipy
import statsmodels
from click.testing import CliRunner
from export_files import write_export

from analysis.__main__ import main


def test_report_writes_tables_figures_and_html(tmp_path, random_tables):
    participants = pd.DataFrame({"participant_id": ["p00", "p01", "p02"], "excluded": [1, 0, 0]})
    folder = write_export(tmp_path / "export", {**random_tables, "participants": participants}, "parquet")
    out = tmp_path / "report"
    result = CliRunner().invoke(main, ["report", str(folder), "--out", str(out), "--n-boot", "50", "--seed", "3"])
    assert result.exit_code == 0, result.output
    for name in (
        "alignment.csv",
        "alignment_summary.csv",
        "category_tests.csv",
        "group_tests.csv",
        "entropy.csv",
        "human_agreement.csv",
        "ceiling_summary.csv",
        "category_mixed.csv",
        "human_ceiling.png",
        "category_rates.png",
        "kappa.png",
        "category_heatmap.png",
        "report.html",
    ):
        assert (out / name).stat().st_size > 0, name
    ceiling = pd.read_csv(out / "human_agreement.csv")
    assert ceiling["n_responses"].sum() == 44 and len(ceiling) == 6  # every response counted, once
    assert set(pd.read_csv(out / "category_tests.csv")["method"].dropna()) <= {"exact", "permutation", "asymptotic"}
    alignment = pd.read_csv(out / "alignment.csv")
    assert "p00" not in set(alignment["participant_id"]) and len(alignment) == 44  # 11 participants x 4 tasks
    html = (out / "report.html").read_text()
    assert f"scipy {scipy.__version__}" in html and f"statsmodels {statsmodels.__version__}" in html
    assert 'zero_method="wilcox"' in html and "seed 3" in html and "50 replicates" in html
    assert "1 participants marked excluded were dropped" in html and "11 participants" in html
    assert (
        "Human ceiling" in html
        and "Mixed-effects model by category" in html
        and "human_ceiling.svg" in html
        and (out / "human_ceiling.png").exists()
    )


def test_keep_excluded_and_bh(tmp_path, hand_tables):
    folder = write_export(tmp_path / "export", hand_tables)
    out = tmp_path / "report"
    result = CliRunner().invoke(
        main,
        [
            "report",
            str(folder),
            "--out",
            str(out),
            "--n-boot",
            "20",
            "--keep-excluded",
            "--correction",
            "fdr_bh",
            "--no-mixed",
        ],
    )
    assert result.exit_code == 0, result.output
    assert not (out / "category_mixed.csv").exists() and "Mixed-effects" not in (out / "report.html").read_text()
    assert "p3" in set(pd.read_csv(out / "alignment.csv")["participant_id"])
    assert set(pd.read_csv(out / "category_tests.csv")["correction"]) == {"fdr_bh"}
    assert "were kept on request" in (out / "report.html").read_text()


def test_bad_export_is_one_line_exit_1(tmp_path, hand_tables):
    hand_tables["selections"].loc[3, "selected"] = 7
    folder = write_export(tmp_path / "export", hand_tables)
    done = subprocess.run(
        [sys.executable, "-m", "analysis", "report", str(folder), "--out", str(tmp_path / "r")],
        capture_output=True,
        text=True,
    )
    assert done.returncode == 1
    assert (
        done.stderr.strip().splitlines()[-1] == "Error: selections.csv: column 'selected', row 4: value 7 is not 0 or 1"
    )
    assert "Traceback" not in done.stderr


def test_an_export_without_answers_is_one_line(tmp_path, hand_tables):
    participants = pd.DataFrame({"participant_id": ["p1", "p2", "p3"], "excluded": [1, 1, 1]})
    folder = write_export(tmp_path / "export", {**hand_tables, "participants": participants})
    result = CliRunner().invoke(main, ["report", str(folder), "--out", str(tmp_path / "r")])
    assert result.exit_code == 1 and "Traceback" not in result.output
    assert (
        result.output.strip()
        == f"Error: {folder}: no answers to main tasks to analyse yet (3 excluded participants left out)"
    )
    hand_tables["selections"] = hand_tables["selections"].iloc[:0]  # a study nobody has answered yet
    del hand_tables["participants"]
    folder = write_export(tmp_path / "empty", hand_tables)
    result = CliRunner().invoke(main, ["report", str(folder), "--out", str(tmp_path / "r")])
    assert (
        result.exit_code == 1 and result.output.strip() == f"Error: {folder}: no answers to main tasks to analyse yet"
    )


def run_in_terminal(args: list[str]) -> str:
    """Run ``python -m analysis`` with stdout and stderr on a pseudo-terminal; return what it printed."""
    import fcntl
    import os
    import pty
    import struct
    import termios

    leader, follower = pty.openpty()
    # a new pseudo-terminal is 0 columns wide, where tqdm draws an empty bar: give it 80 x 24
    fcntl.ioctl(follower, termios.TIOCSWINSZ, struct.pack("HHHH", 24, 80, 0, 0))
    proc = subprocess.Popen([sys.executable, "-m", "analysis", *args], stdout=follower, stderr=follower)
    os.close(follower)
    chunks = []
    while True:
        try:
            chunk = os.read(leader, 4096)
        except OSError:  # the terminal closes when the process exits
            break
        if not chunk:
            break
        chunks.append(chunk)
    assert proc.wait(timeout=300) == 0, b"".join(chunks).decode()
    os.close(leader)
    return b"".join(chunks).decode(errors="replace")


def test_progress_bar_only_on_a_terminal_and_never_with_quiet(tmp_path, random_tables):
    folder = write_export(tmp_path / "export", random_tables, "parquet")
    common = ["report", str(folder), "--n-boot", "20", "--no-mixed"]
    on_terminal = run_in_terminal([*common, "--out", str(tmp_path / "a")])
    assert "analysis report" in on_terminal and "section" in on_terminal
    quiet = run_in_terminal([*common, "--out", str(tmp_path / "b"), "--quiet"])
    assert "analysis report" not in quiet and "Wrote" in quiet
    piped = subprocess.run(
        [sys.executable, "-m", "analysis", *common, "--out", str(tmp_path / "c")], capture_output=True, text=True
    )
    assert piped.returncode == 0 and "analysis report" not in piped.stderr + piped.stdout
