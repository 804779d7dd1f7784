"""A missing service skips its test with the reason, or fails it in one line under CODEQ_REQUIRE_SERVICES=1."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).parent.parent
NEEDS_A_SERVICE = """
def test_needs_it(service_missing):
    try:
        raise ConnectionRefusedError("connection to 127.0.0.1:1 refused")
    except ConnectionRefusedError:
        service_missing("the frobnicator is not running on 127.0.0.1:1")
"""


def run_suite(tmp_path: Path, require: str | None) -> subprocess.CompletedProcess:
    """Run a one-test suite, with this suite's conftest, in a fresh pytest process."""
    shutil.copy(ROOT / "tests" / "conftest.py", tmp_path / "conftest.py")
    (tmp_path / "test_it.py").write_text(NEEDS_A_SERVICE)
    env = {k: v for k, v in os.environ.items() if k != "CODEQ_REQUIRE_SERVICES"}
    env["COLUMNS"] = "300"  # the summary line whole
    env["PYTHONPATH"] = os.pathsep.join([str(ROOT), env.get("PYTHONPATH", "")])
    if require is not None:
        env["CODEQ_REQUIRE_SERVICES"] = require
    return subprocess.run(
        [sys.executable, "-m", "pytest", "-rA", "-p", "no:cacheprovider", str(tmp_path)],
        capture_output=True,
        text=True,
        env=env,
        cwd=tmp_path,
    )


@pytest.mark.parametrize("require", [None, "0"])
def test_without_the_variable_a_missing_service_skips_with_its_reason(tmp_path, require):
    result = run_suite(tmp_path, require)
    assert result.returncode == 0, result.stdout
    assert "1 skipped" in result.stdout
    assert re.search(r"SKIPPED \[1\] .*the frobnicator is not running on 127\.0\.0\.1:1", result.stdout)


@pytest.mark.parametrize("require", ["1", "yes"])
def test_under_the_variable_a_missing_service_fails_in_one_line(tmp_path, require):
    result = run_suite(tmp_path, require)
    assert result.returncode == 1 and "1 failed" in result.stdout and "skipped" not in result.stdout
    message = "CODEQ_REQUIRE_SERVICES=1 but the frobnicator is not running on 127.0.0.1:1"
    assert f"FAILED test_it.py::test_needs_it - Failed: {message}" in result.stdout
    report = result.stdout.split(" FAILURES ")[1].split(" short test summary info ")[0].splitlines()
    assert report[2:-1] == [message]  # under the test's name: that line, no code, no traceback


def test_ci_and_the_readme_command_require_every_service():
    for script in (".ci/run", "scripts/test.sh"):
        assert "CODEQ_REQUIRE_SERVICES=1" in (ROOT / script).read_text(), script
    test_sh = (ROOT / "scripts" / "test.sh").read_text()
    assert "apt_install pdftotext poppler-utils" in test_sh and "apt_install /usr/bin/chromium chromium" in test_sh
