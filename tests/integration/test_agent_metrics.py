"""The agent's local listener and --once output, checked by promtool and
against node_exporter reading the same host at the same time.

node_exporter and prometheus (for promtool) come from Debian's packages;
scripts/deps.sh installs them. Both exporters are scraped back to back; the
tolerances below are what the time between the two readings allows, and
each says why.
"""

import json
import subprocess
import time

import pytest
import requests

from conftest import Process, binary, free_port, wait_for
import promtext

NODE_EXPORTER = "/usr/bin/prometheus-node-exporter"
PROMTOOL = "/usr/bin/promtool"


def promtool_check(text):
    r = subprocess.run([PROMTOOL, "check", "metrics"], input=text, capture_output=True, text=True, timeout=60)
    # promtool prints lint findings (naming advice) and fails on format errors.
    assert r.returncode == 0, f"promtool check metrics failed:\n{r.stdout}\n{r.stderr}"
    return r.stdout + r.stderr


@pytest.fixture
def agent(workdir):
    port = free_port()
    args = [
        binary("ward-agent"),
        "-a", "http://127.0.0.1:1",  # no server: the listener works without one
        "--state-dir", str(workdir / "agent"),
        "--listen", f"127.0.0.1:{port}",
        "-p", "1",
        "--network.exclude", "docker*,veth*",
    ]
    a = Process(args, workdir, "ward-agent")
    a.url = f"http://127.0.0.1:{port}"

    def ready():
        try:
            text = requests.get(a.url + "/metrics", timeout=2).text
        except requests.ConnectionError:
            return False
        return "cpu_usage_percent" in text and text

    wait_for(ready, 30, "the agent's first full collection")
    yield a
    assert a.stop() == 0
    a.check_clean()


@pytest.fixture
def node_exporter(workdir):
    port = free_port()
    p = Process([NODE_EXPORTER, f"--web.listen-address=127.0.0.1:{port}"], workdir, "node-exporter")
    p.url = f"http://127.0.0.1:{port}"

    def ready():
        try:
            return requests.get(p.url + "/metrics", timeout=2).status_code == 200
        except requests.ConnectionError:
            return False

    wait_for(ready, 30, "node_exporter")
    yield p
    p.stop()


def test_metrics_endpoint_passes_promtool(agent):
    r = requests.get(agent.url + "/metrics", timeout=10)
    assert r.status_code == 200
    assert r.headers["Content-Type"].startswith("text/plain; version=0.0.4")
    promtool_check(r.text)
    samples, types = promtext.parse(r.text)
    assert types["cpu_seconds_total"] == "counter"
    assert types["ram_total_bytes"] == "gauge"
    assert types["agent_poll_count_total"] == "counter"
    assert types["agent_random_value"] == "gauge"
    assert promtext.value(samples, "agent_collector_up", collector="cpu") == 1.0


def test_health_and_unknown_paths(agent):
    r = requests.get(agent.url + "/health", timeout=10)
    assert r.status_code == 200
    body = r.json()
    assert body["status"] in ("ok", "degraded")
    # No server is listening, so once a report is due, uploads fail: degraded, with the reason.
    body = wait_for(
        lambda: (lambda b: b if b["status"] == "degraded" else None)(
            requests.get(agent.url + "/health", timeout=10).json()
        ),
        40,
        "the failing uploads to show in /health",
    )
    assert any(c["check"] == "upload" for c in body["reasons"])
    assert requests.get(agent.url + "/nope", timeout=10).status_code == 404
    assert requests.post(agent.url + "/metrics", data=b"x", timeout=10).status_code == 405


def test_once_prints_json_and_prom(workdir):
    r = subprocess.run([binary("ward-agent"), "--once"], capture_output=True, text=True, timeout=60)
    assert r.returncode == 0, r.stderr
    doc = json.loads(r.stdout)
    names = {(m["metric_type"], m["metric_name"]) for m in doc["metrics"]}
    assert ("cpu", "usage_percent") in names and ("ram", "total_bytes") in names
    counters = [m for m in doc["metrics"] if m.get("kind") == "counter"]
    assert counters and all(m["value"] >= 0 for m in counters)

    r = subprocess.run(
        [binary("ward-agent"), "--once", "--format", "prom"], capture_output=True, text=True, timeout=60
    )
    assert r.returncode == 0, r.stderr
    promtool_check(r.stdout)
    r = subprocess.run([binary("ward-agent"), "--once", "--format", "xml"], capture_output=True, text=True)
    assert r.returncode == 2 and "not one of: json, prom" in r.stderr


