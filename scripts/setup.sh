#!/usr/bin/env bash
# Create .venv and install the project. The CPU torch wheel goes first: a bare `torch`
# requirement on a machine without it would pull a multi-GB CUDA build.
set -euo pipefail
cd "$(dirname "$0")/.."
EXTRAS="${1:-}"
[ -x .venv/bin/python ] || python3 -m venv .venv
. .venv/bin/activate
python -m pip install -q --upgrade pip
python -c "import torch" 2>/dev/null || pip install -q torch==2.13.0
pip install -q -e ".${EXTRAS}"
