#!/usr/bin/env bash
# Every rationalization benchmark of docs/engine.md's precision table, in one run; results under $OUT.
#
#   OUT=runs/gpu bash bench/gpu_rationalize.sh                        # on a GPU machine
#   OUT=runs/cpu-check DEVICE=cpu QUICK=1 bash bench/gpu_rationalize.sh  # the same steps, tiny, on a CPU
#
# Writes device.txt, precision_error.txt (the error distribution behind the default rescore bounds),
# bundled_bf16.txt and bundled_fp32.txt (codeq-tiny, 20 functions), gpt2_small_bf16.txt and
# gpt2_small_fp32.txt (a random GPT-2 of codeparrot-small's size, 4 functions, searches capped at 16
# additions). Each times both workloads of bench/rationalize.py (every token of each function, and
# the model's own predictions) and prints the speed-up over the fp32 reference, whether the
# rationales are identical, the share of decisions re-scored in fp32 (bf16 is exact: near-ties are
# decided again in fp32) and the candidate passes' share of the measured matmul peak and of the
# data sheet's bf16 peak; stderr.log gathers warnings and errors. On an H200 the whole script should
# take about 6 minutes (an estimate from the CPU figures, not a measurement).
set -euo pipefail
cd "$(dirname "$0")/.."
OUT=${OUT:?set OUT to the folder for the results}
DEVICE=${DEVICE:-cuda}
PYTHON=${PYTHON:-python3}
export PYTHONPATH=$PWD${PYTHONPATH:+:$PYTHONPATH} PYTHONUNBUFFERED=1
mkdir -p "$OUT"
if [ "${QUICK:-0}" = 1 ]; then  # a check of the script itself: small models, few targets
    SIZE=tiny; ERR=(--snippets 1 --steps-per-snippet 1 --dtype bf16 --threads 1)
    RUN=(--snippets 1 --targets 2 --max-tokens 24 --every-token-max-tokens 8 --threads 1); RANDOM_RUN=("${RUN[@]}")
else
    SIZE=codeparrot-small; ERR=(--size tiny); RUN=(); RANDOM_RUN=(--snippets 4)
fi

"$PYTHON" - > "$OUT/device.txt" <<'PY'
import platform, torch, transformers
print("python", platform.python_version(), "torch", torch.__version__, "transformers", transformers.__version__)
print(torch.cuda.get_device_name() if torch.cuda.is_available() else "no CUDA device", "| CPU threads", torch.get_num_threads())
PY
cat "$OUT/device.txt"
run() {  # run NAME ARGS...: print and keep one benchmark's output; a failure does not stop the others
    local name=$1; shift
    echo "== $name: $*" | tee -a "$OUT/stderr.log"
    "$PYTHON" "$@" 2>> "$OUT/stderr.log" | tee "$OUT/$name.txt" || echo "== $name FAILED, see stderr.log" | tee -a "$OUT/$name.txt"
}
run precision_error bench/precision_error.py --device "$DEVICE" --size "$SIZE" "${ERR[@]}"
run bundled_bf16 bench/rationalize.py --model codeq-tiny --device "$DEVICE" --dtype bf16 --inexact "${RUN[@]}"
run bundled_fp32 bench/rationalize.py --model codeq-tiny --device "$DEVICE" --dtype fp32 "${RUN[@]}"
run gpt2_small_bf16 bench/rationalize.py --random gpt2 --size "$SIZE" --device "$DEVICE" --dtype bf16 --max-steps 16 \
    --inexact "${RANDOM_RUN[@]}"
run gpt2_small_fp32 bench/rationalize.py --random gpt2 --size "$SIZE" --device "$DEVICE" --dtype fp32 --max-steps 16 \
    "${RANDOM_RUN[@]}"
