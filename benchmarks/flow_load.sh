#!/usr/bin/env bash
# Requests/s and p99 of /api/recommend through a recommendation flow beside the one-model server,
# in one invocation, on ml-1m: the flow has three sources (ALS, item-to-item neighbours under ALS,
# popular items), a factorization-machine ranker over their candidates and two rules (a category
# cap and a hidden label); the one-model server serves the same ALS model. wrk runs with 1 thread
# and 8 connections on the same 2 cores as the server (it takes a share of them); the two servers
# alternate, ROUNDS times, 20 s each, medians reported. Loopback only; bounded in time. Run on a
# quiet machine.
#
# RANKER=0 leaves the ranker out (the merge orders the candidates).
#
# usage: [ROUNDS=3] [RANKER=1] [RECKIT=.build/release/reckit] benchmarks/flow_load.sh
set -euo pipefail
cd "$(dirname "$0")/.."
rounds="${ROUNDS:-3}"
command -v wrk >/dev/null || { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq wrk >/dev/null; }
if [ -z "${RECKIT:-}" ]; then swift build -c release --product reckit >/dev/null; RECKIT=.build/release/reckit; fi
R="$RECKIT"
work=$(mktemp -d /tmp/reckit-flow-load.XXXXXX)
server=""
trap '[ -n "$server" ] && kill "$server" 2>/dev/null; rm -rf "$work"' EXIT
unset OPENBLAS_CORETYPE
$R data fetch ml-1m >/dev/null
$R db import ml-1m --db "$work/events.sqlite" >/dev/null
mkdir -p "$work/models"
$R train --data ml-1m --model als --out "$work/models/als" >/dev/null 2>&1
[ "${RANKER:-1}" = 0 ] || $R evaluate --protocol ctr --data ml-1m --model fm --param epochs=2 --save-model "$work/models/ranker" >/dev/null 2>&1
cat >"$work/flow.toml" <<'TOML'
[[recommend.sources]]
name = "als"
type = "model"
path = "models/als"
candidates = 100

[[recommend.sources]]
name = "more_like_this"
type = "item_to_item"
model = "als"
recent = 3
candidates = 50

[[recommend.sources]]
name = "popular"
type = "popular"
candidates = 50

[recommend.ranker]
type = "model"
path = "models/ranker"

[[recommend.rules]]
type = "category_cap"
max = 3

[[recommend.rules]]
type = "hide_label"
label = "out_of_stock"
TOML
if [ "${RANKER:-1}" = 0 ]; then
    python3 - "$work/flow.toml" <<'PY'
import re, sys
text = open(sys.argv[1]).read()
open(sys.argv[1], "w").write(re.sub(r'\[recommend.ranker\]\ntype = "model"\npath = "models/ranker"\n', "", text))
PY
fi
$R config check "$work/flow.toml" >/dev/null
python3 - "$work/events.sqlite" "$work/recommend.lua" <<'PY'
import sqlite3, sys
users = [row[0] for row in sqlite3.connect(sys.argv[1]).execute("SELECT id FROM users ORDER BY id")]
with open(sys.argv[2], "w") as out:
    out.write("math.randomseed(7)\nusers = {" + ",".join('"%s"' % u for u in users) + "}\n")
    out.write('request = function()\n  return wrk.format("GET", "/api/recommend/" .. users[math.random(#users)] .. "?n=10")\nend\n')
PY
port=18287
declare -A args=([model]="--model $work/models/als" [flow]="--config $work/flow.toml")
for round in $(seq "$rounds"); do
    for side in model flow; do
        # shellcheck disable=SC2086
        $R serve ${args[$side]} --db "$work/events.sqlite" --port $port >/dev/null 2>&1 &
        server=$!
        for _ in $(seq 300); do curl -sf "http://127.0.0.1:$port/api/health/ready" >/dev/null && break; sleep 0.1; done
        curl -sf "http://127.0.0.1:$port/api/recommend/1?n=10" >/dev/null || true
        out=$(timeout 60 wrk -t1 -c8 -d20s --latency -s "$work/recommend.lua" "http://127.0.0.1:$port")
        rate=$(awk '/Requests\/sec/ {print $2}' <<<"$out")
        p99=$(awk '$1 == "99%" {print $2}' <<<"$out")
        errors=$(awk '/Non-2xx/ {print $NF}' <<<"$out")
        echo "round $round $side: $rate requests/s, p99 $p99${errors:+, $errors non-2xx}"
        echo "$side $rate $p99" >>"$work/rates"
        kill "$server"; wait "$server" 2>/dev/null || true; server=""
    done
done
python3 - "$work/rates" <<'PY'
import statistics, sys
def ms(text):
    for unit, scale in (("us", 1e-3), ("ms", 1.0), ("s", 1e3)):
        if text.endswith(unit): return float(text[: -len(unit)]) * scale
rates, p99 = {}, {}
for line in open(sys.argv[1]):
    side, rate, tail = line.split()
    rates.setdefault(side, []).append(float(rate))
    p99.setdefault(side, []).append(ms(tail))
model, flow = statistics.median(rates["model"]), statistics.median(rates["flow"])
print(f"median requests/s: one model {model:.0f}, flow {flow:.0f}, flow/model {flow / model:.3f}")
print(f"median p99: one model {statistics.median(p99['model']):.2f} ms, flow {statistics.median(p99['flow']):.2f} ms")
PY
