#!/usr/bin/env bash
# hnswlib (RecKit's index, `reckit bench ann`) beside FAISS (faiss-cpu from PyPI, HNSW and IVF) on
# the same saved factor model, one after the other in one invocation: recall@10 against exact
# ranking and latency per query on one thread, seen items filtered out.
#
# usage: benchmarks/faiss_compare.sh MODEL_DIR [users]
set -euo pipefail
cd "$(dirname "$0")/.."
model="$1"
users="${2:-1000}"
venv="${FAISS_VENV:-/tmp/venv-faiss}"
[ -x "$venv/bin/python" ] || python3 -m venv "$venv"
"$venv/bin/pip" install -q numpy safetensors faiss-cpu
swift build -c release --product reckit >/dev/null
echo "== RecKit (hnswlib 0.6.2 through the shim)"
env -u OPENBLAS_CORETYPE .build/release/reckit bench ann --model "$model" --users "$users"
echo "== FAISS"
"$venv/bin/python" benchmarks/faiss_compare.py "$model" "$users"
