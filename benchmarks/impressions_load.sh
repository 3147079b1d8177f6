#!/usr/bin/env bash
# Requests/s of /api/recommend with an experiment running (every answer's impression recorded)
# against the same server without one, in one invocation, on ml-100k with an itemknn model
# (issue 47: recording must keep at least 90% of the requests/s). Both servers serve one flow
# file whose one source is that model: "off" declares no experiment; "on" adds an experiment,
# started in the past, whose two arms serve the same model (the flow itself and the model
# directory), so the two differ only by the arm lookup and the impressions, which a background
# task writes to the SQLite store in batches. wrk runs with 1 thread and 8 connections on the
# same cores as the server; the two alternate, ROUNDS times, DURATION each, medians reported;
# the "on" server's store must hold the impressions afterwards. Loopback only; bounded in time.
# Run on a quiet machine.
#
# usage: [ROUNDS=3] [DURATION=20s] [RECKIT=.build/release/reckit] benchmarks/impressions_load.sh
set -euo pipefail
cd "$(dirname "$0")/.."
rounds="${ROUNDS:-3}"
duration="${DURATION:-20s}"
command -v wrk >/dev/null || { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq wrk >/dev/null; }
if [ -z "${RECKIT:-}" ]; then swift build -c release --product reckit >/dev/null; RECKIT=.build/release/reckit; fi
R="$RECKIT"
work=$(mktemp -d /tmp/reckit-impressions-load.XXXXXX)
server=""
trap '[ -n "$server" ] && kill "$server" 2>/dev/null; rm -rf "$work"' EXIT
unset OPENBLAS_CORETYPE
$R data fetch ml-100k >/dev/null
$R db import ml-100k --db "$work/events.sqlite" >/dev/null
mkdir -p "$work/models"
$R train --data ml-100k --model itemknn --out "$work/models/itemknn" >/dev/null 2>&1
cat >"$work/off.toml" <<'TOML'
[[recommend.sources]]
name = "itemknn"
type = "model"
path = "models/itemknn"
TOML
cat "$work/off.toml" - >"$work/on.toml" <<'TOML'

[impressions]
attribution_window = "1h"

[[experiments]]
name = "load"
start = "2020-01-01T00:00:00Z"
[[experiments.arms]]
name = "flow"
share = 0.5
[[experiments.arms]]
name = "model"
share = 0.5
model = "models/itemknn"
TOML
for side in off on; do $R config check "$work/$side.toml" >/dev/null; done
python3 - "$work/events.sqlite" "$work/recommend.lua" <<'PY'
import sqlite3, sys
users = [row[0] for row in sqlite3.connect(sys.argv[1]).execute("SELECT id FROM users ORDER BY id")]
with open(sys.argv[2], "w") as out:
    out.write("math.randomseed(7)\nusers = {" + ",".join('"%s"' % u for u in users) + "}\n")
    out.write('request = function()\n  return wrk.format("GET", "/api/recommend/" .. users[math.random(#users)] .. "?n=10")\nend\n')
PY
port=18288
for round in $(seq "$rounds"); do
    for side in off on; do
        $R serve --config "$work/$side.toml" --db "$work/events.sqlite" --port $port >"$work/serve-$side.log" 2>&1 &
        server=$!
        for _ in $(seq 300); do curl -sf "http://127.0.0.1:$port/api/health/ready" >/dev/null && break; sleep 0.1; done
        curl -sf "http://127.0.0.1:$port/api/recommend/1?n=10" >/dev/null
        out=$(timeout 120 wrk -t1 -c8 -d"$duration" --latency -s "$work/recommend.lua" "http://127.0.0.1:$port")
        rate=$(awk '/Requests\/sec/ {print $2}' <<<"$out")
        p99=$(awk '$1 == "99%" {print $2}' <<<"$out")
        errors=$(awk '/Non-2xx/ {print $NF}' <<<"$out")
        echo "round $round $side: $rate requests/s, p99 $p99${errors:+, $errors non-2xx}"
        echo "$side $rate $p99" >>"$work/rates"
        # SIGTERM: the server writes the impressions it still holds before it exits.
        kill "$server"; wait "$server" 2>/dev/null || true; server=""
    done
done
python3 - "$work/rates" "$work/events.sqlite" <<'PY'
import sqlite3, statistics, sys
def ms(text):
    for unit, scale in (("us", 1e-3), ("ms", 1.0), ("s", 1e3)):
        if text.endswith(unit): return float(text[: -len(unit)]) * scale
rates, p99 = {}, {}
for line in open(sys.argv[1]):
    side, rate, tail = line.split()
    rates.setdefault(side, []).append(float(rate))
    p99.setdefault(side, []).append(ms(tail))
off, on = statistics.median(rates["off"]), statistics.median(rates["on"])
db = sqlite3.connect(sys.argv[2])
impressions = db.execute("SELECT COUNT(*) FROM impressions WHERE experiment = 'load'").fetchone()[0]
arms = dict(db.execute("SELECT arm, COUNT(*) FROM impressions GROUP BY arm").fetchall())
print(f"impressions recorded: {impressions} ({', '.join(f'{a}: {n}' for a, n in sorted(arms.items()))})")
print(f"median p99: off {statistics.median(p99['off']):.2f} ms, on {statistics.median(p99['on']):.2f} ms")
print(f"median requests/s: off {off:.0f}, on (impressions recorded) {on:.0f}, on/off {on / off:.3f} (target >= 0.90)")
if impressions == 0: sys.exit("no impression was recorded: the experiment did not run")
PY
