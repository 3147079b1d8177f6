#!/usr/bin/env bash
# ALS and BPR fit time and accuracy, RecKit beside implicit 0.7.2 (from PyPI, in
# benchmarks/.venv-implicit) on the same ml-1m gen-rs split, same hyper-parameters, 2 threads
# each, alternating runs. implicit runs with one BLAS thread, as it recommends. Not part of the
# test suite.
#
# usage: benchmarks/implicit_ml1m.sh [rounds]
set -euo pipefail
cd "$(dirname "$0")/.."
rounds="${1:-3}"
venv=benchmarks/.venv-implicit
if [ ! -x "$venv/bin/python" ]; then
    python3 -m venv "$venv"
    "$venv/bin/pip" install -q "implicit==0.7.2" threadpoolctl scipy
fi
swift build -c release --product reckit >/dev/null
R=.build/release/reckit
$R data fetch ml-1m >/dev/null
split=$(mktemp -d)
$R data split --data ml-1m --protocol gen-rs --seed 2020 --out "$split" >/dev/null
echo "load avg before: $(cut -d' ' -f1-3 /proc/loadavg)"
"$venv/bin/python" benchmarks/implicit_compare.py "$R" "$split" ml-1m "$rounds"
rm -rf "$split"
