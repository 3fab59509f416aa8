"""The agent's store-and-forward delivery, end to end on loopback.

The agent spools every sealed batch and deletes it only after a 2xx, so a
server outage costs nothing: after the server is back, every sample is
stored exactly once. The agent's own PollCount counter goes up by one each
collection round, which makes gaps and duplicates easy to see.
"""

import re
import signal
import sqlite3
import time

import pytest
import requests

from conftest import wait_for

PROM_LINE = re.compile(r"^([a-zA-Z_:][a-zA-Z0-9_:]*)(\{[^}]*\})? (\S+)$")


def agent_metrics(agent):
    """The agent's /metrics as {name or name{labels}: value}."""
    port = wait_for(lambda: listen_port(agent), what="the agent's listen port")
    text = requests.get(f"http://127.0.0.1:{port}/metrics", timeout=5).text
    out = {}
    for line in text.splitlines():
        m = PROM_LINE.match(line)
        if m:
            out[m.group(1) + (m.group(2) or "")] = float(m.group(3))
    return out


def listen_port(agent):
    m = re.search(r"listen_port=(\d+)", agent.stderr())
    return m and int(m.group(1))


def agent_id(workdir):
    f = workdir / "agent" / "agent-id"
    return wait_for(lambda: f.exists() and f.read_text().strip(), what="the agent id")


def poll_counts(server, host):
    """(timestamp, value) of every stored PollCount sample, oldest first."""
    r = requests.get(
        server.url + "/api/v1/metrics",
        params={
            "server_id": host,
            "metric_type": "agent",
            "metric_name": "PollCount",
            "from": "2000-01-01T00:00:00Z",
            "to": "2100-01-01T00:00:00Z",
            "limit": "100000",
        },
        timeout=10,
    )
    assert r.status_code == 200, r.text
    return sorted((m["timestamp"], m["value"]) for m in r.json())


def assert_exactly_once(rows):
    values = [v for _, v in rows]
    stamps = [t for t, _ in rows]
    assert len(set(stamps)) == len(stamps), "a timestamp is stored twice"
    assert values == sorted(values), "samples out of order"
    first, last = int(values[0]), int(values[-1])
    assert values == [float(v) for v in range(first, last + 1)], (
        f"gaps or duplicates in PollCount {first}..{last}: "
        f"{sorted(set(range(first, last + 1)) - set(int(v) for v in values))[:20]} missing"
    )


def agent_runs(rows):
    """Splits stored PollCount rows into one list per agent process: the count restarts at 1."""
    runs, cur = [], [rows[0]]
    for row in rows[1:]:
        if row[1] <= cur[-1][1]:
            runs.append(cur)
            cur = []
        cur.append(row)
    runs.append(cur)
    return runs


def test_outage_loses_and_duplicates_nothing(server_factory, agent_factory, workdir):
    server = server_factory()
    agent = agent_factory(server.url, ["-p", "1", "-r", "1", "--backoff-max", "2s"])
    host = agent_id(workdir)
    wait_for(lambda: len(poll_counts(server, host)) >= 3, 60, "the first samples")

    port = server.port
    before = agent_metrics(agent)["agent_poll_count_total"]
    assert server.stop() == 0
    time.sleep(60)
    during = agent_metrics(agent)
    assert during["agent_spool_batches"] > 0, during
    assert during['agent_upload_failures_total{output="server"}'] >= 1

    server = server_factory(port=port)
    after = agent_metrics(agent)["agent_poll_count_total"]
    wait_for(lambda: agent_metrics(agent)["agent_spool_batches"] == 0, 120, "the backlog to drain")
    assert agent.stop() == 0
    rows = poll_counts(server, host)
    assert_exactly_once(rows)
    # The stored run covers the whole outage.
    assert rows[0][1] <= before and rows[-1][1] >= after, (rows[0], rows[-1], before, after)


