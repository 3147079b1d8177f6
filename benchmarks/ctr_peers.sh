#!/usr/bin/env bash
# The ranking stage's peers on RecKit's own split files (issue 46): RecBole 1.2.1's context-aware
# FM, DeepFM, DCNV2 (benchmarks/ctr_recbole.py) and FuxiCTR 2.3's FM, DeepFM, DCNv2, DIN
# (benchmarks/ctr_fuxictr.py), then RecKit's fm, deepfm, dcnv2, din on the same split and seeds.
# Every setting is in those two files' headers: embedding 16, batch 2048, Adam 1e-3, MLP
# [64,64,64] without dropout, validation-AUC early stopping; PyTorch on the CPU with
# torch.set_num_threads(2). RecKit runs on the same 2 cores. Not part of the test suite; needs PyPI.
#
# usage: benchmarks/ctr_peers.sh [ml-1m|ml-100k] [seed ...]       (default: ml-1m 2020)
# env:   CTR_VENV (default /tmp/ctr-peers/venv), CTR_WORK (default /tmp/ctr-peers/work),
#        R (a release reckit; default .build/release/reckit), EPOCHS (cap, default 15),
#        PEERS=0 to run RecKit only, RECKIT=0 to run the peers only.
set -euo pipefail
cd "$(dirname "$0")/.."
data="${1:-ml-1m}"
shift || true
seeds=("${@:-2020}")
[ ${#seeds[@]} -eq 0 ] && seeds=(2020)
venv="${CTR_VENV:-/tmp/ctr-peers/venv}"
work="${CTR_WORK:-/tmp/ctr-peers/work}"
R="${R:-.build/release/reckit}"
epochs="${EPOCHS:-15}"

if [ ! -x "$venv/bin/python" ]; then
    python3 -m venv "$venv"
    # PyTorch's CPU wheel (a local wheel directory in PIP_FIND_LINKS, or PyTorch's CPU index);
    # RecBole 1.2.1 needs NumPy 1 and SciPy < 1.13; FuxiCTR 2.3 needs polars < 1.
    "$venv/bin/pip" install -q torch --index-url https://download.pytorch.org/whl/cpu ||
        "$venv/bin/pip" install -q "$(ls "${PIP_FIND_LINKS:-/opt/wheels}"/torch-*+cpu-*.whl | tail -1)"
    torch_version=$("$venv/bin/python" -c 'import torch; print(torch.__version__)')
    "$venv/bin/pip" install -q "recbole==1.2.1" "fuxictr==2.3.*" "numpy<2" "scipy<1.13" "pandas<2.3" \
        "polars<1" "pyarrow<18" "torch==$torch_version"
fi
[ -x "$R" ] || swift build -c release --product reckit >/dev/null

echo "# $(date -u +%FT%TZ) $(uptime)"
for seed in "${seeds[@]}"; do
    split="$work/$data-$seed/split"
    [ -f "$split/test.csv" ] || "$R" data split --protocol ctr --data "$data" --seed "$seed" --out "$split" >/dev/null
    if [ "${PEERS:-1}" != 0 ]; then
        for model in FM DeepFM DCNV2; do
            "$venv/bin/python" benchmarks/ctr_recbole.py "$model" "$split" "$work/$data-$seed/recbole" \
                --epochs "$epochs" 2>/dev/null | tail -1
            echo "#   load: $(uptime | sed 's/.*load/load/')"
        done
        for model in FM DeepFM DCNv2 DIN; do
            "$venv/bin/python" benchmarks/ctr_fuxictr.py "$model" "$split" "$work/$data-$seed/fuxictr" \
                --epochs "$epochs" 2>/dev/null | tr '\r' '\n' | grep '^{' | tail -1
            echo "#   load: $(uptime | sed 's/.*load/load/')"
        done
    fi
    if [ "${RECKIT:-1}" != 0 ]; then
        unset OPENBLAS_CORETYPE
        for model in fm deepfm dcnv2 din; do
            "$R" evaluate --protocol ctr --data "$data" --model "$model" --seed "$seed" --json |
                python3 -c 'import json,sys; r=json.load(sys.stdin); print(json.dumps({"library": "RecKit",
"model": r["model"], "seed": r["seed"], "test_auc": round(r["test"]["auc"], 4),
"test_logloss": round(r["test"]["logloss"], 4), "epochs": len(r["epochs"]), "best_epoch": r["bestEpoch"],
"epoch_seconds": [round(e["seconds"], 2) for e in r["epochs"]]}))'
            echo "#   load: $(uptime | sed 's/.*load/load/')"
        done
    fi
done
