#!/usr/bin/env bash
# Set up, load the bundled pilot study into SQLite and serve it on http://127.0.0.1:5000
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
. .venv/bin/activate
export FLASK_APP=study_app
flask db-upgrade 2>/dev/null || flask --app study_app init-db
flask --app study_app load-study instruments/pilot
exec flask --app study_app run --host "${HOST:-127.0.0.1}" --port "${PORT:-5000}"
