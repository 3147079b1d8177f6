#!/usr/bin/env bash
# GRU4Rec's validation NDCG@10 per epoch on ml-1m with RecBole's benchmark preprocessing: RecKit
# (`reckit evaluate --model gru4rec --param windows=overlap`) beside PyTorch training RecBole's
# GRU4Rec the same way (benchmarks/torch_gru4rec_train.py), on one split. Not part of the tests.
#
# PyTorch (CPU wheel) goes into benchmarks/.venv-torch unless TORCH_VENV names a venv with torch.
#
# usage: benchmarks/gru4rec_parity.sh [epochs] [learning rate]
set -euo pipefail
cd "$(dirname "$0")/.."
epochs="${1:-12}"
rate="${2:-0.003}"
. benchmarks/torch_venv.sh
swift build -c release --product reckit >/dev/null
reckit=.build/release/reckit
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
"$reckit" data split --data ml-1m --recbole-benchmark --protocol seq-loo --out "$work/split" >/dev/null
"$reckit" evaluate --data ml-1m --recbole-benchmark --protocol seq-loo --model gru4rec \
    --param windows=overlap --param learning_rate="$rate" --param epochs="$epochs" \
    --epoch-log "$work/reckit.jsonl" >/dev/null 2>&1
"$venv/bin/python" benchmarks/torch_gru4rec_train.py "$work/split" ml-1m --lr "$rate" --epochs "$epochs" \
    >"$work/torch.jsonl"
python3 - "$work/reckit.jsonl" "$work/torch.jsonl" <<'PY'
import json, sys
ours = [json.loads(l) for l in open(sys.argv[1])]
theirs = [json.loads(l) for l in open(sys.argv[2])]
print("epoch  reckit NDCG@10  pytorch NDCG@10  ratio")
for a, b in zip(ours, theirs):
    print(f"{a['epoch']:5d}  {a['validation']['ndcg@10']:14.4f}  {b['ndcg@10']:15.4f}  "
          f"{a['validation']['ndcg@10'] / b['ndcg@10']:.3f}")
PY
