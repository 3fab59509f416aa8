"""Central agent configuration: documents per section and per agent, served merged.

Admins store documents with PUT; an agent reads its merged document with its
key, and a poll with If-None-Match costs a 304 until something changes.
"""

import requests

from conftest import ADMIN
from test_auth import claimed_agent


def put(server, path, doc, headers=ADMIN):
    return requests.put(server.url + path, json=doc, headers=headers, timeout=5)


def agent_get(server, agent_id, key, etag=None):
    headers = {"X-Agent-API-Key": key}
    if etag:
        headers["If-None-Match"] = etag
    return requests.get(f"{server.url}/agent/{agent_id}/configuration", headers=headers,
                        timeout=5)


def test_documents_are_merged_for_the_agent(server_factory):
    server = server_factory(secure=True)
    section = requests.post(server.url + "/api/v1/sections", json={"name": "edge"},
                            headers=ADMIN, timeout=5).json()["id"]
    agent_id, key = claimed_agent(server, "edge-1", sectionId=section)

    r = agent_get(server, agent_id, key)
    assert r.status_code == 200, r.text
    assert r.json() == {"agentId": agent_id, "version": 0, "collectors": {}, "labels": {},
                        "probes": []}
    empty_tag = r.headers["ETag"]
    assert agent_get(server, agent_id, key, empty_tag).status_code == 304

    r = put(server, f"/api/v1/sections/{section}/configuration",
            {"collectors": {"cpu": {"interval": "10s"}}, "labels": {"dc": "a", "env": "prod"},
             "probes": [{"type": "icmp", "target": "127.0.0.1"}]})
    assert r.status_code == 200, r.text
    v1 = r.json()["version"]
    r = put(server, f"/api/v1/hosts/{agent_id}/configuration",
            {"collectors": {"cpu": {"interval": "1s"}, "wifi": {"enabled": False}},
             "labels": {"dc": "b"},
             "probes": [{"type": "tcp", "target": "127.0.0.1:1", "interval": "5s",
                         "tags": {"role": "db"}}]})
    assert r.status_code == 200, r.text
    v2 = r.json()["version"]
    assert v2 > v1 > 0

    r = agent_get(server, agent_id, key, empty_tag)
    assert r.status_code == 200
    got = r.json()
    assert got["version"] == v2
    assert got["collectors"] == {"cpu": {"interval": "1s"}, "wifi": {"enabled": False}}
    assert got["labels"] == {"dc": "b", "env": "prod"}
    assert got["probes"] == [{"type": "icmp", "target": "127.0.0.1"},
                             {"type": "tcp", "target": "127.0.0.1:1", "interval": "5s",
                              "tags": {"role": "db"}}]
    tag = r.headers["ETag"]
    assert tag != empty_tag
    assert agent_get(server, agent_id, key, tag).status_code == 304

    # The admin reads each document back as stored.
    own = requests.get(f"{server.url}/api/v1/hosts/{agent_id}/configuration", headers=ADMIN,
                       timeout=5).json()
    assert own["version"] == v2 and own["labels"] == {"dc": "b"}


def test_agent_reads_only_its_own(server_factory):
    server = server_factory(secure=True)
    a, key_a = claimed_agent(server, "a")
    b, _ = claimed_agent(server, "b")
    assert agent_get(server, b, key_a).status_code == 403
    assert agent_get(server, a, "wk_aaaaaaaaaaaa_bbbbbbbbbbbbbbbbbbbbbbbbbb").status_code == 401
    r = requests.get(f"{server.url}/agent/{a}/configuration", timeout=5)
    assert r.status_code == 401
    # Writing needs an admin token; an agent key is refused.
    r = put(server, f"/api/v1/hosts/{a}/configuration", {}, headers={"X-Agent-API-Key": key_a})
    assert r.status_code == 403


def test_bad_documents_are_refused(server_factory):
    server = server_factory(secure=True)
    agent_id, _ = claimed_agent(server)
    path = f"/api/v1/hosts/{agent_id}/configuration"
    for doc, says in (
        ({"collectors": {"cpu": {"interval": "often"}}}, "collectors.cpu.interval"),
        ({"probes": [{"type": "udp", "target": "x"}]}, "probes[0].type"),
        # The agent's own rule: the default timeout (2s) exceeds a 1s interval.
        ({"probes": [{"type": "tcp", "target": "x:1", "interval": "1s"}]},
         "probes[0]: timeout: must not exceed the interval"),
        ({"probes": [{"type": "icmp", "target": "x", "tags": {"type": "y"}}]}, "not a tag name"),
        ({"unknown": 1}, "unknown"),
        ([], "expected"),
    ):
        r = put(server, path, doc)
        assert r.status_code == 400, (doc, r.text)
        assert says in r.json()["error"]
    r = put(server, path, {"probes": [{"type": "icmp", "target": f"h{i}"} for i in range(65)]})
    assert r.status_code == 413
    assert put(server, "/api/v1/hosts/not-a-uuid/configuration", {}).status_code == 400
    assert put(server, "/api/v1/sections/019c9876-5432-7fed-cba0-987654321fed/configuration",
               {}).status_code == 404


