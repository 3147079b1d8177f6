#!/usr/bin/env bash
# ALS and BPR on synthetic logs of 10^6 and 10^7 events with 10^6 items (200,000 users; EVENTS
# picks the sizes: 10^8 events get 2,000,000 users), RecKit beside implicit 0.7.2 (PyPI, in
# benchmarks/.venv-implicit), alternating. BPR_EPOCHS shortens BPR (default 100). Not part of
# the test suite.
#
# usage: [EVENTS="1000000 10000000"] [BPR_EPOCHS=100] benchmarks/scale_factors.sh [rounds] [work folder] [models, default "als bpr"]
set -euo pipefail
cd "$(dirname "$0")/.."
rounds="${1:-2}"
work="${2:-/tmp/reckit-scale}"
models="${3:-als bpr}"
venv="${IMPLICIT_VENV:-benchmarks/.venv-implicit}"
if [ ! -x "$venv/bin/python" ]; then
    python3 -m venv "$venv"
    "$venv/bin/pip" install -q "implicit==0.7.2" threadpoolctl scipy pandas
fi
swift build -c release --product reckit >/dev/null
R=.build/release/reckit
events_list="${EVENTS:-1000000 10000000}"
folders=()
for events in $events_list; do
    users=200000
    [ "$events" -ge 100000000 ] && users=2000000
    [ -f "$work/als-$events/als-$events.inter" ] ||
        $R data synth --users $users --items 1000000 --events $events --seed 1 --out "$work/als-$events"
    folders+=("$work/als-$events")
done
echo "load avg before: $(cut -d' ' -f1-3 /proc/loadavg)"
for model in $models; do
    env -u OPENBLAS_CORETYPE "$venv/bin/python" benchmarks/scale_factors.py "$R" "$model" "$rounds" "${folders[@]}"
done
echo "load avg after: $(cut -d' ' -f1-3 /proc/loadavg)"
