"""Reachability probes configured centrally, run by a real agent, seen at the server.

An admin gives an enrolled agent two TCP probes on loopback, one to a port
that listens (the server's own) and one to a port where nothing listens,
plus a label. The agent picks the document up without a restart, reports
the open target up and the closed one down, and follows a second version
that drops a probe and changes the label.
"""

import requests

from conftest import ADMIN, ENROLL_TOKEN, free_port, wait_for


def latest(server, agent_id, category):
    r = requests.get(server.url + "/api/v1/metrics",
                     params={"server_id": agent_id, "metric_type": category}, headers=ADMIN,
                     timeout=5)
    assert r.status_code == 200, r.text
    return r.json()


def up_by_target(server, agent_id):
    rows = latest(server, agent_id, "reachability")
    return {r["labels"].get("target"): r["value"] for r in rows if r["metric_name"] == "up"}


def test_probes_follow_the_configuration(server_factory, agent_factory, workdir):
    server = server_factory(secure=True)
    agent_factory(server.url, ["--enroll-token", ENROLL_TOKEN, "-r", "1",
                               "--config-interval", "1s"])
    state = workdir / "agent"
    wait_for(lambda: (state / "api-key").exists(), what="the agent to enroll")
    agent_id = (state / "agent-id").read_text().strip()

    open_target = f"127.0.0.1:{server.port}"
    closed_target = f"127.0.0.1:{free_port()}"
    doc = {
        "labels": {"site": "lab"},
        "probes": [
            {"type": "tcp", "target": open_target, "interval": "1s", "timeout": "500ms",
             "tags": {"role": "api"}},
            {"type": "tcp", "target": closed_target, "interval": "1s", "timeout": "500ms"},
        ],
    }
    r = requests.put(f"{server.url}/api/v1/hosts/{agent_id}/configuration", json=doc,
                     headers=ADMIN, timeout=5)
    assert r.status_code == 200, r.text

    wait_for(lambda: up_by_target(server, agent_id).keys() >= {open_target, closed_target},
             60, "both probes to report")
    wait_for(lambda: up_by_target(server, agent_id) == {open_target: 1, closed_target: 0}, 30,
             "the open target up and the closed one down")
    rows = latest(server, agent_id, "reachability")
    tagged = [r for r in rows if r["labels"].get("target") == open_target]
    assert all(r["labels"].get("role") == "api" for r in tagged)
    assert all(r["labels"].get("site") == "lab" for r in rows), "configured labels on samples"
    assert any(r["metric_name"] == "latency_ms" and r["labels"].get("target") == open_target
               for r in rows)

    # A new version: one probe, another label value. No restart.
    doc = {"labels": {"site": "lab2"},
           "probes": [{"type": "tcp", "target": open_target, "interval": "1s",
                       "timeout": "500ms"}]}
    r = requests.put(f"{server.url}/api/v1/hosts/{agent_id}/configuration", json=doc,
                     headers=ADMIN, timeout=5)
    assert r.status_code == 200

    def relabelled():
        rows = latest(server, agent_id, "reachability")
        return any(r["labels"].get("site") == "lab2" and r["labels"].get("target") == open_target
                   for r in rows)

    wait_for(relabelled, 60, "the new version to be applied")
