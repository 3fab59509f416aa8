#!/usr/bin/env bash
# Delivery figures of ward-agent: bytes on the wire per sample, and how long
# the uploader takes to catch up a 30-minute backlog.
#
#   bench/delivery.sh BUILD_DIR
#
# 1. The agent runs 65 s with no server reachable; its spool then holds
#    exactly what it would have sent. Bytes per sample are the spooled
#    (gzip-compressed) bodies over their samples: at the default intervals
#    with the default 10 s report interval, at a 1 s poll interval, and for
#    batches sealed at the default --batch-size of 10000 samples (the size
#    a backlog goes out in).
# 2. A 30-minute backlog at a 1 s poll interval (180 batches of 10 s) is
#    built from real batches (re-numbered and shifted in time), then the
#    agent starts against a local ward-server; the time to an empty spool is
#    the catch-up time.
set -euo pipefail
. "$(dirname "$0")/lib.sh"
build=${1:-build-release}
tmp=$(mktemp -d)
pids=()
trap 'kill "${pids[@]}" 2>/dev/null || true; wait 2>/dev/null || true; rm -rf "$tmp"' EXIT
dead=$(free_port)

for mode in default poll1 full; do
  args=()
  [ "$mode" = poll1 ] && args=(-p 1)
  [ "$mode" = full ] && args=(-p 1 -r 600) # batches sealed at the default --batch-size
  timeout -s TERM 66 "$build/ward-agent" -a "http://127.0.0.1:$dead" --state-dir "$tmp/$mode" \
    --listen "" --log-level error "${args[@]}" 2>>"$tmp/agent.log" &
  pids+=($!)
done
wait "${pids[@]}" 2>/dev/null || true
pids=()

/usr/bin/python3 - "$tmp" <<'PY'
import gzip, json, sqlite3, sys
tmp = sys.argv[1]
for mode, what, where in (("default", "default intervals, 10 s batches", ""),
                          ("poll1", "-p 1, 10 s batches", ""),
                          ("full", "-p 1, full batches of the default --batch-size", " WHERE samples >= 10000")):
    db = sqlite3.connect(f"{tmp}/{mode}/spool.db")
    n, b = db.execute("SELECT sum(samples), sum(length(body)) FROM batches" + where).fetchone()
    print(f"wire bytes per sample ({what}): {b / n:.2f}  ({n} samples, {b} bytes gzip)")

# A 30-minute backlog from the poll1 batches: 180 batches, 10 s apart.
db = sqlite3.connect(f"{tmp}/poll1/spool.db")
rows = db.execute("SELECT boot, samples, body FROM batches ORDER BY id").fetchall()
boot = rows[0][0]
docs = [json.loads(gzip.decompress(r[2])) for r in rows]
db.execute("DELETE FROM batches")
span = 10000 * len(docs)
seq = 0
for k in range(180):
    doc = docs[k % len(docs)]
    shift = (k // len(docs)) * span - 1800 * 1000
    seq += 1
    doc = dict(doc, batch={"seq": seq, "boot": boot})
    doc["series"] = [dict(s, t0=s["t0"] + shift) for s in doc["series"]]
    body = gzip.compress(json.dumps(doc, separators=(",", ":")).encode(), 1)
    cost = (len(body) + 64 + 4095) // 4096 * 4096
    samples = sum(len(s["values"]) for s in doc["series"])
    db.execute("INSERT INTO batches (boot, seq, samples, cost, pending, body) VALUES (?,?,?,?,1,?)",
               (boot, seq, samples, cost, body))
db.commit()
total = db.execute("SELECT count(*), sum(samples) FROM batches").fetchone()
print(f"backlog: {total[0]} batches, {total[1]} samples")
polls = sum(len(s["values"]) for k in range(180) for s in docs[k % len(docs)]["series"]
            if s["metric_name"] == "PollCount")
open(f"{tmp}/backlog-polls", "w").write(str(polls))
PY

sport=$(free_port); aport=$(free_port)
"$build/ward-server" -a "127.0.0.1:$sport" -d "$tmp/ward.db" --log-level warn --open-ingest --public-read 2>"$tmp/server.log" &
pids+=($!)
sleep 1
start=$(date +%s.%N)
"$build/ward-agent" -a "http://127.0.0.1:$sport" --state-dir "$tmp/poll1" -p 60 -r 60 \
  --listen "127.0.0.1:$aport" --log-level warn 2>"$tmp/agent2.log" &
pids+=($!)
id=$(cat "$tmp/poll1/agent-id")
stored() {
  curl -s "127.0.0.1:$sport/api/v1/metrics?server_id=$id&metric_type=agent&metric_name=PollCount&from=2000-01-01T00:00:00Z&to=2100-01-01T00:00:00Z&limit=100000" |
    /usr/bin/python3 -c 'import json,sys; print(len(json.load(sys.stdin)))'
}
want=$(cat "$tmp/backlog-polls")
until [ "$(stored)" -ge "$want" ]; do sleep 0.1; done
end=$(date +%s.%N)
awk -v s="$start" -v e="$end" 'BEGIN { printf "catch-up of a 30-minute backlog: %.2f s (agent start included)\n", e - s }'
