#!/usr/bin/env bash
# Server figures of ward-server with SQLite: acknowledged ingest rate, query
# latency, bytes per stored sample and peak RSS with 100,000 active series.
#
#   bench/ingest.sh BUILD_DIR
#
# Each scenario starts its own ward-server on a free loopback port with its
# database in a temporary directory, and bench-ingest (plain sockets, one
# keep-alive connection per simulated agent, requests built before the
# clock starts) loads it through POST /api/v1/ingest:
#
# 1. synchronous=NORMAL: AGENTS agents x SERIES series x POINTS points per
#    batch for INGEST_SECONDS, with the rate of every 5 s. Then one series
#    with 24 h and 1,000 series with 1 h of 10 s data are loaded and
#    bench-query times GET /api/v1/query on them, QUERY_REPEAT times each.
#    If perf is installed, a system-wide profile of PERF_SECONDS more of the
#    same ingest (by thread and library, and the server's hottest symbols)
#    and a profile of the server during an aggregate query follow; without
#    perf the reason is printed. Last the server is stopped, the WAL
#    checkpointed, and the database size divided by all samples in it.
# 2. The same ingest with --synchronous-full.
# 3. RSS: RSS_AGENTS agents x 1,000 series for RSS_SECONDS; VmHWM of the
#    server from /proc. The agents all connect from 127.0.0.1, so the
#    server's per-address connection limit is lifted for this one.
#
# bench-ingest prints the CPU time of the server (per thread), of itself and
# of the rest of the machine next to each rate: on a shared machine, check
# "other processes" before trusting a figure.
#
# Settings come from the environment: INGEST_SECONDS (30), AGENTS (16),
# SERIES (1000), POINTS (10), RSS_AGENTS (100), RSS_SECONDS (20),
# QUERY_REPEAT (200), PERF_SECONDS (10).
set -euo pipefail
. "$(dirname "$0")/lib.sh"
build=${1:-build-release}
secs=${INGEST_SECONDS:-30}
agents=${AGENTS:-16}
series=${SERIES:-1000}
points=${POINTS:-10}
rss_agents=${RSS_AGENTS:-100}
rss_secs=${RSS_SECONDS:-20}
repeat=${QUERY_REPEAT:-200}
perf_secs=${PERF_SECONDS:-10}

server=$build/ward-server
[ -x "$build/src/server/ward-server" ] && server=$build/src/server/ward-server
ingest=$build/bench/bench-ingest
query=$build/bench/bench-query
tmp=$(mktemp -d)
spid=
summary=()

stop_server() {
  if [ -n "$spid" ]; then
    kill -TERM "$spid" 2>/dev/null || true
    wait "$spid" 2>/dev/null || true
    spid=
  fi
}
trap 'stop_server; rm -rf "$tmp"' EXIT

# start_server NAME [OPTION...]: a fresh server with its database in $tmp/NAME.
start_server() {
  local name=$1
  shift
  mkdir -p "$tmp/$name"
  port=$(free_port)
  addr=127.0.0.1:$port
  db=$tmp/$name/ward.db
  "$server" -a "$addr" -d "$db" --log-level warn --open-ingest --public-read "$@" \
    2>"$tmp/$name/server.log" &
  spid=$!
  wait_healthy "$addr" "$spid" "$tmp/$name/server.log"
}

status_kb() { awk -v k="$2:" '$1 == k {print $2}' "/proc/$1/status"; }

# result FIELD: the value of FIELD on the last "result" line of $tmp/out.
result() { grep '^result' "$tmp/out" | tail -1 | tr ' ' '\n' | awk -F= -v k="$1" '$1 == k {print $2}'; }

# run_ingest LABEL [bench-ingest OPTION...]: one timed ingest run against $spid.
run_ingest() {
  local label=$1
  shift
  echo "-- $label"
  "$ingest" -c "$addr" -P "$spid" -r 5 "$@" | tee "$tmp/out" || echo "bench-ingest failed; see above"
  summary+=("$(printf '%-34s %9s samples/s, p50 %s ms, p99 %s ms, non-2xx %s, 503 waits %s, server %s cores, generator %s, others %s' \
    "$label" "$(result samples_per_s)" "$(result p50_ms)" "$(result p99_ms)" "$(result non2xx)" \
    "$(result backoffs)" "$(result server_cores)" "$(result generator_cores)" "$(result other_cores)")")
  echo
}

