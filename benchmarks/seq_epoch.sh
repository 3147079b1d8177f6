#!/usr/bin/env bash
# One training epoch of SASRec or GRU4Rec on ml-1m: RecKit (`reckit train --param epochs=1`)
# beside a plain PyTorch implementation of the same model and loss (benchmarks/torch_seq_epoch.py,
# CPU, 2 threads), in alternating rounds, each in its own process so peak RSS is its own.
# Epoch seconds count the training steps only (RecKit's epoch log, the script's own timer).
# Not part of the test suite.
#
# PyTorch (CPU wheel) goes into benchmarks/.venv-torch unless TORCH_VENV names a venv with torch.
#
# usage: benchmarks/seq_epoch.sh sasrec|gru4rec [rounds] [length]
set -euo pipefail
cd "$(dirname "$0")/.."
model="${1:?sasrec or gru4rec}"
rounds="${2:-1}"
length="${3:-200}"
. benchmarks/torch_venv.sh
swift build -c release --product reckit >/dev/null
reckit=.build/release/reckit
inter="$($reckit data fetch ml-1m 2>/dev/null | tail -1)/ml-1m.inter"
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
echo "load avg before: $(cut -d' ' -f1-3 /proc/loadavg)"
for round in $(seq "$rounds"); do
    /usr/bin/time -f "%M" -o "$work/rss" "$reckit" train --data ml-1m --model "$model" --param epochs=1 \
        --param max_length="$length" --epoch-log "$work/epochs.jsonl" --out "$work/model" >/dev/null 2>&1
    python3 -c "import json,sys; e=json.loads(open('$work/epochs.jsonl').readline()); \
print(json.dumps({'model':'$model','side':'reckit','seconds':round(e['seconds'],2), \
'peak_rss_mib':round(int(open('$work/rss').read())/1024),'loss':e['loss']}))" | tee -a "$work/results"
    "$venv/bin/python" benchmarks/torch_seq_epoch.py "$model" "$inter" --length "$length" | tee -a "$work/results"
done
python3 - "$work/results" <<'PY'
import json, statistics, sys
rows = [json.loads(l) for l in open(sys.argv[1])]
med = lambda side, key: statistics.median(r[key] for r in rows if r["side"] == side)
print(f"median epoch: reckit {med('reckit','seconds'):.1f} s, pytorch {med('pytorch','seconds'):.1f} s, "
      f"ratio {med('reckit','seconds') / med('pytorch','seconds'):.2f}; peak RSS reckit "
      f"{med('reckit','peak_rss_mib')} MiB, pytorch {med('pytorch','peak_rss_mib')} MiB, "
      f"ratio {med('reckit','peak_rss_mib') / med('pytorch','peak_rss_mib'):.2f}")
PY
echo "load avg after: $(cut -d' ' -f1-3 /proc/loadavg)"
