#!/usr/bin/env bash
# The live stream under load: WebSocket clients on GET /api/v1/stream while
# ingest runs, with end-to-end latency, drops, and the server's CPU and RSS.
#
#   bench/stream.sh BUILD_DIR
#
# Starts a fresh ward-server (open ingest, public read, no access log, no
# per-address connection limit, since every client comes from 127.0.0.1)
# on a free loopback port with its database in a temporary directory, and
# runs bench-stream against it: STREAM_CLIENTS clients, STREAM_AGENTS
# agents posting batches of STREAM_BATCH samples so that together they send
# STREAM_RATE samples/s, for STREAM_SECONDS. Latency is the time from a
# sample's timestamp (set when its batch is built) to its arrival at a
# client. bench-stream prints the figures of every 5 s, then the totals and
# a "result" line; see the comment at the top of bench/bench-stream.c.
#
# At 20,000 samples/s the store's head (1,000,000 samples) is flushed about
# every 50 s, which holds the writer, and so the stream, for 0.5-1.2 s: the
# default 30 s run does not include one. STREAM_SECONDS=120 or more gives
# the steady state with flushes.
#
# Settings come from the environment: STREAM_SECONDS (30), STREAM_CLIENTS
# (100), STREAM_RATE (20000), STREAM_AGENTS (20), STREAM_BATCH (100),
# STREAM_MODE (all; mixed filters every second client by one server_id).
# With STREAM_PERF=1 and perf installed, the server is profiled during the
# run (perf record -g) and its hottest symbols are printed.
set -euo pipefail
. "$(dirname "$0")/lib.sh"
build=${1:-build-release}
secs=${STREAM_SECONDS:-30}
clients=${STREAM_CLIENTS:-100}
rate=${STREAM_RATE:-20000}
agents=${STREAM_AGENTS:-20}
batch=${STREAM_BATCH:-100}
mode=${STREAM_MODE:-all}

server=$build/ward-server
[ -x "$build/src/server/ward-server" ] && server=$build/src/server/ward-server
bench=$build/bench/bench-stream
tmp=$(mktemp -d)
spid=
perf=

cleanup() {
  if [ -n "$perf" ]; then
    kill -INT "$perf" 2>/dev/null || true
    wait "$perf" 2>/dev/null || true
  fi
  if [ -n "$spid" ]; then
    kill -TERM "$spid" 2>/dev/null || true
    wait "$spid" 2>/dev/null || true
  fi
  rm -rf "$tmp"
}
trap cleanup EXIT

port=$(free_port)
addr=127.0.0.1:$port
"$server" -a "$addr" -d "$tmp/ward.db" --open-ingest --public-read --log-level warn \
  --access-log off --max-connections-per-ip 0 2>"$tmp/server.log" &
spid=$!
wait_healthy "$addr" "$spid" "$tmp/server.log"

echo "ward-server: $server (pid $spid), $(nproc) CPUs, database in $tmp ($(df -T "$tmp" | awk 'NR == 2 {print $2}'))"
if [ "${STREAM_PERF:-0}" = 1 ]; then
  if command -v perf >/dev/null; then
    perf record -g -F 499 -p "$spid" -o "$tmp/perf.data" 2>"$tmp/perf.log" &
    perf=$!
  else
    echo "profile skipped: perf is not installed"
  fi
fi
status=0
"$bench" -c "$addr" -P "$spid" -n "$clients" -r "$rate" -a "$agents" -b "$batch" -d "$secs" \
  -m "$mode" || status=$?
if [ -n "$perf" ]; then
  kill -INT "$perf"
  wait "$perf" 2>/dev/null || true
  perf=
  echo "hottest symbols of ward-server during the run (self time, share of its samples):"
  perf report -i "$tmp/perf.data" --stdio --no-children --sort comm,dso,sym --percent-limit 1 \
    2>/dev/null | grep -v '^#' | grep -v '^$' | grep -E '^ +[0-9]' | head -30
fi
slow=$(grep -c 'too slow' "$tmp/server.log" || true)
echo "server log: $(wc -l <"$tmp/server.log") lines, $slow about slow stream clients"
exit "$status"
