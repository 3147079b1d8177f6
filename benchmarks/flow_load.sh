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
# ITEMS=N runs the same comparison on a synthetic long-tail log instead of ml-1m (issue 45's "at
# 10^6 items with index-served sources"): `reckit data synth --users USERS --items N --events
# EVENTS --niche NICHE --seed 1` (defaults 200,000 users, 10^7 events, niche 0.1), imported into
# the store, ALS with 64 factors trained with its HNSW index (`--retrieval ann`), and both servers
# started with `--retrieval ann`: the one model, the flow's model source and its item-to-item source
# all search the index (item-to-item through `Retriever.similarItems`); each server's retrieval
# line is printed. Each step's time and each server's peak RSS are printed too.
#   ITEMS=1000000 benchmarks/flow_load.sh
# What that run costs, extrapolated from two small runs (ROUNDS=1, on a machine at load 17, so
# upper bounds) and docs/scale.md's figures at 10^7 events over 10^6 items:
#   ITEMS=20000 EVENTS=100000 USERS=2000: synth 1 s, import 2 s (73 MiB), train 12 s (81 MiB),
#     ranker 16 s (120 MiB); servers ready in 1 s, peak RSS 78 MiB (model), 100 MiB (flow).
#   ITEMS=100000 EVENTS=1000000 USERS=20000: import 14 s (255 MiB), train 68 s (210 MiB), ranker
#     216 s (467 MiB); servers ready in 3 s and 10 s, peak RSS 176 and 251 MiB.
#   ITEMS=1000000 (10^7 events): synth ~4 s; import ~2.5 min (~2 GiB); train ~4 min (ALS fit ~40 s,
#     the index over ~10^6 items ~3 min, ~1.4 GiB); the ranker's `evaluate --protocol ctr` grows
#     with the events: ~35-40 min and ~3-4 GiB, the bulk of the run (RANKER=0 skips it); servers
#     ready in ~20 s each, ~0.7 GiB (model, the index) and ~1.5 GiB (flow: the index, the catalogue
#     of 10^6 items, the ranker); wrk ROUNDS x 2 x 20 s. In all ~50 min (~15 min with RANKER=0),
#     peak ~4 GiB, ~3 GiB of disk under /tmp (the log, the SQLite store, the model and its index).
#
# usage: [ROUNDS=3] [RANKER=1] [ITEMS=N [USERS=200000] [EVENTS=10000000] [NICHE=0.1]]
#        [RECKIT=.build/release/reckit] benchmarks/flow_load.sh
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
# One step, timed, with its peak RSS (GNU time), quiet unless it fails.
step() {
    local name="$1"
    shift
    local start=$SECONDS
    if ! /usr/bin/time -f "%M" -o "$work/$name.rss" "$@" >"$work/$name.log" 2>&1; then
        tail -20 "$work/$name.log" >&2
        return 1
    fi
    echo "$name: $((SECONDS - start)) s, peak RSS $(($(tail -1 "$work/$name.rss") / 1024)) MiB"
}
mkdir -p "$work/models"
if [ -n "${ITEMS:-}" ]; then
    data="$work/synth"
    step synth $R data synth --users "${USERS:-200000}" --items "$ITEMS" --events "${EVENTS:-10000000}" \
        --niche "${NICHE:-0.1}" --seed 1 --out "$data"
    retrieval=(--retrieval ann)
    factors=(--param factors=64)
else
    data=ml-1m
    $R data fetch ml-1m >/dev/null
    retrieval=()
    factors=()
fi
step import $R db import "$data" --db "$work/events.sqlite"
step train $R train --data "$data" --model als "${factors[@]}" --out "$work/models/als" "${retrieval[@]}"
[ "${RANKER:-1}" = 0 ] || step ranker $R evaluate --protocol ctr --data "$data" --model fm --param epochs=2 \
    --save-model "$work/models/ranker"
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
        start=$SECONDS
        # shellcheck disable=SC2086
        $R serve ${args[$side]} --db "$work/events.sqlite" --port $port "${retrieval[@]}" >"$work/$side.log" 2>&1 &
        server=$!
        for _ in $(seq 3000); do curl -sf "http://127.0.0.1:$port/api/health/ready" >/dev/null && break; sleep 0.1; done
        if [ "$round" = 1 ]; then
            echo "$side: ready after $((SECONDS - start)) s; $(grep -o 'retrieval: [^"]*' "$work/$side.log" | sort -u | paste -sd ';')"
        fi
        curl -sf "http://127.0.0.1:$port/api/recommend/1?n=10" >/dev/null || true
        out=$(timeout 60 wrk -t1 -c8 -d20s --latency -s "$work/recommend.lua" "http://127.0.0.1:$port")
        rate=$(awk '/Requests\/sec/ {print $2}' <<<"$out")
        p99=$(awk '$1 == "99%" {print $2}' <<<"$out")
        errors=$(awk '/Non-2xx/ {print $NF}' <<<"$out")
        rss=$(awk '/VmHWM/ {printf "%.0f", $2 / 1024}' "/proc/$server/status")
        echo "round $round $side: $rate requests/s, p99 $p99${errors:+, $errors non-2xx}, peak RSS $rss MiB"
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