def test_spool_survives_a_restart_without_server(server_factory, agent_factory, workdir):
    """Batches spooled while the server is down go out after the agent restarts."""
    server = server_factory()
    port = server.port
    assert server.stop() == 0
    first = agent_factory(f"http://127.0.0.1:{port}", ["-p", "1", "-r", "1"])
    host = agent_id(workdir)
    wait_for(lambda: agent_metrics(first)["agent_spool_batches"] >= 5, 60, "spooled batches")
    assert first.stop() == 0

    server = server_factory(port=port)
    second = agent_factory(server.url, ["-p", "1", "-r", "1"])
    wait_for(lambda: len(poll_counts(server, host)) >= 8, 60, "the spooled and new samples")
    assert second.stop() == 0
    rows = poll_counts(server, host)
    runs = agent_runs(rows)
    assert len(runs) == 2, runs
    for run in runs:
        assert_exactly_once(run)
    assert len(runs[0]) >= 5


def test_sigkill_never_duplicates(server, agent_factory, workdir):
    """Killed at random moments, uploads included: no sample twice, at most a flush lost per kill."""
    host = None
    kills = 20
    seen = []  # per run, the last round the agent showed before it was killed
    for i in range(kills):
        agent = agent_factory(server.url, ["-p", "1", "-r", "1"])
        host = host or agent_id(workdir)
        wait_for(lambda: "ward-agent started" in agent.stderr(), what="the agent to start")
        time.sleep(1.0 + (i % 7) * 0.37)
        seen.append(agent_metrics(agent).get("agent_poll_count_total", 0))
        agent.stop(signal.SIGKILL)
    last = agent_factory(server.url, ["-p", "1", "-r", "1"])
    wait_for(lambda: agent_metrics(last)["agent_spool_batches"] == 0, 60, "the spool to drain")
    assert last.stop() == 0

    rows = poll_counts(server, host)
    stamps = [t for t, _ in rows]
    assert len(set(stamps)) == len(stamps), "a sample is stored twice"
    runs = agent_runs(rows)
    for run in runs:
        assert_exactly_once(run)  # within a run, nothing is missing or doubled
    # Each kill lost at most the open batch: one report interval, a round here.
    # (A run killed before its first round was spooled stored nothing.)
    lasts = [run[-1][1] for run in runs]
    assert len(runs) <= kills + 1
    for shown in seen:
        if shown >= 2:
            assert any(last >= shown - 1 for last in lasts), (shown, lasts)


def spool_bytes(workdir):
    total = 0
    for suffix in ("", "-wal", "-shm"):
        p = workdir / "agent" / f"spool.db{suffix}"
        if p.exists():
            total += p.stat().st_size
    return total


def busy_root(path, interfaces):
    """A host root whose /proc/net/dev lists many interfaces: lots of samples per round."""
    (path / "proc" / "net").mkdir(parents=True)
    lines = ["Inter-|   Receive |  Transmit", " face |bytes packets errs drop fifo frame compressed "
             "multicast|bytes packets errs drop fifo colls carrier compressed"]
    for i in range(interfaces):
        lines.append(f"eth{i}: {i * 7919} {i} 0 0 0 0 0 0 {i * 104729} {i} 0 0 0 0 0 0")
    (path / "proc" / "net" / "dev").write_text("\n".join(lines) + "\n")
    return path


def stopped_totals(agent):
    m = re.search(r'msg="ward-agent stopped" samples_total=(\d+)', agent.stderr())
    assert m, agent.stderr()[-2000:]
    return int(m.group(1))