def test_other_tenants_cannot_see_or_set(server_factory):
    server = server_factory(secure=True)
    tenant = requests.post(server.url + "/api/v1/tenants", json={"name": "other"},
                           headers=ADMIN, timeout=5).json()["id"]
    token = requests.post(server.url + "/api/v1/tokens",
                          json={"name": "other-admin", "tenantId": tenant}, headers=ADMIN,
                          timeout=5).json()["token"]
    limited = {"Authorization": "Bearer " + token}
    agent_id, _ = claimed_agent(server)
    path = f"/api/v1/hosts/{agent_id}/configuration"
    assert requests.get(server.url + path, headers=limited, timeout=5).status_code == 404
    assert put(server, path, {}, headers=limited).status_code == 404


def test_wardctl_config_get_and_set(server_factory, tmp_path):
    import json
    import os
    import subprocess

    from conftest import ADMIN_TOKEN, binary

    server = server_factory(secure=True)
    agent_id, _ = claimed_agent(server)
    env = dict(os.environ, WARD_SERVER=server.url, WARD_TOKEN=ADMIN_TOKEN)

    def wardctl(*args, stdin=None):
        return subprocess.run([binary("wardctl"), *args], capture_output=True, text=True,
                              env=env, input=stdin, timeout=30)

    doc = tmp_path / "agent.json"
    doc.write_text(json.dumps({"labels": {"env": "lab"}}))
    done = wardctl("config", "set", "agent", agent_id, str(doc))
    assert done.returncode == 0, done.stderr
    assert "version" in done.stdout
    done = wardctl("config", "get", "agent", agent_id)
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout)["labels"] == {"env": "lab"}

    done = wardctl("config", "set", "agent", agent_id, "-",
                   stdin='{"collectors": {"cpu": {"interval": "never"}}}')
    assert done.returncode == 1
    assert "collectors.cpu.interval" in done.stderr
    done = wardctl("config", "get", "host", agent_id)
    assert done.returncode == 2
    done = wardctl("config", "set", "agent", agent_id, str(tmp_path / "missing.json"))
    assert done.returncode == 1 and "cannot open" in done.stderr


def test_documents_that_cannot_be_merged_are_refused(server_factory):
    server = server_factory(secure=True)
    section = requests.post(server.url + "/api/v1/sections", json={"name": "wide"},
                            headers=ADMIN, timeout=5).json()["id"]
    agent_id, key = claimed_agent(server, sectionId=section)
    r = put(server, f"/api/v1/sections/{section}/configuration",
            {"labels": {f"s{i}": "v" for i in range(6)}})
    assert r.status_code == 200
    r = put(server, f"/api/v1/hosts/{agent_id}/configuration",
            {"labels": {f"a{i}": "v" for i in range(6)}})
    assert r.status_code == 409, r.text
    # Within the bound together it is stored, and a section that grows past it later
    # makes the agent's read a clear 409, not a storage error.
    assert put(server, f"/api/v1/hosts/{agent_id}/configuration",
               {"labels": {f"a{i}": "v" for i in range(4)}}).status_code == 200
    assert put(server, f"/api/v1/sections/{section}/configuration",
               {"labels": {f"s{i}": "v" for i in range(10)}}).status_code == 200
    r = agent_get(server, agent_id, key)
    assert r.status_code == 409 and "labels" in r.json()["error"]


def test_an_unseen_agent_gets_the_default_section(server):
    """On an open server an agent may ask before its first upload made its host."""
    import uuid

    sections = requests.get(server.url + "/api/v1/sections", headers=ADMIN, timeout=5).json()
    default = sections["sections"][0]["id"]
    assert put(server, f"/api/v1/sections/{default}/configuration",
               {"labels": {"site": "main"}}).status_code == 200
    r = requests.get(f"{server.url}/agent/{uuid.uuid4()}/configuration", timeout=5)
    assert r.status_code == 200, r.text
    assert r.json()["labels"] == {"site": "main"}


def test_merged_documents_stay_within_what_agents_take(server_factory):
    """Two documents within 64 KiB each can merge into more than an agent accepts."""
    server = server_factory(secure=True)
    section = requests.post(server.url + "/api/v1/sections", json={"name": "big"},
                            headers=ADMIN, timeout=5).json()["id"]
    agent_id, key = claimed_agent(server, sectionId=section)

    def probes(n, prefix):
        tags = {("t%d" % i) + "x" * 60: "v" * 127 for i in range(4)}
        return [{"type": "tcp", "target": f"{prefix}{i}-" + "h" * 240 + ":1", "tags": tags}
                for i in range(n)]

    r = put(server, f"/api/v1/sections/{section}/configuration", {"probes": probes(40, "s")})
    assert r.status_code == 200, r.text
    r = put(server, f"/api/v1/hosts/{agent_id}/configuration", {"probes": probes(24, "a")})
    assert r.status_code == 409, r.text
    assert "bytes" in r.json()["error"]
    assert agent_get(server, agent_id, key).status_code == 200
