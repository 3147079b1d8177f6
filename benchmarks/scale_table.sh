#!/usr/bin/env bash
# The cost-growth table of docs/scale.md (see benchmarks/scale_table.py): synthetic logs of 10^6,
# 10^7 and 10^8 events with 10^6 items, and of 10^7 events with 10^4 and 10^5 items, written by
# `reckit data synth` into the work folder if they are not there yet (about 3.3 GB in all).
# Not part of the test suite; the 10^8 row alone takes about 20 minutes.
#
# usage: benchmarks/scale_table.sh [work folder] [logs, default "e6 e7 e8 i4 i5"]
set -euo pipefail
cd "$(dirname "$0")/.."
work="${1:-/tmp/reckit-scale}"
logs="${2:-e6 e7 e8 i4 i5}"
swift build -c release --product reckit >/dev/null
R=.build/release/reckit
folders=()
for log in $logs; do
    case $log in
    e6) users=200000 items=1000000 events=1000000 dir=als-1000000 ;;
    e7) users=200000 items=1000000 events=10000000 dir=als-10000000 ;;
    e8) users=2000000 items=1000000 events=100000000 dir=s8 ;;
    i4) users=200000 items=10000 events=10000000 dir=i10000-e7 ;;
    i5) users=200000 items=100000 events=10000000 dir=i100000-e7 ;;
    *) echo "unknown log $log" >&2; exit 2 ;;
    esac
    [ -f "$work/$dir/$dir.inter" ] ||
        $R data synth --users $users --items $items --events $events --seed 1 --out "$work/$dir"
    folders+=("$work/$dir")
done
env -u OPENBLAS_CORETYPE python3 benchmarks/scale_table.py "$R" "${folders[@]}"
