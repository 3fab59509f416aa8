#!/usr/bin/env bash
# Steady-state footprint of ward-agent against node_exporter on this machine.
#
#   bench/footprint.sh BUILD_DIR [SECONDS]    (default 60; the documented figures use 3600)
#
# ward-agent runs every collector each second (-p 1) and reports to a
# ward-server; node_exporter is scraped each second by curl, as Prometheus
# would. At the end it prints, for both: RSS, CPU share of one core, samples
# produced per second and CPU time per sample.
set -euo pipefail
. "$(dirname "$0")/lib.sh"
build=${1:-build-release}
seconds=${2:-60}
tmp=$(mktemp -d)
pids=()
trap 'kill "${pids[@]}" 2>/dev/null || true; wait 2>/dev/null || true; rm -rf "$tmp"' EXIT
sport=$(free_port); aport=$(free_port); nport=$(free_port)

"$build/ward-server" -a "127.0.0.1:$sport" -d "$tmp/ward.db" --log-level warn --open-ingest --public-read 2>"$tmp/server.log" &
pids+=($!)
"$build/ward-agent" -a "http://127.0.0.1:$sport" --state-dir "$tmp/agent" -p 1 -r 10 \
  --listen "127.0.0.1:$aport" --log-level warn 2>"$tmp/agent.log" &
agent=$!
pids+=($agent)
/usr/bin/prometheus-node-exporter --web.listen-address="127.0.0.1:$nport" --log.level=warn \
  2>"$tmp/node.log" &
node=$!
pids+=($node)
sleep 2

ticks() { awk '{print $14 + $15}' "/proc/$1/stat"; }
rss_kb() { awk '/VmRSS/ {print $2}' "/proc/$1/status"; }
hz=$(getconf CLK_TCK)

a0=$(ticks $agent); n0=$(ticks $node)
as0=$(curl -s "127.0.0.1:$aport/metrics" | awk '$1 == "agent_samples_total" {print $2}')
scrapes=0; node_samples=0
end=$((SECONDS + seconds))
while [ $SECONDS -lt $end ]; do
  n=$(curl -s "127.0.0.1:$nport/metrics" | grep -vc '^#' || true)
  node_samples=$((node_samples + n)); scrapes=$((scrapes + 1))
  sleep 1
done
a1=$(ticks $agent); n1=$(ticks $node)
as1=$(curl -s "127.0.0.1:$aport/metrics" | awk '$1 == "agent_samples_total" {print $2}')

awk -v s="$seconds" -v hz="$hz" -v a="$((a1 - a0))" -v n="$((n1 - n0))" \
    -v arss="$(rss_kb $agent)" -v nrss="$(rss_kb $node)" -v as="$as0" -v as1="$as1" \
    -v ns="$node_samples" -v scrapes="$scrapes" 'BEGIN {
  asamples = as1 - as
  printf "footprint over %d s (CPU ticks of %d Hz)\n", s, hz
  printf "%-16s %10s %10s %12s %14s\n", "process", "RSS MB", "CPU %", "samples/s", "CPU us/sample"
  printf "%-16s %10.1f %10.3f %12.0f %14.2f\n", "ward-agent", arss / 1024, 100 * a / hz / s, asamples / s, asamples ? a / hz * 1e6 / asamples : 0
  printf "%-16s %10.1f %10.3f %12.0f %14.2f\n", "node_exporter", nrss / 1024, 100 * n / hz / s, ns / s, ns ? n / hz * 1e6 / ns : 0
}'
