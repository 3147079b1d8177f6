#!/usr/bin/env bash
# The main job of the README: install what RecKit needs, build in release, then fetch
# ml-100k, compare models on gen-rs, train one, show explained recommendations, and serve it:
# the events go into an SQLite store and `reckit serve` answers on http://127.0.0.1:8087
# (the page at /, the API under /api) until Ctrl-C. QUICKSTART_SERVE=0 stops before serving.
set -euo pipefail
cd "$(dirname "$0")/.."

bash scripts/install-deps.sh
swift build -c release --product reckit
R=.build/release/reckit
model="${RECKIT_DATA:-$HOME/.cache/reckit}/models/quickstart"
$R quickstart --out "$model" "$@"
if [ "${QUICKSTART_SERVE:-1}" = "0" ]; then exit 0; fi
db="${RECKIT_DATA:-$HOME/.cache/reckit}/quickstart.sqlite"
rm -f "$db" "$db-wal" "$db-shm"
$R db import ml-100k --db "$db"
cat <<TEXT

serving $model on http://127.0.0.1:8087 (Ctrl-C stops). Try:
  open http://127.0.0.1:8087/?user=1
  curl -s "localhost:8087/api/recommend/1?n=5"
  curl -s "localhost:8087/api/explain/1?n=3"
  curl -s -X POST -d '[{"FeedbackType":"rating","UserId":"1","ItemId":"423"}]' localhost:8087/api/feedback
TEXT
exec $R serve --model "$model" --db "$db" --port 8087