def scrape_both(agent, node_exporter):
    t0 = time.monotonic()
    ours = requests.get(agent.url + "/metrics", timeout=10).text
    theirs = requests.get(node_exporter.url + "/metrics", timeout=10).text
    elapsed = time.monotonic() - t0
    return promtext.parse(ours)[0], promtext.parse(theirs)[0], elapsed


def test_values_agree_with_node_exporter(agent, node_exporter):
    ours, theirs, elapsed = scrape_both(agent, node_exporter)
    # Our /metrics shows the last collection, up to one poll interval (1 s) old,
    # then node_exporter reads live: the readings are at most this far apart.
    window = 1.0 + elapsed + 0.1

    # Memory: MemTotal never changes; MemAvailable moves with the page cache,
    # which a busy test machine shifts by well under 5% in a second.
    assert promtext.value(ours, "ram_total_bytes") == promtext.value(theirs, "node_memory_MemTotal_bytes")
    avail = promtext.value(theirs, "node_memory_MemAvailable_bytes")
    assert abs(promtext.value(ours, "ram_available_bytes") - avail) <= 0.05 * avail

    # CPU seconds: a core accumulates at most one second per second of wall
    # time, plus one tick (10 ms) of rounding on each side.
    cores = promtext.select(theirs, "node_cpu_seconds_total")
    assert cores
    for labels, theirs_v in cores.items():
        d = dict(labels)
        ours_v = promtext.value(ours, "cpu_seconds_total", core=d["cpu"], mode=d["mode"])
        assert ours_v <= theirs_v + 0.02, (d, ours_v, theirs_v)
        assert theirs_v - ours_v <= window + 0.02, (d, ours_v, theirs_v)

    # Load averages: the kernel recomputes them every 5 s; between two
    # readings they move by a small step at most.
    for n in ("1", "5", "15"):
        assert abs(promtext.value(ours, f"cpu_load{n}") - promtext.value(theirs, f"node_load{n}")) <= 0.5

    # Network: loopback carries this very test's HTTP traffic, so counters
    # move between the readings; ours is the older reading, never ahead, and
    # behind by at most the traffic of the window (generously 50 MB).
    for labels, theirs_v in promtext.select(theirs, "node_network_receive_bytes_total").items():
        dev = dict(labels)["device"]
        ours_v = promtext.select(ours, "network_receive_bytes_total", interface=dev)
        if not ours_v:
            continue  # excluded by our defaults (docker*, veth*) or the cap
        ours_v = next(iter(ours_v.values()))
        assert 0 <= theirs_v - ours_v <= 50e6, (dev, ours_v, theirs_v)
    assert promtext.select(ours, "network_receive_bytes_total", interface="lo")

    # Disk I/O: the same, on every whole device both report.
    compared = 0
    for labels, theirs_v in promtext.select(theirs, "node_disk_read_bytes_total").items():
        dev = dict(labels)["device"]
        ours_v = promtext.select(ours, "diskio_read_bytes_total", device=dev)
        if ours_v:
            compared += 1
            assert 0 <= theirs_v - next(iter(ours_v.values())) <= 500e6, dev
    assert compared >= 1, "no disk both exporters report"

    # Filesystem sizes do not change; free space does, by what the window writes.
    compared = 0
    for labels, size in promtext.select(theirs, "node_filesystem_size_bytes").items():
        mp = dict(labels)["mountpoint"]
        ours_v = promtext.select(ours, "disk_total_bytes", mountpoint=mp)
        if ours_v:
            compared += 1
            assert next(iter(ours_v.values())) == size, mp
    assert compared >= 1, "no filesystem both exporters report"
