#!/usr/bin/env bash
# Set up (the project with every extra: engine, ray, dev, pdf; Debian chromium for browser tests, poppler's
# pdftotext for the PDF report test) and run the whole suite, against SQLite and against PostgreSQL at
# 127.0.0.1:5432 (database test), with Redis at 127.0.0.1:6379. A service or program that is missing
# fails its tests (CODEQ_REQUIRE_SERVICES=1) instead of skipping them.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh "[engine,ray,dev,pdf]"
apt_install() {  # apt_install PROGRAM PACKAGE: install PACKAGE from Debian unless PROGRAM is on the PATH
  command -v "$1" >/dev/null && return
  local sudo=""
  if [ "$(id -u)" != 0 ]; then sudo=sudo; fi
  $sudo apt-get update -qq && $sudo env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "$2" >/dev/null
}
apt_install /usr/bin/chromium chromium
apt_install pdftotext poppler-utils
. .venv/bin/activate
export CODEQ_TEST_POSTGRES_URL="${CODEQ_TEST_POSTGRES_URL:-postgresql+psycopg://postgres@127.0.0.1:5432/test}"
export CODEQ_REQUIRE_SERVICES=1
exec python -m pytest -q "$@"
