#!/usr/bin/env bash
# Installs the system packages RecKit builds and tests against (Debian/Ubuntu):
# OpenBLAS with LAPACK for GEMM and dense solves; hnswlib (header-only) for approximate
# nearest-neighbour retrieval; PostgreSQL for the second event-store backend (the tests start
# a throwaway cluster, scripts/postgres.sh); headless Chromium for the test that renders the
# HTML report. Idempotent; needs root or sudo.
set -euo pipefail

need=()
[ -f /usr/include/x86_64-linux-gnu/cblas.h ] || [ -f /usr/include/cblas.h ] || [ -f /usr/include/aarch64-linux-gnu/cblas.h ] \
    || need+=(libopenblas-dev)
[ -f /usr/include/hnswlib/hnswlib.h ] || need+=(libhnswlib-dev)
command -v python3 >/dev/null || need+=(python3)
ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1 || need+=(postgresql)
command -v chromium >/dev/null || command -v chromium-browser >/dev/null || need+=(chromium)

if [ "${#need[@]}" -gt 0 ]; then
    sudo=""
    [ "$(id -u)" -eq 0 ] || sudo="sudo"
    echo "installing: ${need[*]}" >&2
    $sudo apt-get update -qq
    DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq "${need[@]}" >/dev/null
fi
