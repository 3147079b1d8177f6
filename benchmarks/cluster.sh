#!/usr/bin/env bash
# Several servers over one PostgreSQL, on this machine's loopback (docs/deploy.md mirrors it):
#
#   ingest     feedback ingestion, one event per POST, each acknowledged only after its
#              transaction commits (group commit): SQLite beside PostgreSQL (fsync and
#              synchronous_commit on), then a check that every acknowledged event is stored.
#   replicas   /api/recommend on ml-1m (ALS) through one replica, then through nginx over two.
#   fault      nginx over two replicas under feedback load; one replica killed with kill -9
#              after KILL_AT seconds: requests after the failover must all succeed, and every
#              acknowledged event must be in the database afterwards.
#
# wrk, the load driver, nginx, PostgreSQL and the servers all share this machine's cores: the
# figures are for one machine, not for a deployment where each runs on its own.
#
# usage: benchmarks/cluster.sh [ingest|replicas|fault|all] [seconds]
set -euo pipefail
cd "$(dirname "$0")/.."
what="${1:-all}"
seconds="${2:-20}"
KILL_AT="${KILL_AT:-8}"
need=()
command -v wrk >/dev/null || need+=(wrk)
command -v nginx >/dev/null || need+=(nginx-light)
ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1 || need+=(postgresql)
if [ "${#need[@]}" -gt 0 ]; then
    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${need[@]}" >/dev/null
fi
swift build -c release --product reckit >/dev/null
R=$PWD/.build/release/reckit
work=$(mktemp -d /tmp/reckit-cluster.XXXXXX)
chmod 755 "$work"
pids=()
cleanup() {
    for pid in "${pids[@]}"; do kill -9 "$pid" 2>/dev/null || true; done
    [ -f "$work/nginx.pid" ] && kill "$(cat "$work/nginx.pid")" 2>/dev/null || true
    bash scripts/postgres.sh stop "$work/pg" || true
    rm -rf "$work"
}
trap cleanup EXIT
url=$(bash scripts/postgres.sh start "$work/pg")
psql -q "$url" -c "CREATE DATABASE reckit" >/dev/null
db="${url%/postgres}/reckit"
echo "PostgreSQL $(psql -tA "$url" -c 'SHOW server_version'), fsync $(psql -tA "$url" -c 'SHOW fsync'), synchronous_commit $(psql -tA "$url" -c 'SHOW synchronous_commit')"

wait_ready() {
    for _ in $(seq 300); do curl -sf "http://127.0.0.1:$1/api/health/ready" >/dev/null && return 0; sleep 0.1; done
    echo "server on $1 not ready" >&2
    return 1
}
serve() { # port, extra arguments...
    local port=$1
    shift
    $R serve --db "$db" --port "$port" "$@" >"$work/serve-$port.log" 2>&1 &
    pids+=($!)
    wait_ready "$port"
}
start_nginx() { # port, upstream ports...
    local port=$1
    shift
    local servers=""
    for p in "$@"; do servers+="server 127.0.0.1:$p max_fails=1 fail_timeout=30s; "; done
    cat >"$work/nginx.conf" <<CONF
user root;
worker_processes 1;
pid $work/nginx.pid;
error_log $work/nginx-error.log;
events { worker_connections 1024; }
http {
    access_log off;
    client_body_temp_path $work/nginx-body;
    proxy_temp_path $work/nginx-proxy;
    upstream reckit { $servers keepalive 32; }
    server {
        listen 127.0.0.1:$port;
        location / {
            proxy_pass http://reckit;
            proxy_http_version 1.1;
            proxy_set_header Connection "";
            # A feedback POST is idempotent (POST keeps an existing row): safe to retry elsewhere.
            proxy_next_upstream error timeout http_502 http_503 non_idempotent;
            proxy_connect_timeout 1s;
        }
    }
}
CONF
    nginx -p "$work" -c "$work/nginx.conf"
    for _ in $(seq 100); do curl -sf "http://127.0.0.1:$port/api/health/live" >/dev/null && return 0; sleep 0.1; done
}

cat >"$work/feedback.lua" <<'LUA'
counter = 0
request = function()
  counter = counter + 1
  local body = '[{"FeedbackType":"click","UserId":"load-' .. (counter % 5000) .. '","ItemId":"item-' .. counter .. '"}]'
  return wrk.format("POST", "/api/feedback", {["Content-Type"] = "application/json"}, body)
