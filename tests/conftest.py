"""What the whole suite shares: how a test reacts to a service or program that is not there.

A developer running bare ``pytest`` without PostgreSQL, Redis, chromium or pdftotext gets those tests
skipped, each with its reason. CI (``.ci/run``) and ``scripts/test.sh`` set ``CODEQ_REQUIRE_SERVICES=1``:
there a missing one fails the test with one line naming it, so a green run has tested everything.
"""

from __future__ import annotations

import pytest

from study_app.config import flag

REQUIRE = "CODEQ_REQUIRE_SERVICES"


@pytest.fixture(scope="session")
def service_missing():
    """Return a function to call when a needed service is missing: it skips the test, or fails it
    (one line, no traceback) under ``CODEQ_REQUIRE_SERVICES=1``. Its argument names what is missing."""

    def missing(what: str):
        if flag(REQUIRE):  # "from None": called while handling the connection error, which must not show
            raise pytest.fail.Exception(f"{REQUIRE}=1 but {what}", pytrace=False) from None
        pytest.skip(what)

    return missing
