#!/usr/bin/env bash
# Set up the study app (without the model engine: the pilot comes prepared), create or upgrade the
# SQLite database, load the bundled pilot study and serve it at http://127.0.0.1:5000/s/pilot
# (HOST, PORT and DATABASE_URL override the defaults).
# The first run writes random keys to instance/secret_key and instance/export_key (mode 600, never
# committed); the app reads them whenever SECRET_KEY / EXPORT_KEY are not in the environment.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
. .venv/bin/activate
if [ ! -f instruments/pilot/tasks.jsonl ]; then
  echo 'Error: instruments/pilot/tasks.jsonl is missing; run "codeq prepare instruments/pilot" first.' >&2
  exit 1
fi
bash scripts/make_keys.sh
flask --app study_app db upgrade
flask --app study_app load-study instruments/pilot
exec flask --app study_app run --host "${HOST:-127.0.0.1}" --port "${PORT:-5000}"
