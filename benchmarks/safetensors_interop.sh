#!/usr/bin/env bash
# Both directions between RecKit and Python's safetensors + torch, outside the test suite (the
# tests read a committed file that Python wrote: Tests/NeuralNetTests/Fixtures). Here RecKit
# trains and saves a SASRec model, and torch loads its weights with safetensors.torch.load_file
# and checks the item table against the item count RecKit stored beside it.
#
# usage: benchmarks/safetensors_interop.sh   (TORCH_VENV: a venv with torch; safetensors is added)
set -euo pipefail
cd "$(dirname "$0")/.."
. benchmarks/torch_venv.sh
"$venv/bin/python" -c "import safetensors" 2>/dev/null || "$venv/bin/pip" install -q safetensors
swift build -c release --product reckit >/dev/null
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
.build/release/reckit train --data ml-100k --model sasrec --param epochs=1 --out "$work/model" >/dev/null 2>&1
"$venv/bin/python" - "$work/model/weights.safetensors" <<'PY'
import sys
from safetensors.torch import load_file
from safetensors import safe_open
tensors = load_file(sys.argv[1])
with safe_open(sys.argv[1], "pt") as f:
    meta = f.metadata()
emb = tensors["model.item_embedding.weight"]
items, users = tensors["model.reckit.counts"].tolist()
assert emb.shape == (items + 1, 64), (emb.shape, items)
assert all(t.isfinite().all() for t in tensors.values() if t.is_floating_point())
print(f"torch read {len(tensors)} tensors from RecKit's file (metadata {meta}); "
      f"item embeddings {tuple(emb.shape)} for {items} items + padding, all finite")
PY
