#!/usr/bin/env bash
# EASE on ml-1m, end to end (load, fit, full-ranking evaluation of all 6,040 users), RecKit
# beside a NumPy/SciPy implementation of the same pipeline on the same split, timed in turn in
# one invocation. Both use OpenBLAS; OPENBLAS_CORETYPE/OPENBLAS_L2_SIZE are unset for both so
# each picks its own kernel. Not part of the test suite.
set -euo pipefail
cd "$(dirname "$0")/.."
runs="${1:-3}"

swift build -c release --product reckit >/dev/null
python3 -m venv benchmarks/.venv
benchmarks/.venv/bin/pip install -q numpy scipy
R=.build/release/reckit
$R data fetch ml-1m >/dev/null
split=$(mktemp -d)
$R data split --data ml-1m --protocol gen-rs --seed 2020 --out "$split" >/dev/null
echo "load avg before: $(cut -d' ' -f1-3 /proc/loadavg)"
env -u OPENBLAS_CORETYPE -u OPENBLAS_L2_SIZE benchmarks/.venv/bin/python benchmarks/time_pair.py "$runs" \
    "$R evaluate --data ml-1m --model ease --seed 2020" \
    "benchmarks/.venv/bin/python benchmarks/reference_eval.py $split ml-1m ease"
rm -rf "$split"
