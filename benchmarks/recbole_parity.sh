#!/usr/bin/env bash
# Parity with RecBole 1.2.1, both ways, on the same gen-rs split:
#  1. RecKit writes the split (`reckit data split`), RecBole reads it as benchmark files;
#  2. RecBole draws its own split (seed 2020), RecKit evaluates on it (`--data SPLIT_FOLDER`).
# Both evaluate Pop, ItemKNN and EASE with full ranking. Then RecKit's mean ± sd over 10 seeds. Needs PyPI; installs RecBole and torch
# into benchmarks/.venv-recbole (about 1 GB). Not part of the test suite.
#
# usage: benchmarks/recbole_parity.sh [ml-100k|ml-1m] [seed]
set -euo pipefail
cd "$(dirname "$0")/.."
data="${1:-ml-100k}"
seed="${2:-2020}"
venv="${RECBOLE_VENV:-benchmarks/.venv-recbole}"

if [ ! -x "$venv/bin/python" ]; then
    python3 -m venv "$venv"
    "$venv/bin/pip" install -q "recbole==1.2.1" "numpy<2" "scipy<1.13" pandas torch "setuptools<70"
fi
swift build -c release --product reckit >/dev/null
R=.build/release/reckit
$R data fetch "$data" >/dev/null
work=$(mktemp -d)
mkdir -p "$work/split"
$R data split --data "$data" --protocol gen-rs --seed "$seed" --out "$work/raw" >/dev/null
for part in train valid test; do cp "$work/raw/$data.$part.inter" "$work/split/split.$part.inter"; done

printf "%-8s %-9s %9s %9s %9s %9s %8s\n" model library NDCG@10 Recall@10 NDCG@20 Recall@20 seconds
for pair in pop:Pop itemknn:ItemKNN ease:EASE; do
    ours=${pair%%:*}
    theirs=${pair##*:}
    $R evaluate --data "$data" --model "$ours" --seed "$seed" --json 2>/dev/null | python3 -c '
import json, sys
r = json.load(sys.stdin); m = r["metrics"]
print("%-8s %-9s %9.4f %9.4f %9.4f %9.4f %8.2f" % (sys.argv[1], "RecKit", m["ndcg@10"], m["recall@10"], m["ndcg@20"], m["recall@20"], r["loadSeconds"] + r["trainingSeconds"] + r["evaluationSeconds"]))' "$ours"
    "$venv/bin/python" benchmarks/recbole_run.py "$theirs" "$work" split 2>/dev/null | tail -n 1 | python3 -c '
import json, sys
m = json.loads(sys.stdin.read())
print("%-8s %-9s %9.4f %9.4f %9.4f %9.4f %8.2f" % (sys.argv[1], "RecBole", m["ndcg@10"], m["recall@10"], m["ndcg@20"], m["recall@20"], m["seconds"]))' "$ours"
done
echo
echo "RecKit on RecBole's own split (RecBole's defaults, seed 2020):"
"$venv/bin/python" benchmarks/recbole_dump_split.py "$data" "$work/recbole-split" "$(dirname "$($R data fetch "$data" 2>/dev/null)")" 2>/dev/null | tail -n 1
for model in pop itemknn ease; do
    $R evaluate --data "$work/recbole-split" --model "$model" --k 10,20 --json 2>/dev/null | python3 -c '
import json, sys
m = json.load(sys.stdin)["metrics"]
print("%-8s %-9s %9.4f %9.4f %9.4f %9.4f" % (sys.argv[1], "RecKit", m["ndcg@10"], m["recall@10"], m["ndcg@20"], m["recall@20"]))' "$model"
done
echo
echo "RecKit, mean ± sd over 10 seeds ($seed...):"
for model in pop itemknn ease; do
    $R evaluate --data "$data" --model "$model" --seed "$seed" --repeats 10 --k 10 2>/dev/null | grep -E "^(ndcg|recall)" | sed "s/^/  $model /"
done
rm -rf "$work"
