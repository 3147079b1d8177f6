#!/usr/bin/env bash
# A throwaway PostgreSQL cluster on loopback, for the tests and the benchmarks.
#
#   scripts/postgres.sh start DIR   initdb in DIR, start on a free loopback port, print its URL
#                                   (also written to DIR/url)
#   scripts/postgres.sh stop DIR    stop the cluster and delete DIR
#   scripts/postgres.sh pause DIR   stop the server, keeping the cluster (a database outage)
#   scripts/postgres.sh resume DIR  start it again on the same port
#   scripts/postgres.sh standby URL DIR
#                                   a streaming read replica of the cluster at URL (pg_basebackup),
#                                   started in DIR on a free port; prints its URL (DIR/url)
#
# PostgreSQL refuses to run as root: as root the cluster belongs to the `postgres` user.
# `PG_SETTINGS` adds server settings (for example "-c fsync=off" where durability does not matter).
set -euo pipefail

usage="usage: postgres.sh start|stop|pause|resume DIR, or postgres.sh standby URL DIR"
command=${1:?$usage}
if [ "$command" = standby ]; then
    primary=${2:?$usage}
    dir=${3:?$usage}
else
    dir=${2:?$usage}
fi
bin=$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -1)
[ -x "$bin/initdb" ] || { echo "error: PostgreSQL is not installed (run scripts/install-deps.sh)" >&2; exit 1; }

# The server must not inherit descriptors of whoever called this script (a parent's pipes would
# stay open for as long as the server runs, and the parent would wait on them).
for fd in /proc/$$/fd/*; do
    fd=${fd##*/}
    if [ "$fd" -gt 2 ] && [ "$fd" -ne 255 ]; then eval "exec $fd>&-" 2>/dev/null || true; fi
done

as_owner() {
    if [ "$(id -u)" -eq 0 ]; then runuser -u postgres -- "$@"; else "$@"; fi
}

# A folder the server's owner may use, and a free loopback port for it.
prepare() {
    mkdir -p "$dir"
    [ "$(id -u)" -eq 0 ] && chown postgres "$dir"
    chmod 700 "$dir"
    port=$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
}

# Starts the server of "$dir/data" on "$port", waiting up to 180 s (a standby replays the primary's
# WAL before it answers: over 60 s on a loaded 2-core machine).
launch() {
    as_owner "$bin/pg_ctl" -D "$dir/data" -l "$dir/server.log" -w -t 180 \
        -o "-h 127.0.0.1 -p $port -k $dir -c max_connections=200 ${PG_SETTINGS:-}" start >/dev/null \
        || { cat "$dir/server.log" >&2; exit 1; }
}

# Records the port and prints the server's URL (also written to DIR/url).
announce() {
    echo "$port" >"$dir/port"
    echo "postgres://postgres@127.0.0.1:$port/postgres" | tee "$dir/url"
}

case "$command" in
start)
    prepare
    as_owner "$bin/initdb" -D "$dir/data" -U postgres -A trust -E UTF8 --locale=C --no-sync >"$dir/initdb.log" 2>&1 \
        || { cat "$dir/initdb.log" >&2; exit 1; }
    launch
    announce
    ;;
standby)
    prepare
    # -R writes the standby's connection to the primary; -X stream copies the WAL written meanwhile.
    as_owner "$bin/pg_basebackup" -d "$primary" -D "$dir/data" -R -X stream -c fast --no-sync >"$dir/basebackup.log" 2>&1 \
        || { cat "$dir/basebackup.log" >&2; exit 1; }
    launch
    announce
    ;;
pause)
    as_owner "$bin/pg_ctl" -D "$dir/data" -m fast -w stop >/dev/null
    ;;
resume)
    port=$(cat "$dir/port")
    launch
    ;;
stop)
    if [ -d "$dir/data" ]; then
        as_owner "$bin/pg_ctl" -D "$dir/data" -m fast -w stop >/dev/null 2>&1 || true
    fi
    rm -rf "$dir"
    ;;
*)
    echo "$usage" >&2
    exit 2
    ;;
esac
