#!/usr/bin/env bash
# Applies the project's .swift-format settings in place.
set -euo pipefail
cd "$(dirname "$0")/.."
swift format format --in-place --recursive Sources Tests
