#!/usr/bin/env bash
# One device check for a GPU machine: the GPU tests, then every GPU benchmark, in under 10 minutes.
# Every figure goes to one results file (the first argument); a summary is printed at the end.
#
#   bash benchmarks/gpu_check.sh /tmp/gpu-results.txt
#
# Uses .venv/bin/python when there is one, else $PYTHON, else python3 (with torch, textual,
# textual-plotext, rich, pytest, pytest-asyncio, pytest-timeout, hypothesis importable), and
# MNIST_TUI_DATA for the data (else ../shared/datasets, else ./data when it holds MNIST/raw).
set -uo pipefail
out="${1:-}"
if [ -z "$out" ]; then
  echo "usage: bash benchmarks/gpu_check.sh RESULTS_FILE" >&2
  exit 2
fi
cd "$(dirname "$0")/.."
if [ -n "${PYTHON:-}" ]; then PY=$PYTHON; elif [ -x .venv/bin/python ]; then PY=.venv/bin/python; else PY=python3; fi
if [ -z "${MNIST_TUI_DATA:-}" ]; then
  for candidate in ../shared/datasets data; do
    if [ -d "$candidate/MNIST/raw" ]; then export MNIST_TUI_DATA=$(cd "$candidate" && pwd); break; fi
  done
fi
if ! "$PY" -c 'import sys, torch; sys.exit(0 if torch.cuda.is_available() else 1)' >/dev/null 2>&1; then
  echo "gpu_check: this needs a CUDA GPU, and torch ($PY) sees none here; nothing was run." >&2
  exit 1
fi

: > "$out"
"$PY" -c 'import torch; print(f"torch {torch.__version__}, CUDA {torch.version.cuda}, {torch.cuda.device_count()} x {torch.cuda.get_device_name(0)}")' | tee -a "$out"
started=$(date +%s)

step() {  # step NAME SECONDS COMMAND...: run it with a time limit, keep all it prints, say how it ended
  local name=$1 limit=$2 t0
  shift 2
  t0=$(date +%s)
  echo "== $name" >> "$out"
  timeout "$limit" "$@" >> "$out" 2>&1
  local code=$?
  echo "-- $name: exit $code after $(( $(date +%s) - t0 )) s" | tee -a "$out"
}

step "gpu tests" 150 "$PY" -m pytest -q -m gpu -p no:cacheprovider tests/test_gpu.py
for batch in 64 512; do
  step "engine vs classic, batch $batch, eager" 45 "$PY" benchmarks/engine_vs_classic.py --device cuda --batch-size "$batch" --steps 600 --rounds 3
  step "engine vs classic, batch $batch, compiled" 75 "$PY" benchmarks/engine_vs_classic.py --device cuda --batch-size "$batch" --steps 600 --rounds 3 --compile
done
step "dashboard overhead, GPU-like event rate" 60 "$PY" benchmarks/dashboard_overhead.py --device cuda --model mlp --train-size 60000 --epochs 2 --log-every 100 --rounds 3
step "time to 99% test accuracy (batch 64, lr 0.01)" 75 "$PY" benchmarks/time_to_accuracy.py --device cuda --target 0.99 --compile both
step "the report's sweeps, 5 epochs, 60,000 images" 90 "$PY" benchmarks/seed_experiment.py --device cuda --full
# The report's 15-run reproduce with 1, then 2 runs sharing the GPU (never run on a GPU yet: untested there).
step "reproduce, --runs-per-device 1 vs 2, 3 epochs" 150 "$PY" benchmarks/executor_backends.py --packing --device cuda --epochs 3

echo
echo "== summary ($(( $(date +%s) - started )) s; every figure is in $out)"
grep -E "^(torch |-- |ratio|median|eager|compiled|enter|event|reproduce|[0-9]+ passed|.*(passed|failed|skipped) in )|took|5 epochs" "$out"
echo "goals on an H100: engine >= 5x classic at batch 64; 99% in < 3 s of training; the report's 5 epochs < 5 s; dashboard < 3%"