end
LUA
cat >"$work/recommend.lua" <<'LUA'
math.randomseed(7)
request = function()
  return wrk.format("GET", "/api/recommend/1m_" .. math.random(1, 6040) .. "?n=10")
end
LUA

if [ "$what" = ingest ] || [ "$what" = all ]; then
    echo "== feedback ingestion, ${seconds}s, wrk 1 thread, 64 connections, one event per POST"
    for backend in sqlite postgres; do
        if [ $backend = sqlite ]; then store="$work/ingest.sqlite"; else store="$db"; fi
        $R serve --db "$store" --port 18101 >"$work/ingest-$backend.log" 2>&1 &
        server=$!
        pids+=($server)
        wait_ready 18101
        out=$(wrk -t1 -c64 -d"${seconds}s" --latency -s "$work/feedback.lua" http://127.0.0.1:18101)
        kill -9 $server
        wait $server 2>/dev/null || true
        total=$(echo "$out" | awk '/requests in/ {print $1}')
        bad=$(echo "$out" | awk '/Non-2xx/ {print $5}')
        rate=$(echo "$out" | awk '/Requests\/sec/ {print $2}')
        p99=$(echo "$out" | awk '$1 == "99%" {print $2}')
        if [ $backend = sqlite ]; then
            stored=$(python3 -c "import sqlite3,sys; print(sqlite3.connect(sys.argv[1]).execute(\"select count(*) from feedback where type='click'\").fetchone()[0])" "$store")
        else
            stored=$(psql -tA "$db" -c "select count(*) from feedback where type = 'click'")
        fi
        echo "$backend: $rate events/s, p99 $p99, $total requests (${bad:-0} non-2xx), $stored rows stored after kill -9 (every acknowledged event: $([ "$stored" -ge "$((total - ${bad:-0}))" ] && echo yes || echo NO))"
    done
fi

if [ "$what" = replicas ] || [ "$what" = fault ] || [ "$what" = all ]; then
    $R data fetch ml-1m >/dev/null
    $R db import ml-1m --db "$db" >/dev/null
    mkdir -p "$work/models"
    $R train --db "$db" --model als --param factors=64 --out "$work/models/als" --publish >/dev/null 2>&1
fi

if [ "$what" = replicas ] || [ "$what" = all ]; then
    serve 18111 --models-dir "$work/models"
    serve 18112 --models-dir "$work/models"
    start_nginx 18110 18111 18112
    echo "== /api/recommend (ml-1m ALS), ${seconds}s, wrk 1 thread, 8 connections"
    for target in "one replica:18111" "nginx over two replicas:18110"; do
        out=$(wrk -t1 -c8 -d"${seconds}s" --latency -s "$work/recommend.lua" "http://127.0.0.1:${target##*:}")
        echo "${target%:*}: $(echo "$out" | awk '/Requests\/sec/ {print $2}') requests/s, p50 $(echo "$out" | awk '$1 == "50%" {print $2}'), p99 $(echo "$out" | awk '$1 == "99%" {print $2}'), non-2xx $(echo "$out" | awk '/Non-2xx/ {print $5}')"
    done
    kill "$(cat "$work/nginx.pid")"
    rm -f "$work/nginx.pid"
    for pid in "${pids[@]}"; do kill -9 "$pid" 2>/dev/null || true; done
    sleep 0.5
fi

if [ "$what" = fault ] || [ "$what" = all ]; then
    echo "== fault run: nginx over two replicas, feedback POSTs for ${seconds}s, kill -9 of one replica at ${KILL_AT}s"
    serve 18121 --models-dir "$work/models"
    victim=${pids[-1]}
    serve 18122 --models-dir "$work/models"
    start_nginx 18120 18121 18122
    (sleep "$KILL_AT" && kill -9 "$victim" && echo "   killed replica 18121 (pid $victim)") &
    python3 benchmarks/fault_driver.py --url http://127.0.0.1:18120 --seconds "$seconds" --threads 8 \
        --acked "$work/acked.tsv" --kill-at "$KILL_AT"
    psql -q "$db" -c "CREATE TABLE acked (user_id TEXT, item_id TEXT)" -c "\\copy acked FROM '$work/acked.tsv'"
    echo "acknowledged events missing from the database: $(psql -tA "$db" -c "SELECT COUNT(*) FROM acked a WHERE NOT EXISTS (SELECT 1 FROM feedback f WHERE f.user_id = a.user_id AND f.item_id = a.item_id AND f.type = 'like')") of $(wc -l <"$work/acked.tsv")"
fi
