#!/usr/bin/env bash
# The three headline figures of a code-health change (issue 43), for a base commit and the working
# tree, in one invocation: ml-1m `gen-rs` EASE NDCG@10, ml-100k `seq-loo` SASRec NDCG@10 / HR@10
# (defaults, seed 2020), and /api/recommend requests/s of an item-kNN model on the ml-100k store
# (wrk, 1 thread, 8 connections, sharing the 2 cores with the server; the two builds alternate,
# ROUNDS times, 20 s each). Accuracy figures must be equal; the throughput ratio is printed.
# Loopback only; bounded in time. Run on a quiet machine.
#
# usage: [ROUNDS=3] benchmarks/headline.sh BASE_COMMIT
set -euo pipefail
cd "$(dirname "$0")/.."
base="${1:?usage: benchmarks/headline.sh BASE_COMMIT}"
rounds="${ROUNDS:-3}"
command -v wrk >/dev/null || { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq wrk >/dev/null; }
work=$(mktemp -d /tmp/reckit-headline.XXXXXX)
server=""
trap '[ -n "$server" ] && kill "$server" 2>/dev/null; git worktree remove --force "$work/base" 2>/dev/null || true; rm -rf "$work"' EXIT
git worktree add --detach "$work/base" "$base" >/dev/null
(cd "$work/base" && swift build -c release --product reckit --scratch-path "$work/base-build" >/dev/null)
swift build -c release --product reckit >/dev/null
declare -A binary=([base]="$work/base-build/release/reckit" [head]=".build/release/reckit")
"${binary[head]}" data fetch ml-1m >/dev/null
"${binary[head]}" data fetch ml-100k >/dev/null
unset OPENBLAS_CORETYPE
for side in base head; do
    R=${binary[$side]}
    ease=$($R evaluate --data ml-1m --model ease --json 2>/dev/null | python3 -c 'import json,sys; print("%.4f" % json.load(sys.stdin)["metrics"]["ndcg@10"])')
    sasrec=$($R evaluate --data ml-100k --protocol seq-loo --model sasrec --json 2>/dev/null | python3 -c 'import json,sys; m=json.load(sys.stdin)["metrics"]; print("%.4f / %.4f" % (m["ndcg@10"], m["hit@10"]))')
    echo "$side: ml-1m gen-rs EASE NDCG@10 $ease; ml-100k seq-loo SASRec NDCG@10 / HR@10 $sasrec"
    $R db import ml-100k --db "$work/$side.sqlite" >/dev/null
    $R train --data ml-100k --model itemknn --out "$work/$side-model" >/dev/null 2>&1
done
cat > "$work/recommend.lua" <<'LUA'
math.randomseed(7)
request = function()
  return wrk.format("GET", "/api/recommend/" .. math.random(1, 943) .. "?n=10")
end
LUA
port=18187
for round in $(seq "$rounds"); do
    for side in base head; do
        ${binary[$side]} serve --model "$work/$side-model" --db "$work/$side.sqlite" --port $port >/dev/null 2>&1 &
        server=$!
        for _ in $(seq 100); do curl -sf "http://127.0.0.1:$port/api/health/live" >/dev/null && break; sleep 0.1; done
        rate=$(timeout 60 wrk -t1 -c8 -d20s -s "$work/recommend.lua" "http://127.0.0.1:$port" | awk '/Requests\/sec/ {print $2}')
        echo "round $round $side: $rate requests/s"
        echo "$side $rate" >>"$work/rates"
        kill "$server"; wait "$server" 2>/dev/null || true; server=""
    done
done
python3 - "$work/rates" <<'PY'
import statistics, sys
rates = {}
for line in open(sys.argv[1]):
    side, rate = line.split()
    rates.setdefault(side, []).append(float(rate))
base, head = statistics.median(rates["base"]), statistics.median(rates["head"])
print(f"median requests/s: base {base:.0f}, head {head:.0f}, head/base {head / base:.3f}")
PY
