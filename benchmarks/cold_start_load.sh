#!/usr/bin/env bash
# Cold-start answers under load: `reckit serve` over a store holding all of ml-1m (1,000,209
# feedback rows) and no model, so every /api/recommend/{user} answers with the popular items the
# user has not seen. Run with --popular-ttl 0 (the popularity count is read from the store for
# every request) and with --popular-ttl 5 (one read per 5 s), in turn, REPEATS times each; wrk
# runs one thread and 8 connections and shares the 2 cores with the server. Loopback only.
#
# usage: benchmarks/cold_start_load.sh [seconds] [repeats]
set -euo pipefail
cd "$(dirname "$0")/.."
seconds="${1:-15}"
repeats="${2:-2}"
command -v wrk >/dev/null || { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq wrk >/dev/null; }
swift build -c release --product reckit >/dev/null
R=.build/release/reckit
$R data fetch ml-1m >/dev/null
work=$(mktemp -d)
server=
trap 'kill $server 2>/dev/null || true; rm -rf "$work"' EXIT
$R db import ml-1m --db "$work/events.sqlite" >/dev/null
cat > "$work/cold.lua" <<'LUA'
math.randomseed(7)
request = function()
  return wrk.format("GET", "/api/recommend/new-" .. math.random(1, 1000000) .. "?n=10")
end
LUA
port=18089
echo "load avg before: $(cut -d' ' -f1-3 /proc/loadavg)"
for run in $(seq "$repeats"); do
  for ttl in 0 5; do
    $R serve --db "$work/events.sqlite" --port $port --popular-ttl $ttl >/dev/null 2>&1 &
    server=$!
    for _ in $(seq 100); do curl -sf "http://127.0.0.1:$port/api/health/live" >/dev/null && break; sleep 0.1; done
    printf 'run %d, --popular-ttl %s: ' "$run" "$ttl"
    wrk -t1 -c8 -d"${seconds}s" --latency -s "$work/cold.lua" "http://127.0.0.1:$port" \
      | awk '/Requests\/sec/ {r=$2} /^ +50%/ {p50=$2} /^ +99%/ {p99=$2} /Non-2xx/ {e=$NF}
             END {printf "%s requests/s, p50 %s, p99 %s, non-2xx %s\n", r, p50, p99, (e == "" ? 0 : e)}'
    kill $server; wait $server 2>/dev/null || true
  done
done
