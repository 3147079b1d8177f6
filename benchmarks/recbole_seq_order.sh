#!/usr/bin/env bash
# RecBole 1.2.1's seq-loo split of ml-1m (benchmark preprocessing) against RecKit's, with exact
# timestamps and with `--float32-timestamps`, and a first-order Markov chain's NDCG@10 / HR@10
# on each order. Needs PyPI; installs RecBole and torch into benchmarks/.venv-recbole (about
# 1 GB), as benchmarks/recbole_parity.sh does. Not part of the test suite; a few minutes.
#
# usage: benchmarks/recbole_seq_order.sh
set -euo pipefail
cd "$(dirname "$0")/.."
venv="${RECBOLE_VENV:-benchmarks/.venv-recbole}"
if [ ! -x "$venv/bin/python" ]; then
    python3 -m venv "$venv"
    "$venv/bin/pip" install -q "recbole==1.2.1" "numpy<2" "scipy<1.13" pandas torch "setuptools<70"
fi
swift build -c release --product reckit >/dev/null
R=.build/release/reckit
data_path="$(dirname "$($R data fetch ml-1m 2>/dev/null)")"  # holds ml-1m/ml-1m.inter
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
$R data split --data ml-1m --recbole-benchmark --protocol seq-loo --out "$work/exact" >/dev/null
$R data split --data ml-1m --recbole-benchmark --float32-timestamps --protocol seq-loo --out "$work/float32" >/dev/null
# RecBole's warnings go to a log, shown only if the comparison fails.
"$venv/bin/python" benchmarks/recbole_seq_order.py "$data_path" "$work/exact" "$work/float32" 2>"$work/log" \
    || { cat "$work/log" >&2; exit 1; }
