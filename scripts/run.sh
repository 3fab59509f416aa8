#!/usr/bin/env bash
# Starts ward-server (embedded SQLite in ./data) and a local ward-agent that
# reports to it, prints where to look, and stops both on Ctrl-C.
set -euo pipefail
cd "$(dirname "$0")/.."

build=${1:-build}
port=${WARD_PORT:-8080}
agent_listen=${WARD_AGENT_LISTEN:-127.0.0.1:9100}
url="http://127.0.0.1:$port"
mkdir -p data/agent
chmod 700 data

# The admin token and the enrollment token of this local setup: made once,
# kept in data/ (mode 0600), and given to the server (and the agent) through
# the environment, never on a command line that ps would show.
secret() {
  local file=$1
  if [ ! -s "$file" ]; then
    (umask 077 && head -c 24 /dev/urandom | od -An -tx1 | tr -d ' \n' >"$file")
  fi
  cat "$file"
}
admin_token=$(secret data/admin-token)
enroll_token=$(secret data/enroll-token)

# Both run in their own sessions, so Ctrl-C reaches only this script, which
# then stops the agent first (it sends what it holds) and the server last.
server=""
agent=""
stop() {
  trap - INT TERM HUP EXIT
  echo
  echo "run: stopping ward"
  for pid in $agent $server; do
    kill -TERM "$pid" 2>/dev/null || true
    wait "$pid" 2>/dev/null || true
  done
}
trap stop INT TERM HUP EXIT

WARD_ADMIN_TOKEN=$admin_token WARD_ENROLL_TOKEN=$enroll_token \
  setsid "$build/ward-server" -a "127.0.0.1:$port" -d data/ward.db --access-log data/access.log &
server=$!

for _ in $(seq 100); do
  if curl -fsS "$url/health" >/dev/null 2>&1; then break; fi
  if ! kill -0 "$server" 2>/dev/null; then
    echo "run: ward-server did not start (is port $port free? set WARD_PORT to use another)" >&2
    exit 1
  fi
  sleep 0.1
done

# The dashboard's live charts run at 1 s: the collectors behind them run
# every second here, and the agent sends every second.
live=()
for c in cpu memory disk diskio network temperature thermal; do
  live+=(--collectors.$c.interval 1s)
done
WARD_ENROLL_TOKEN=$enroll_token \
  setsid "$build/ward-agent" -a "$url" --state-dir data/agent -r 1 --listen "$agent_listen" \
  "${live[@]}" &
agent=$!

for _ in $(seq 50); do
  [ -s data/agent/agent-id ] && break
  if ! kill -0 "$agent" 2>/dev/null; then
    echo "run: ward-agent did not start (is $agent_listen free? set WARD_AGENT_LISTEN)" >&2
    exit 1
  fi
  sleep 0.1
done
agent_id=$(cat data/agent/agent-id 2>/dev/null || echo "AGENT_ID")

cat <<MSG

  ward is running
    dashboard: $url   (log in with the admin token below)
    server:    $url   (database: data/ward.db, requests: data/access.log)
    health:    $url/health
    agent:     http://$agent_listen/metrics  (Prometheus text; /health too)
    agent id:  $agent_id
    admin token: $admin_token   (kept in data/admin-token)
    query:     WARD_TOKEN=\$(cat data/admin-token) $build/wardctl -s $url query $agent_id cpu
               curl -H "Authorization: Bearer \$(cat data/admin-token)" \\
                 '$url/api/v1/metrics?server_id=$agent_id&metric_type=ram'
    agents:    WARD_TOKEN=\$(cat data/admin-token) $build/wardctl -s $url agents list
    diagnose:  WARD_TOKEN=\$(cat data/admin-token) $build/wardctl -s $url run $agent_id netstat --wait

  Press Ctrl-C to stop both.

MSG
wait -n "$server" "$agent" || true
