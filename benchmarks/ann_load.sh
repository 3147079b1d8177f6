#!/usr/bin/env bash
# /api/recommend on a large catalogue, served from the HNSW index and by exact scoring, one after
# the other with the same model, store and load: wrk (Debian's package; one thread, `connections`
# connections, random users 1..USERS) for `seconds` each, the server's RSS sampled every tenth of
# the run. wrk shares the machine's 2 cores with the server. Loopback only.
#
# Prepare a model and a store of the same log first, e.g. (10^8 events, 10^6 items):
#   R=.build/release/reckit
#   $R data synth --users 2000000 --items 1000000 --events 100000000 --seed 8 --out /tmp/s8
#   $R train --data /tmp/s8 --model als --param factors=64 --param iterations=15 --out /tmp/als-s8 --retrieval ann
#   $R db import /tmp/s8 --db /tmp/s8.sqlite
#
# usage: USERS=2000000 [SERVE_ARGS="--ef 256"] benchmarks/ann_load.sh MODEL_DIR DB [seconds] [connections] [modes]
set -euo pipefail
cd "$(dirname "$0")/.."
model="$1"
db="$2"
seconds="${3:-60}"
connections="${4:-8}"
modes="${5:-ann exact}"
users="${USERS:-2000000}"
command -v wrk >/dev/null || { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq wrk >/dev/null; }
swift build -c release --product reckit >/dev/null
R=.build/release/reckit
work=$(mktemp -d)
server=""
trap '[ -n "$server" ] && kill $server 2>/dev/null; rm -rf "$work"' EXIT
cat > "$work/recommend.lua" <<'LUA'
local users = tonumber(os.getenv("USERS") or "2000000")
math.randomseed(7)
request = function()
  return wrk.format("GET", "/api/recommend/" .. math.random(1, users) .. "?n=10")
end
LUA
# A serving machine that has run a while holds the store's hot pages in memory; read the file
# once so that both modes start that way (when it fits in half the available memory).
if [ -f "$db" ]; then
  available=$(awk '/MemAvailable/ {printf "%.0f", $2 * 1024}' /proc/meminfo)
  if [ "$(stat -c %s "$db")" -lt $((available / 2)) ]; then
    echo "== reading $db into the page cache: $( { /usr/bin/time -f %e cat "$db" >/dev/null; } 2>&1 ) s"
  fi
fi
port=18088
declare -A rate
for mode in $modes; do
  start=$(date +%s.%N)
  # OPENBLAS_CORETYPE=Haswell halves OpenBLAS here; the server runs it on one thread anyway.
  env -u OPENBLAS_CORETYPE $R serve --model "$model" --db "$db" --port $port --retrieval "$mode" ${SERVE_ARGS:-} >"$work/$mode.log" 2>&1 &
  server=$!
  for _ in $(seq 3000); do curl -sf "http://127.0.0.1:$port/api/health/ready" >/dev/null && break; sleep 0.1; done
  rss() { awk '/VmRSS/ {printf "%.0f", $2 / 1024}' "/proc/$server/status"; }
  echo "== $mode: ready after $(echo "$(date +%s.%N) - $start" | bc | cut -c1-5) s, load avg $(cut -d' ' -f1-3 /proc/loadavg), RSS $(rss) MiB"
  curl -s "http://127.0.0.1:$port/api/model" | python3 -c 'import json,sys; print("   retrieval:", json.load(sys.stdin)["Retrieval"])'
  ( samples=""; for _ in $(seq 1 10); do sleep "$(echo "$seconds / 10" | bc -l)"; samples="$samples $(rss)"; done
    echo "   RSS every $((seconds / 10)) s (MiB):$samples" ) &
  sampler=$!
  USERS=$users wrk -t1 -c"$connections" -d"${seconds}s" --latency -s "$work/recommend.lua" "http://127.0.0.1:$port" \
    | tee "$work/$mode.wrk" | grep -E "Requests/sec|50%|90%|99%|Non-2xx|Socket"
  wait $sampler
  rate[$mode]=$(awk '/Requests\/sec/ {print $2}' "$work/$mode.wrk")
  kill $server; wait $server 2>/dev/null || true
  server=""
done
if [ -n "${rate[ann]:-}" ] && [ -n "${rate[exact]:-}" ]; then
  echo "ann / exact requests per second: $(echo "${rate[ann]} / ${rate[exact]}" | bc -l | cut -c1-5)"
fi
