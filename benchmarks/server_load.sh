#!/usr/bin/env bash
# Load on `reckit serve` with wrk (Debian's package) on this machine: an ml-1m model (SASRec by
# default: 2 blocks, width 64, reading the newest MAX_LENGTH items (default 50, the model's own
# default; 200 is the paper's ml-1m setting), trained 3 epochs, since serving cost does not depend
# on how long it trained) over a store holding all of ml-1m. Measures /api/recommend/{user}
# throughput and latency (random users), feedback ingestion (one event per POST, each committed
# before its 200), and the server's RSS before, during and after the run. wrk runs one thread
# (it shares the 2 cores with the server) at `connections` and at 32 connections. Loopback only;
# bounded in time.
#
# usage: [MAX_LENGTH=50] benchmarks/server_load.sh [model] [seconds] [connections]
set -euo pipefail
cd "$(dirname "$0")/.."
model="${1:-sasrec}"
seconds="${2:-60}"
connections="${3:-8}"
command -v wrk >/dev/null || { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq wrk >/dev/null; }
swift build -c release --product reckit >/dev/null
R=.build/release/reckit
$R data fetch ml-1m >/dev/null
work=$(mktemp -d)
trap 'kill $server 2>/dev/null || true; rm -rf "$work"' EXIT
$R db import ml-1m --db "$work/events.sqlite" >/dev/null
params=()
[ "$model" = sasrec ] && params=(--param epochs=3 --param "max_length=${MAX_LENGTH:-50}")
$R train --data ml-1m --model "$model" "${params[@]}" --out "$work/model" >/dev/null 2>&1
port=18087
$R serve --model "$work/model" --db "$work/events.sqlite" --port $port >/dev/null 2>&1 &
server=$!
for _ in $(seq 100); do curl -sf "http://127.0.0.1:$port/api/health/live" >/dev/null && break; sleep 0.1; done
rss() { awk '/VmRSS/ {printf "%.0f MiB", $2 / 1024}' "/proc/$server/status"; }
echo "load avg before: $(cut -d' ' -f1-3 /proc/loadavg); server RSS idle: $(rss)"

cat > "$work/recommend.lua" <<'LUA'
math.randomseed(7)
request = function()
  return wrk.format("GET", "/api/recommend/1m_" .. math.random(1, 6040) .. "?n=10")
end
LUA
cat > "$work/feedback.lua" <<'LUA'
math.randomseed(11)
counter = 0
request = function()
  counter = counter + 1
  local body = '[{"FeedbackType":"click","UserId":"load-' .. math.random(1, 100000) .. '","ItemId":"item-' .. counter .. '-' .. math.random(1, 1000000) .. '"}]'
  return wrk.format("POST", "/api/feedback", {["Content-Type"] = "application/json"}, body)
end
LUA
echo "== recommend, ${seconds}s, 1 thread, $connections connections"
( for t in $(seq 1 6); do sleep $((seconds / 6)); echo "   RSS at ${t}/6: $(rss)"; done ) &
sampler=$!
wrk -t1 -c"$connections" -d"${seconds}s" --latency -s "$work/recommend.lua" "http://127.0.0.1:$port" | grep -E "Requests/sec|50%|90%|99%|Non-2xx|Socket"
wait $sampler
echo "server RSS after recommend load: $(rss)"
echo "== recommend, 20s, 1 thread, 32 connections"
wrk -t1 -c32 -d20s --latency -s "$work/recommend.lua" "http://127.0.0.1:$port" | grep -E "Requests/sec|50%|99%|Non-2xx|Socket"
echo "== feedback ingestion, 20s, 1 thread, $connections connections (one event per request)"
wrk -t1 -c"$connections" -d20s --latency -s "$work/feedback.lua" "http://127.0.0.1:$port" | grep -E "Requests/sec|50%|99%|Non-2xx|Socket"
echo "server RSS after ingestion: $(rss)"
