#!/usr/bin/env bash
# Runs the benchmarks of an optimised build. Figures go to stdout; see
# docs/performance.md for what they mean and the latest results.
set -euo pipefail
cd "$(dirname "$0")/.."
build=${1:-build-release}
echo "== JSON reader and writer against jansson"
"$build/bench/bench-json"