echo "ward-server: $server, $(nproc) CPUs, database in $tmp ($(df -T "$tmp" | awk 'NR == 2 {print $2}'))"
echo

# 1. NORMAL: ingest, queries, bytes per sample.
start_server normal
run_ingest "ingest, synchronous NORMAL" -a "$agents" -s "$series" -p "$points" -d "$secs"

end=$(($(date +%s%3N) / 10000 * 10000))
day=$(cat /proc/sys/kernel/random/uuid)
thousand=$(cat /proc/sys/kernel/random/uuid)
echo "-- query data: 1 series x 24 h and 1,000 series x 1 h of 10 s points, ending at $end"
"$ingest" -c "$addr" -a 1 -s 1 -p 8640 -n 1 -d 0 -i "$day" -e "$end" | grep -E '^(timed|non-2xx)' || true
"$ingest" -c "$addr" -a 1 -s 1000 -p 60 -n 6 -d 0 -i "$thousand" -e "$end" | grep -E '^(timed|non-2xx)' || true
q=/api/v1/query
# from is the first point's time, so the buckets of 60 s hold 6 points each.
dayq="$q?host=$day&category=cpu&name=usage&from=$((end - 86390000))&to=$end"
aggq="$q?host=$thousand&category=cpu&name=usage&from=$((end - 3590000))&to=$end"
"$query" -n "$repeat" "http://$addr" \
  "24h-raw:$dayq" \
  "24h-label:$dayq&label=core%3D0" \
  "24h-avg-60s:$dayq&step=60s&agg=avg" \
  "1000x1h-avg-60s-all:$aggq&step=60s&agg=avg&by=name" \
  "1000x1h-avg-60s-by-group:$aggq&step=60s&agg=avg&by=group" \
  "1000x1h-avg-60s-each:$aggq&step=60s&agg=avg" \
  "1000x1h-rate-60s-all:$aggq&step=60s&agg=rate&by=name" \
  "1000x1h-avg-total:$aggq&agg=avg&by=name" | tee "$tmp/out"
for name in 24h-raw 24h-avg-60s 1000x1h-avg-60s-all 1000x1h-avg-60s-by-group 1000x1h-avg-60s-each; do
  line=$(grep "^result query=$name " "$tmp/out" || true)
  field() { tr ' ' '\n' <<<"$line" | awk -F= -v k="$1" '$1 == k {print $2}'; }
  if [ "$(field status)" = 200 ]; then
    summary+=("$(printf '%-34s p50 %s ms, p90 %s ms, p99 %s ms (%s series, %s points)' "query $name" \
      "$(field p50_ms)" "$(field p90_ms)" "$(field p99_ms)" "$(field series)" "$(field points)")")
  else
    summary+=("$(printf '%-34s not measured: status %s' "query $name" "$(field status)")")
  fi
done
echo

