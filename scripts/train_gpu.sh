#!/usr/bin/env bash
# Retrain the bundled codeq-tiny on a GPU machine in one run that brings back weights and logs.
#
# 1. Here, with the project's environment (CPU, a few minutes):
#        bash scripts/train_gpu.sh prepare
#    writes runs/tiny-gpu/corpus.jsonl.xz (`codeq tiny-corpus`: this machine's stdlib and installed
#    packages, the GPU machine's own differ) and runs/tiny-gpu/wheels/ (tree-sitter wheels for a
#    Python 3.12 that lacks them; torch, transformers, tokenizers and click are expected there).
# 2. On the GPU machine, from the repository root, with runs/tiny-gpu carried along and OUT set:
#        bash scripts/train_gpu.sh train [extra codeq train-tiny options]
#    trains for $TINY_MINUTES minutes (default 5) with the default size, runs bench/model_quality.py
#    on the result (fp32), and writes under $OUT: train.log, quality.log, quality.json, training.json
#    and the model folder as codeq-tiny.tar.part-00, -01, ... (15 MiB parts, checkpoint left out).
# 3. Back here:
#        cat <returned folder>/codeq-tiny.tar.part-* | tar -x -C codeq/models
#
# DEVICE (default cuda), FUNCTIONS (default 40), TINY_MINUTES and CORPUS override the defaults; a CPU dry run
# on a standard-library-only corpus (`codeq tiny-corpus --out /tmp/c.jsonl.xz --packages <empty folder>`):
#   OUT=/tmp/out DEVICE=cpu FUNCTIONS=2 CORPUS=/tmp/c.jsonl.xz bash scripts/train_gpu.sh train --steps 3 --layers 1 --width 32 \
#     --heads 2 --vocab-size 512 --tokenizer-mb 2 --batch-size 2 --checkpoint-every 3
set -euo pipefail

STAGE=runs/tiny-gpu
CORPUS=${CORPUS:-$STAGE/corpus.jsonl.xz}

prepare() {
    codeq tiny-corpus --out "$CORPUS"
    local versions
    versions=$(python -c 'import importlib.metadata as m; print(*(f"{n}=={m.version(n)}" for n in ("tree-sitter", "tree-sitter-python")))')
    # shellcheck disable=SC2086  # two requirement words
    python -m pip download --no-deps --only-binary=:all: --python-version 3.12 --implementation cp \
        --platform manylinux_2_28_x86_64 --platform manylinux_2_17_x86_64 --platform manylinux2014_x86_64 \
        -d "$STAGE/wheels" $versions
    du -sh "$STAGE"/*
    # what travels to the GPU machine: tracked and untracked-not-ignored files plus the carried stage (64 MiB at most)
    local tree stage
    tree=$({ git ls-files -z; git ls-files -z -o --exclude-standard; } | xargs -0 du -cb 2>/dev/null | awk '$2 == "total" {s += $1} END {print s + 0}')
    stage=$(du -sb "$STAGE" | cut -f1)
    echo "travels: $(( (tree + stage) / 1048576 )) MiB (working tree $(( tree / 1048576 )), $STAGE $(( stage / 1048576 ))) of 64 MiB"
    if (( tree + stage > 64 * 1048576 )); then echo "too large to travel: make the working tree smaller" >&2; exit 1; fi
}

train() {
    : "${OUT:?set OUT to the folder that comes back}"
    local device=${DEVICE:-cuda} work model
    export PYTHONUNBUFFERED=1 PYTHONPATH=$PWD
    if ! python3 -c 'import tree_sitter_python' 2>/dev/null; then
        python3 -m pip install -q --no-index --no-deps --no-compile --target /tmp/codeq-site "$STAGE"/wheels/*.whl
        export PYTHONPATH=/tmp/codeq-site:$PWD
    fi
    work=$(mktemp -d)
    model=$work/codeq-tiny
    { nvidia-smi || true; } > "$OUT/train.log" 2>&1
    python3 -m codeq.cli train-tiny --corpus "$CORPUS" --out "$model" --device "$device" \
        --max-minutes "${TINY_MINUTES:-5}" "$@" 2>&1 | tee -a "$OUT/train.log"
    python3 bench/model_quality.py --model "$model" --corpus "$CORPUS" --device "$device" --dtype fp32 \
        --functions "${FUNCTIONS:-40}" --show --json "$OUT/quality.json" 2>&1 | tee "$OUT/quality.log"
    cp "$model/training.json" "$OUT/training.json"
    tar -C "$work" --exclude checkpoint.pt -cf - codeq-tiny | split -b 15m -d - "$OUT/codeq-tiny.tar.part-"
    ls -l "$OUT"
}

case "${1:-}" in
    prepare) prepare ;;
    train) shift; train "$@" ;;
    *) echo "usage: bash scripts/train_gpu.sh prepare | train [codeq train-tiny options]" >&2; exit 2 ;;
esac
