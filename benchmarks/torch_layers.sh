#!/usr/bin/env bash
# One Transformer block (batch 128, length 200, width 64, 2 heads, FFN 256, causal) and one GRU
# layer (batch 128, length 50, input 64, hidden 128), forward + backward with loss = mean of the
# outputs: RecKit (`reckit bench transformer|gru`) beside PyTorch on CPU with 2 threads, in
# alternating rounds, each benchmark in its own process so that peak RSS is per benchmark. Not
# part of the test suite.
#
# PyTorch (CPU wheel) goes into benchmarks/.venv-torch unless TORCH_VENV names an existing venv
# with torch. Both sides run in the caller's environment: OPENBLAS_CORETYPE, OPENBLAS_NUM_THREADS
# and MALLOC_* are passed through unchanged to both, and the script sets none of them (torch's
# CPU wheel uses MKL/oneDNN, which ignore the OpenBLAS variables; RecKit's OpenBLAS then picks
# its own core type and one thread per core, 2 here).
#
# usage: benchmarks/torch_layers.sh [rounds] [steps]
set -euo pipefail
cd "$(dirname "$0")/.."
rounds="${1:-3}"
steps="${2:-10}"
. benchmarks/torch_venv.sh
swift build -c release --product reckit >/dev/null
echo "load avg before: $(cut -d' ' -f1-3 /proc/loadavg)"
echo "OPENBLAS_CORETYPE=${OPENBLAS_CORETYPE:-<unset>} OPENBLAS_NUM_THREADS=${OPENBLAS_NUM_THREADS:-<unset>}"
"$venv/bin/python" benchmarks/torch_layers.py compare .build/release/reckit "$rounds" --steps "$steps"
echo "load avg after: $(cut -d' ' -f1-3 /proc/loadavg)"