def test_spool_cap_drops_oldest_and_counts_exactly(server_factory, agent_factory, workdir):
    server = server_factory()
    port = server.port
    assert server.stop() == 0
    cap = 1 << 20
    root = busy_root(workdir / "root", 2000)
    args = ["-p", "1", "-r", "1", "--spool-size", "1", "--root", str(root),
            "--network.max-interfaces", "2000", "--network.exclude", ""]
    agent = agent_factory(f"http://127.0.0.1:{port}", args)
    host = agent_id(workdir)
    largest_batch = 0

    def dropping():
        nonlocal largest_batch
        m = agent_metrics(agent)
        if m.get("agent_spool_batches"):
            largest_batch = max(largest_batch, m["agent_spool_bytes"] / m["agent_spool_batches"])
        return m.get("agent_spool_dropped_samples_total", 0) > 0

    wait_for(dropping, 120, "the spool to overflow")
    health = requests.get(f"http://127.0.0.1:{listen_port(agent)}/health", timeout=5)
    assert "spool full" in health.text, health.text
    time.sleep(3)
    assert spool_bytes(workdir) <= cap + largest_batch, spool_bytes(workdir)
    assert agent.stop() == 0
    assert spool_bytes(workdir) <= cap + largest_batch, spool_bytes(workdir)
    produced = stopped_totals(agent)

    db = sqlite3.connect(workdir / "agent" / "spool.db")
    dropped = dict(db.execute("SELECT name, value FROM counters"))["dropped_samples"]
    held = db.execute("SELECT coalesce(sum(samples), 0) FROM batches").fetchone()[0]
    db.close()
    # Every sample produced is either still held or counted as dropped.
    assert dropped > 0 and held > 0
    assert held + dropped == produced, (held, dropped, produced)


