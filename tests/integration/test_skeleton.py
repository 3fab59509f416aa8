"""End to end: a real agent reports CPU and memory to a real server."""

import time

import requests

from conftest import wait_for


def mem_total_bytes():
    with open("/proc/meminfo") as f:
        for line in f:
            if line.startswith("MemTotal:"):
                return int(line.split()[1]) * 1024
    raise AssertionError("no MemTotal in /proc/meminfo")


def query(server, agent_id, **params):
    """Every stored sample of the last hour (without a range the route answers latest values)."""
    params = {"server_id": agent_id, "limit": "1000", "from": str(int(time.time() * 1000) - 3600_000), **params}
    r = requests.get(server.url + "/api/v1/metrics", params=params, timeout=10)
    assert r.status_code == 200, r.text
    assert r.headers["Content-Type"] == "application/json"
    return r.json()


def test_agent_reports_cpu_and_memory(server, agent_factory, workdir):
    agent_factory(server.url, ["-p", "1", "-r", "1"])
    agent_id = wait_for(
        lambda: (workdir / "agent" / "agent-id").exists()
        and (workdir / "agent" / "agent-id").read_text().strip(),
        what="the agent to write its id",
    )

    cpu = wait_for(
        lambda: query(server, agent_id, metric_type="cpu", metric_name="usage_percent"),
        60,
        "CPU usage samples",
    )
    for m in cpu:
        assert m["server_id"] == agent_id
        assert m["metric_type"] == "cpu"
        assert m["metric_name"] == "usage_percent"
        assert 0.0 <= m["value"] <= 100.0
        assert m["kind"] == "gauge"
    cores = {m["labels"].get("core") for m in cpu}
    assert None in cores, "no total CPU sample"
    assert "0" in cores, "no per-core CPU sample"

    ram = query(server, agent_id, metric_type="ram", metric_name="total_bytes")
    assert ram, "no memory samples"
    assert all(m["value"] == mem_total_bytes() for m in ram)
    used = query(server, agent_id, metric_type="ram", metric_name="used_bytes")
    assert used and all(0 < m["value"] < mem_total_bytes() for m in used)


def test_samples_arrive_in_order_without_duplicates(server, agent_factory, workdir):
    agent_factory(server.url, ["-p", "1", "-r", "1"])
    agent_id = wait_for(
        lambda: (workdir / "agent" / "agent-id").exists()
        and (workdir / "agent" / "agent-id").read_text().strip(),
        what="the agent to write its id",
    )
    rows = wait_for(
        lambda: (lambda r: r if len(r) >= 3 else None)(
            query(server, agent_id, metric_type="ram", metric_name="total_bytes")
        ),
        60,
        "three memory samples",
    )
    stamps = [m["timestamp"] for m in rows]
    assert stamps == sorted(stamps, reverse=True), "newest first"
    assert len(set(stamps)) == len(stamps), "no sample stored twice"


def test_agent_keeps_its_id_across_restarts(server, agent_factory, workdir):
    first = agent_factory(server.url, ["-p", "1", "-r", "1"])
    id_file = workdir / "agent" / "agent-id"
    agent_id = wait_for(lambda: id_file.exists() and id_file.read_text().strip(), what="agent id")
    assert first.stop() == 0
    before = len(query(server, agent_id, metric_type="ram", metric_name="total_bytes"))
    second = agent_factory(server.url, ["-p", "1", "-r", "1"])
    wait_for(lambda: "ward-agent started" in second.stderr(), what="the second agent to start")
    wait_for(
        lambda: len(query(server, agent_id, metric_type="ram", metric_name="total_bytes")) > before,
        60,
        "samples from the restarted agent",
    )
    assert id_file.read_text().strip() == agent_id
    assert (id_file.stat().st_mode & 0o777) == 0o600