if command -v perf >/dev/null; then
  echo "-- profile: perf record -a during ${perf_secs} s of the same ingest"
  "$ingest" -c "$addr" -P "$spid" -a "$agents" -s "$series" -p "$points" -d "$perf_secs" \
    >"$tmp/out" &
  gpid=$!
  # The profile starts when the requests are built, with the timed phase.
  until grep -q '^built' "$tmp/out" || ! kill -0 "$gpid" 2>/dev/null; do sleep 0.05; done
  perf record -a -F 499 -o "$tmp/perf.data" 2>"$tmp/perf.log" &
  perf=$!
  wait "$gpid"
  kill -INT "$perf"
  wait "$perf" 2>/dev/null || true
  grep -E '^(timed|server CPU|generator)' "$tmp/out"
  report() { perf report -i "$tmp/perf.data" --stdio --no-children "$@" 2>/dev/null | grep -v '^#' | grep -v '^$'; }
  echo "whole machine by command (swapper = idle):"
  report --sort comm --percent-limit 1 | head -12
  echo "server (pid $spid) and generator (pid $gpid) by thread and library, share of their samples:"
  report --pid "$spid,$gpid" --percentage relative --sort comm,dso --percent-limit 1 | head -25
  echo "hottest symbols of ward-server, share of its samples:"
  report --pid "$spid" --percentage relative --sort dso,sym --percent-limit 0.7 | head -40
  echo "-- profile: perf record of the server during 1000x1h-avg-60s-all, 50 times"
  perf record -p "$spid" -F 999 -o "$tmp/perf-query.data" 2>>"$tmp/perf.log" &
  perf=$!
  sleep 0.5
  "$query" -n 50 -w 0 "http://$addr" "1000x1h-avg-60s-all:$aggq&step=60s&agg=avg&by=name" |
    grep -v '^result'
  kill -INT "$perf"
  wait "$perf" 2>/dev/null || true
  echo "hottest symbols of ward-server:"
  perf report -i "$tmp/perf-query.data" --stdio --no-children --sort dso,sym --percent-limit 1.5 \
    2>/dev/null | grep -v '^#' | grep -v '^$' | head -25
else
  echo "-- profile skipped: perf is not installed"
fi
echo

wal_live=$(stat -c %s "$db-wal" 2>/dev/null || echo 0)
stop_server
sqlite3 "$db" 'PRAGMA wal_checkpoint(TRUNCATE);' >/dev/null
db_bytes=$(stat -c %s "$db")
wal_bytes=$(stat -c %s "$db-wal" 2>/dev/null || echo 0)
samples=$(sqlite3 "$db" 'SELECT count(*) FROM samples')
n_series=$(sqlite3 "$db" 'SELECT count(*) FROM series')
echo "-- disk: $samples samples in $n_series series; database $db_bytes bytes + WAL $wal_bytes bytes after stop and a TRUNCATE checkpoint (WAL was $wal_live bytes while running)"
sqlite3 -separator ' ' "$db" \
  "SELECT name, sum(pgsize), round(100.0 * sum(pgsize - unused) / sum(pgsize), 1)
   FROM dbstat GROUP BY name ORDER BY 2 DESC LIMIT 6" |
  awk -v n="$samples" '{printf "  %-36s %12d bytes %6.2f per sample, pages %s%% full\n", $1, $2, $2 / n, $3}'
bps=$(awk -v b="$((db_bytes + wal_bytes))" -v n="$samples" 'BEGIN {printf "%.1f", b / n}')
summary+=("$(printf '%-34s %s (database + WAL after a TRUNCATE checkpoint, %s samples)' \
  "bytes per stored sample" "$bps" "$samples")")
echo

# 2. FULL.
start_server full --synchronous-full
run_ingest "ingest, --synchronous-full" -a "$agents" -s "$series" -p "$points" -d "$secs"
stop_server

# 3. Peak RSS with 100,000 active series. All agents connect from one address,
# so the per-address connection limit, if the server has one, is lifted.
per_ip=()
"$server" --help | grep -q -- --max-connections-per-ip && per_ip=(--max-connections-per-ip 0)
start_server rss "${per_ip[@]}"
rss0=$(status_kb "$spid" VmRSS)
run_ingest "ingest, $rss_agents agents x 1000 series" -a "$rss_agents" -s 1000 -p "$points" -d "$rss_secs"
hwm=$(status_kb "$spid" VmHWM)
rss=$(status_kb "$spid" VmRSS)
echo "-- RSS of ward-server: $((rss0 / 1024)) MB idle, VmHWM $((hwm / 1024)) MB, VmRSS $((rss / 1024)) MB after the run"
summary+=("$(printf '%-34s VmHWM %s MB (VmRSS %s MB after, %s MB idle)' \
  "peak RSS, $((rss_agents * 1000)) active series" "$((hwm / 1024))" "$((rss / 1024))" "$((rss0 / 1024))")")
stop_server
echo

echo "== ingest summary"
printf '%s\n' "${summary[@]}"