@pytest.mark.parametrize("damage", ["junk", "truncated"])
def test_corrupt_spool_is_moved_aside(server, agent_factory, workdir, damage):
    spool = workdir / "agent" / "spool.db"
    spool.parent.mkdir(parents=True, exist_ok=True)
    if damage == "junk":
        spool.write_bytes(b"not a database, just junk " * 400)
    else:
        db = sqlite3.connect(spool)
        db.execute("CREATE TABLE filler (x BLOB)")
        for _ in range(50):
            db.execute("INSERT INTO filler VALUES (randomblob(4000))")
        db.commit()
        db.close()
        size = spool.stat().st_size
        with open(spool, "r+b") as f:
            f.truncate(size // 3)
            f.seek(size // 3 - 3000)
            f.write(b"\xff" * 2000)
    agent = agent_factory(server.url, ["-p", "1", "-r", "1"])
    host = agent_id(workdir)
    wait_for(lambda: len(poll_counts(server, host)) >= 2, 60, "new data from the agent")
    m = agent_metrics(agent)
    assert m["agent_spool_recovered_total"] == 1
    health = requests.get(f"http://127.0.0.1:{listen_port(agent)}/health", timeout=5)
    assert "corrupt" in health.text
    assert (workdir / "agent" / "spool.db.corrupt").exists()
    assert "spool is corrupt" in agent.stderr()


def test_signed_uploads(server_factory, agent_factory, workdir):
    server = server_factory(["-k", "s3cret"])
    agent = agent_factory(server.url, ["-p", "1", "-r", "1", "-k", "s3cret"])
    host = agent_id(workdir)
    wait_for(lambda: len(poll_counts(server, host)) >= 2, 60, "signed samples")
    assert agent.stop() == 0


def test_wrong_key_loses_nothing(server_factory, agent_factory, workdir):
    """A signature the server refuses (401) keeps the batches in the spool."""
    server = server_factory(["-k", "right"])
    agent = agent_factory(server.url, ["-p", "1", "-r", "1", "-k", "wrong"])
    host = agent_id(workdir)
    wait_for(lambda: agent_metrics(agent)["agent_spool_batches"] >= 3, 60, "batches kept")
    assert agent_metrics(agent)["agent_dead_letter_samples_total"] == 0
    assert poll_counts(server, host) == []
    assert agent.stop() == 0


def test_victoria_output_has_its_own_cursor(server, agent_factory, workdir):
    """VictoriaMetrics down: the server still gets everything at once; VM catches up later."""
    from conftest import free_port
    from victoria import Victoria

    vm_port = free_port()
    agent = agent_factory(
        server.url,
        ["-p", "1", "-r", "1", "--backoff-max", "2s", "--vm-url", f"http://127.0.0.1:{vm_port}"],
    )
    host = agent_id(workdir)
    wait_for(lambda: len(poll_counts(server, host)) >= 5, 60, "samples at the server")
    m = agent_metrics(agent)
    assert m['agent_upload_failures_total{output="vm"}'] >= 1
    assert m["agent_spool_batches"] >= 1  # still pending for VictoriaMetrics

    backlog = agent_metrics(agent)['agent_uploaded_batches_total{output="server"}']
    vm = Victoria(workdir, port=vm_port)
    try:
        # Caught up: VM took every batch the server had when it started. (The spool itself is
        # rarely empty at a scrape: a new batch is sealed every second.)
        wait_for(lambda: agent_metrics(agent)['agent_uploaded_batches_total{output="vm"}']
                 >= backlog, 120, "VM to catch up")
        caught_up = len(poll_counts(server, host))
        assert agent.stop() == 0
        selector = 'agent_poll_count_total{instance="%s"}' % host

        def values():
            vm.flush()
            return sorted(v for s in vm.export(selector) for v in s["values"])

        got = wait_for(lambda: len(values()) >= caught_up and values(), 30, "the backlog in VM")
        # Every round once, from the first: what the server has, VM has too.
        assert got == [float(v) for v in range(1, len(got) + 1)], got
        stored = [v for _, v in poll_counts(server, host)]
        assert got == stored[: len(got)]
    finally:
        code = vm.stop()
        assert code == 0, vm.stderr()[-2000:]


def test_rate_limit_bounds_requests_in_flight(agent_factory, workdir):
    """-l 3: a backlog goes out three requests at a time, never more."""
    import http.server
    import socketserver
    import threading

    from conftest import free_port

    state = {"now": 0, "max": 0, "posts": 0}
    lock = threading.Lock()

    class Slow(http.server.BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def do_POST(self):
            self.rfile.read(int(self.headers["Content-Length"]))
            with lock:
                state["now"] += 1
                state["max"] = max(state["max"], state["now"])
            time.sleep(0.3)
            with lock:
                state["now"] -= 1
                state["posts"] += 1
            self.send_response(200)
            self.send_header("Content-Length", "2")
            self.end_headers()
            self.wfile.write(b"{}")

        def log_message(self, *args):
            pass

    class Server(socketserver.ThreadingMixIn, http.server.HTTPServer):
        daemon_threads = True

    port = free_port()
    agent = agent_factory(f"http://127.0.0.1:{port}",
                          ["-p", "1", "-r", "1", "-l", "3", "--backoff-max", "1s"])
    wait_for(lambda: agent_metrics(agent)["agent_spool_batches"] >= 8, 60, "a backlog")
    srv = Server(("127.0.0.1", port), Slow)
    threading.Thread(target=srv.serve_forever, daemon=True).start()
    try:
        wait_for(lambda: state["posts"] >= 8 and agent_metrics(agent)["agent_spool_batches"] <= 1,
                 60, "the backlog to go out")
        assert agent.stop() == 0
    finally:
        srv.shutdown()
        srv.server_close()
    assert state["max"] == 3, state


def test_batch_size_seals_early(server, agent_factory, workdir):
    """A report interval of a minute, but batches of at most 100 samples go out every round."""
    agent = agent_factory(server.url, ["-p", "1", "-r", "60", "--batch-size", "100"])
    host = agent_id(workdir)
    wait_for(lambda: len(poll_counts(server, host)) >= 3, 30, "early batches")
    wait_for(lambda: agent_metrics(agent)['agent_uploaded_batches_total{output="server"}'] >= 3,
             30, "the agent to count them")
    assert agent.stop() == 0


def test_clock_skew_from_the_date_header(agent_factory, workdir):
    """A server whose clock is 10 s behind: the gauge says so and the agent warns once."""
    import email.utils
    import http.server
    import threading

    from conftest import free_port

    class Behind(http.server.BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def do_POST(self):
            self.rfile.read(int(self.headers["Content-Length"]))
            self.send_response_only(200)
            self.send_header("Date", email.utils.formatdate(time.time() - 10, usegmt=True))
            self.send_header("Content-Length", "2")
            self.end_headers()
            self.wfile.write(b"{}")

        def log_message(self, *args):
            pass

    srv = http.server.ThreadingHTTPServer(("127.0.0.1", free_port()), Behind)
    threading.Thread(target=srv.serve_forever, daemon=True).start()
    try:
        agent = agent_factory(f"http://127.0.0.1:{srv.server_port}", ["-p", "1", "-r", "1"])
        skew = wait_for(lambda: agent_metrics(agent).get("agent_time_skew_ms"), 30, "the skew")
        assert 8500 <= skew <= 11500, skew
        assert agent.stderr().count("clock differs from the server") == 1
        assert agent.stop() == 0
    finally:
        srv.shutdown()
        srv.server_close()


def test_full_disk_is_reported_and_counted(workdir):
    """The state directory on a tiny tmpfs: appends fail cleanly, are counted, and say why."""
    import shutil
    import subprocess

    from conftest import binary, free_port

    unshare = shutil.which("unshare")
    probe = subprocess.run([unshare or "unshare", "-m", "true"], capture_output=True)
    if not unshare or probe.returncode != 0:
        pytest.skip("cannot make a mount namespace here (unshare -m needs CAP_SYS_ADMIN)")
    state = workdir / "state"
    state.mkdir()
    root = busy_root(workdir / "root", 2000)
    port = free_port()
    script = (
        f"mount -t tmpfs -o size=400k ward-test {state} && exec {binary('ward-agent')}"
        f" -a http://127.0.0.1:1 --state-dir {state} -p 1 -r 1 --listen 127.0.0.1:{port}"
        f" --root {root} --network.max-interfaces 2000 --network.exclude ''"
    )
    err = open(workdir / "agent.err", "wb")
    proc = subprocess.Popen([unshare, "-m", "sh", "-c", script], stderr=err)
    try:
        def health():
            try:
                return requests.get(f"http://127.0.0.1:{port}/health", timeout=2).text
            except requests.ConnectionError:
                return ""

        text = wait_for(lambda: "No space left on device" in health() and health(), 60,
                        "the full disk in /health")
        assert '"check":"spool","level":"error"' in text
        assert proc.poll() is None, "the agent must keep running"
    finally:
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(timeout=30) == 0
        err.close()
    log = (workdir / "agent.err").read_text()
    assert log.count("cannot spool a batch") == 1, log[-2000:]
    assert "runtime error:" not in log and "Sanitizer" not in log


def test_retry_after_is_honoured(agent_factory, workdir):
    """429 with Retry-After: 3 - the agent waits at least that long before trying again."""
    import http.server
    import threading

    from conftest import free_port

    arrivals = []

    class Busy(http.server.BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def do_POST(self):
            self.rfile.read(int(self.headers["Content-Length"]))
            arrivals.append(time.monotonic())
            first = len(arrivals) == 1
            self.send_response(429 if first else 200)
            if first:
                self.send_header("Retry-After", "3")
            self.send_header("Content-Length", "2")
            self.end_headers()
            self.wfile.write(b"{}")

        def log_message(self, *args):
            pass

    srv = http.server.ThreadingHTTPServer(("127.0.0.1", free_port()), Busy)
    threading.Thread(target=srv.serve_forever, daemon=True).start()
    try:
        agent = agent_factory(f"http://127.0.0.1:{srv.server_port}",
                              ["-p", "1", "-r", "1", "--backoff-max", "1s"])
        wait_for(lambda: len(arrivals) >= 2, 30, "the retry")
        # The back-off alone is at most 1 s here; the server asked for 3.
        assert arrivals[1] - arrivals[0] >= 2.9, arrivals[:2]
        wait_for(lambda: agent_metrics(agent)["agent_spool_batches"] <= 1, 30, "the backlog to go")
        assert agent_metrics(agent)['agent_dead_letter_samples_total'] == 0  # 429 is no dead letter
        assert agent.stop() == 0
    finally:
        srv.shutdown()
        srv.server_close()
