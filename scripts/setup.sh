#!/usr/bin/env bash
# Create .venv and install the project with the extras given as $1, e.g. "[engine,ray,dev]".
# Without extras it installs the study app and the analysis only (no torch). With the engine,
# the CPU torch wheel goes first: a bare `torch` requirement would pull a multi-GB CUDA build.
set -euo pipefail
cd "$(dirname "$0")/.."
EXTRAS="${1:-}"
[ -x .venv/bin/python ] || python3 -m venv .venv
. .venv/bin/activate
python -m pip install -q --upgrade pip
if [[ "$EXTRAS" == *engine* ]]; then
  python -c "import torch" 2>/dev/null || pip install -q torch==2.13.0
fi
pip install -q -e ".${EXTRAS}"
