#!/usr/bin/env bash
# The main job of the README: install what RecKit needs, build in release, then fetch
# ml-100k, compare models on gen-rs, train one and show explained recommendations.
set -euo pipefail
cd "$(dirname "$0")/.."

bash scripts/install-deps.sh
swift build -c release --product reckit
.build/release/reckit quickstart "$@"
