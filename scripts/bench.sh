#!/usr/bin/env bash
# Runs the benchmarks of an optimised build. Figures go to stdout; see
# docs/performance.md for what they mean and the latest results.
set -euo pipefail
cd "$(dirname "$0")/.."
build=${1:-build-release}
echo "== JSON reader and writer against jansson"
"$build/bench/bench-json"
echo
echo "== collectors"
"$build/bench/bench-collectors"
echo
echo "== spool"
"$build/bench/bench-spool"
echo
echo "== delivery: wire bytes per sample, catch-up of a 30-minute backlog"
bench/delivery.sh "$build"
echo
echo "== ingest: server rate, query latency, bytes per sample, RSS with 100k series (${INGEST_SECONDS:-30} s runs)"
bench/ingest.sh "$build"
echo
echo "== live stream: 100 WebSocket clients while ingest runs at 20,000 samples/s (${STREAM_SECONDS:-30} s)"
bench/stream.sh "$build"
echo
echo "== diagnostics commands: ${COMMANDS_AGENTS:-2000} agents long-polling, ${COMMANDS_RATE:-50} commands/s (${COMMANDS_SECONDS:-30} s)"
# Exits 1 when a target is missed; the benchmarks after it run all the same.
bench/commands.sh "$build" || echo "bench/commands.sh: exit status $? (a target missed, or the run failed)"
echo
echo "== footprint against node_exporter (${BENCH_SECONDS:-60} s; BENCH_SECONDS=3600 for the documented hour)"
bench/footprint.sh "$build" "${BENCH_SECONDS:-60}"
