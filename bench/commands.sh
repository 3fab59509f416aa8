#!/usr/bin/env bash
# Diagnostics commands under load: N agents long-polling for commands while
# an admin queues them at a fixed rate, with the delivery latency and what
# the waiting agents cost the server in threads and memory.
#
#   bench/commands.sh BUILD_DIR
#
# Starts a fresh ward-server (an admin token, an enrollment token, no access
# log, the connection limits raised for the run: one long-poll per agent
# plus the admin and result connections, all from loopback) on a free
# loopback port with its database in a temporary directory, and runs
# bench-commands against it: COMMANDS_AGENTS agents register with the
# enrollment token (setup, not measured), each keeps one keep-alive
# long-poll on GET /api/v1/agent/command?wait=30 open, and once all of them
# wait, commands are queued for random agents at COMMANDS_RATE per second
# for COMMANDS_SECONDS. Latency is the time from just before a POST
# /api/v1/hosts/{id}/commands is written to the arrival of the 200 with that
# command on its agent's long-poll. See the comment at the top of
# bench/bench-commands.c.
#
# ward-server lifts its own soft RLIMIT_NOFILE to the hard limit at start;
# this script raises the soft limit of the shell to the hard limit too when
# it is short, since bench-commands holds one descriptor per agent, and
# stops when even the hard limit is too low.
#
# Settings come from the environment: COMMANDS_SECONDS (30), COMMANDS_AGENTS
# (2000), COMMANDS_RATE (50). The exit status is bench-commands': 1 when a
# target is missed.
set -euo pipefail
. "$(dirname "$0")/lib.sh"
build=${1:-build-release}
secs=${COMMANDS_SECONDS:-30}
agents=${COMMANDS_AGENTS:-2000}
rate=${COMMANDS_RATE:-50}

server=$build/ward-server
[ -x "$build/src/server/ward-server" ] && server=$build/src/server/ward-server
bench=$build/bench/bench-commands
tmp=$(mktemp -d)
spid=

cleanup() {
  if [ -n "$spid" ]; then
    kill -TERM "$spid" 2>/dev/null || true
    wait "$spid" 2>/dev/null || true
  fi
  rm -rf "$tmp"
}
trap cleanup EXIT

# Each process holds a descriptor per agent and a few hundred more at most.
need=$((agents + 512))
if [ "$(ulimit -n)" != unlimited ] && [ "$(ulimit -n)" -lt "$need" ]; then
  ulimit -n "$(ulimit -Hn)" 2>/dev/null || true
  if [ "$(ulimit -n)" != unlimited ] && [ "$(ulimit -n)" -lt "$need" ]; then
    echo "commands.sh: $agents agents need about $need descriptors; the hard limit is $(ulimit -Hn)" >&2
    exit 2
  fi
fi

admin=bench-admin-$(head -c 12 /dev/urandom | od -An -tx1 | tr -d ' \n')
enroll=bench-enroll-$(head -c 12 /dev/urandom | od -An -tx1 | tr -d ' \n')
port=$(free_port)
addr=127.0.0.1:$port
# Connections: a long-poll per agent, the admin and result pools, the
# registration threads and a scrape of /metrics, with room to spare.
"$server" -a "$addr" -d "$tmp/ward.db" --admin-token "$admin" --enroll-token "$enroll" \
  --log-level warn --access-log off --max-connections $((agents + 512)) \
  --max-connections-per-ip 0 --command-waiters $((agents + 512)) 2>"$tmp/server.log" &
spid=$!
wait_healthy "$addr" "$spid" "$tmp/server.log"

echo "ward-server: $server (pid $spid), $(nproc) CPUs, database in $tmp ($(df -T "$tmp" | awk 'NR == 2 {print $2}')), open files $(awk '/Max open files/ {print $4 " soft, " $5 " hard"}' "/proc/$spid/limits")"
status=0
"$bench" -c "$addr" -P "$spid" -t "$admin" -e "$enroll" -n "$agents" -r "$rate" -d "$secs" ||
  status=$?
echo "server log: $(wc -l <"$tmp/server.log") lines at warn and above"
if [ -s "$tmp/server.log" ]; then
  echo "its last lines:"
  tail -5 "$tmp/server.log" | cut -c1-200
fi
exit "$status"
