#!/usr/bin/env bash
# Accuracy of a recommendation flow on ml-1m (`temporal`), through the flow, beside each of its
# sources alone: ALS (trained on the protocol's training part), neighbours of the user's newest
# items under ALS, and popular items, fused with weights 1, 0.5 and 0.5 (chosen once, not tuned).
# `reckit config evaluate` imports the training events into a new store, builds the flow over it
# and ranks every test user's answer against their held-out items.
#
# usage: [RECKIT=.build/release/reckit] benchmarks/flow_accuracy.sh
set -euo pipefail
cd "$(dirname "$0")/.."
if [ -z "${RECKIT:-}" ]; then swift build -c release --product reckit >/dev/null; RECKIT=.build/release/reckit; fi
R="$RECKIT"
work=$(mktemp -d /tmp/reckit-flow-accuracy.XXXXXX)
trap 'rm -rf "$work"' EXIT
unset OPENBLAS_CORETYPE
$R data fetch ml-1m >/dev/null
$R train --data ml-1m --protocol temporal --model als --out "$work/models/als" >/dev/null 2>&1
cat >"$work/flow.toml" <<'TOML'
[[recommend.sources]]
name = "als"
type = "model"
path = "models/als"
candidates = 200

[[recommend.sources]]
name = "more_like_this"
type = "item_to_item"
model = "als"
recent = 5
candidates = 100

[[recommend.sources]]
name = "popular"
type = "popular"
candidates = 100

[recommend.ranker]
merge = "fusion"
weights = { als = 1.0, more_like_this = 0.5, popular = 0.5 }
TOML
$R config evaluate "$work/flow.toml" --data ml-1m --protocol temporal --each-source
