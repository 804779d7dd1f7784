#!/usr/bin/env bash
# Set up (the project with every extra: engine, ray, dev; Debian chromium for browser tests) and run the whole suite,
# against SQLite and against PostgreSQL at 127.0.0.1:5432 (database test).
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh "[engine,ray,dev,pdf]"
if [ ! -x /usr/bin/chromium ]; then
  if [ "$(id -u)" = 0 ]; then apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null
  else sudo apt-get update -qq && sudo DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null; fi
fi
. .venv/bin/activate
export CODEQ_TEST_POSTGRES_URL="${CODEQ_TEST_POSTGRES_URL:-postgresql+psycopg://postgres@127.0.0.1:5432/test}"
exec python -m pytest -q "$@"
