#!/bin/sh
# Capture a real GPU fingerprint and the GPU canaries once, as test data (issue #14).
#
#   tools/gpu_capture.sh [PYTHON] [OUT]     (defaults: python3, tests/data/gpu)
#
# Run from the repository root on a machine with an NVIDIA GPU, with PYTHON an
# interpreter that already has a CUDA build of torch and envcheck's runtime
# dependencies (packaging, click, psutil, nvidia-ml-py); nothing is installed or
# downloaded here. envcheck itself is used from src/. It writes to OUT:
#   fingerprint.json       envcheck snapshot --numerics (TF32 as the machine has it)
#   fingerprint-tf32.json  the same with TORCH_ALLOW_TF32_CUBLAS_OVERRIDE=1
#   fingerprint-strict.json  the same with NVIDIA_TF32_OVERRIDE=0
#   diff-tf32.txt          envcheck diff of the strict and TF32 fingerprints
#   pytest-gpu.txt         the tests marked gpu, run for real
#   capture.txt            what ran, the GPU, and each step's exit status
# Commit OUT as it is; no file in it is edited by hand.
set -u
PYTHON=${1:-python3}
OUT=${2:-tests/data/gpu}
mkdir -p "$OUT"
LOG="$OUT/capture.txt"
export PYTHONPATH="$PWD/src${PYTHONPATH:+:$PYTHONPATH}"
: > "$LOG"
say() { echo "gpu_capture: $*" | tee -a "$LOG" >&2; }
step() {  # step NAME COMMAND...: run it, keep its status in the log, go on
    name=$1; shift
    say "$name: $*"
    "$@"
    status=$?
    say "$name: exit $status"
}
say "python: $("$PYTHON" -c 'import sys; print(sys.version.split()[0], sys.executable)')"
say "torch: $("$PYTHON" -c 'import torch; print(torch.__version__, "cuda", torch.version.cuda, "available", torch.cuda.is_available())' 2>&1 | tail -1)"
command -v nvidia-smi >/dev/null && nvidia-smi -L 2>&1 | tee -a "$LOG" >&2
if ! "$PYTHON" -c 'import sys, torch; sys.exit(not torch.cuda.is_available())' 2>/dev/null; then
    say "torch sees no GPU with $PYTHON: nothing to capture"
    exit 1
fi
step snapshot "$PYTHON" -m envcheck snapshot --numerics --numerics-timeout 600 --no-save \
    -o "$OUT/fingerprint.json"
step snapshot-tf32 env TORCH_ALLOW_TF32_CUBLAS_OVERRIDE=1 "$PYTHON" -m envcheck snapshot \
    --numerics --numerics-timeout 600 --no-save -o "$OUT/fingerprint-tf32.json"
step snapshot-strict env NVIDIA_TF32_OVERRIDE=0 "$PYTHON" -m envcheck snapshot --numerics \
    --numerics-timeout 600 --no-save -o "$OUT/fingerprint-strict.json"
"$PYTHON" -m envcheck diff "$OUT/fingerprint-strict.json" "$OUT/fingerprint-tf32.json" \
    > "$OUT/diff-tf32.txt" 2>&1
say "diff strict vs tf32: exit $? (1: differences that fail the default --fail-on)"
if "$PYTHON" -c 'import pytest' 2>/dev/null; then
    "$PYTHON" -m pytest -q -m gpu -rs tests/test_numerics.py > "$OUT/pytest-gpu.txt" 2>&1
    say "pytest -m gpu: exit $?"
else
    say "pytest is not installed for $PYTHON: the gpu tests did not run"
fi
say "done: $OUT"
