"""Registration, claim, credentials and tenants against a closed ward-server.

The server runs as it does by default: every agent route needs an agent
key and every admin route an admin token. Agents are played by requests
here; test_claim_agent.py runs the real agent through the same flow.
"""

import gzip
import hashlib
import json
import secrets
import time
import uuid

import pytest
import requests

from conftest import ADMIN, ADMIN_TOKEN, ENROLL_TOKEN


def uuid7():
    ms = int(time.time() * 1000)
    rand = secrets.token_bytes(10)
    b = ms.to_bytes(6, "big") + bytes([0x70 | (rand[0] & 0x0F), rand[1]]) + \
        bytes([0x80 | (rand[2] & 0x3F)]) + rand[3:10]
    return str(uuid.UUID(bytes=b))


def register(server, agent_id, token, hostname="web-1", headers=None):
    body = {
        "agentId": agent_id,
        "claimTokenHash": hashlib.sha256(token.encode()).hexdigest(),
        "hostname": hostname,
        "agentVersion": "1.0.0",
    }
    return requests.post(server.url + "/agent/register", json=body, headers=headers or {},
                         timeout=5)


def claim(server, agent_id, token, headers=ADMIN, **extra):
    body = {"agentId": agent_id, "claimToken": token, **extra}
    return requests.post(server.url + "/agents/claim", json=body, headers=headers, timeout=5)


def poll(server, agent_id):
    r = requests.get(f"{server.url}/agents/{agent_id}/claim-status", timeout=5)
    assert r.status_code == 200, r.text
    return r.json()


def ingest(server, server_id, key=None, value=1.0):
    body = {
        "server_id": server_id,
        "metrics": [{"metric_type": "cpu", "metric_name": "usage_percent", "value": value,
                     "labels": {}, "timestamp": time.strftime("%Y-%m-%dT%H:%M:%SZ",
                                                              time.gmtime())}],
    }
    headers = {"Content-Type": "application/json", "Content-Encoding": "gzip"}
    if key:
        headers["X-Agent-API-Key"] = key
    return requests.post(server.url + "/api/v1/ingest", data=gzip.compress(json.dumps(body).encode()),
                         headers=headers, timeout=5)


def claimed_agent(server, hostname="web-1", **claim_args):
    """Registers and claims an agent; returns (id, key)."""
    agent_id, token = uuid7(), secrets.token_urlsafe(20)
    assert register(server, agent_id, token, hostname).status_code == 200
    r = claim(server, agent_id, token, **claim_args)
    assert r.status_code == 200, r.text
    got = poll(server, agent_id)
    assert got["status"] == "claimed"
    return agent_id, got["apiKey"]


@pytest.fixture
def closed(server_factory):
    return server_factory(secure=True)


def test_claim_flow(closed):
    agent_id, token = uuid7(), secrets.token_urlsafe(20)
    r = register(closed, agent_id, token)
    assert r.status_code == 200, r.text
    got = r.json()
    assert got["status"] == "pending_claim"
    assert got["pollUrl"] == f"/agents/{agent_id}/claim-status"
    assert "claimUrl" in got
    assert poll(closed, agent_id) == {"status": "pending"}

    # A pending agent cannot send data.
    assert ingest(closed, agent_id).status_code == 401

    assert claim(closed, agent_id, "wrong-token").status_code == 403
    r = claim(closed, agent_id, token, name="Web 1")
    assert r.status_code == 200, r.text
    assert r.json()["status"] == "claimed"
    assert claim(closed, agent_id, token).status_code == 409

    first = poll(closed, agent_id)
    assert first["status"] == "claimed"
    key = first["apiKey"]
    assert key.startswith("wk_")
    assert poll(closed, agent_id) == {"status": "pending"}, "the key is delivered once"

    assert ingest(closed, agent_id, key).status_code == 200
    hosts = requests.get(closed.url + "/api/v1/hosts", headers=ADMIN, timeout=5).json()["hosts"]
    mine = [h for h in hosts if h["id"] == agent_id]
    assert mine and mine[0]["status"] == "active" and mine[0]["name"] == "Web 1"
    assert mine[0]["liveness"] == "online"


def test_registration_is_idempotent_and_guarded(closed):
    agent_id, token = uuid7(), secrets.token_urlsafe(20)
    assert register(closed, agent_id, token).status_code == 200
    assert register(closed, agent_id, token).status_code == 200
    # Someone else cannot take the id over with another claim token.
    assert register(closed, agent_id, "another").status_code == 409
    for bad in ({}, {"agentId": "x", "hostname": "h", "claimTokenHash": "0" * 64},
                {"agentId": agent_id, "hostname": "h", "claimTokenHash": "xyz"}):
        r = requests.post(closed.url + "/agent/register", json=bad, timeout=5)
        assert r.status_code == 400, (bad, r.text)
    r = requests.post(closed.url + "/agent/register", data="{not json", timeout=5)
    assert r.status_code == 400
    assert requests.get(f"{closed.url}/agents/{uuid7()}/claim-status",
                        timeout=5).status_code == 404


def test_claim_attempts_are_limited(closed):
    agent_id, token = uuid7(), secrets.token_urlsafe(20)
    assert register(closed, agent_id, token).status_code == 200
    codes = [claim(closed, agent_id, f"guess-{i}").status_code for i in range(12)]
    assert codes[:10] == [403] * 10
    assert codes[10:] == [429, 429]
    r = claim(closed, agent_id, token)
    assert r.status_code == 429 and "Retry-After" in r.headers


def test_enrollment_token(closed):
    agent_id, token = uuid7(), secrets.token_urlsafe(20)
    r = register(closed, agent_id, token, headers={"X-Ward-Enroll-Token": "wrong"})
    assert r.status_code == 403
    r = register(closed, agent_id, token, headers={"X-Ward-Enroll-Token": ENROLL_TOKEN})
    assert r.status_code == 200, r.text
    got = r.json()
    assert got["status"] == "claimed" and got["apiKey"].startswith("wk_")
    assert ingest(closed, agent_id, got["apiKey"]).status_code == 200


def test_keys_are_bound_to_their_agent(closed):
    a, key_a = claimed_agent(closed, "a")
    b, _ = claimed_agent(closed, "b")
    assert ingest(closed, b, key_a).status_code == 403
    assert ingest(closed, a, key_a).status_code == 200
    assert ingest(closed, a, "wk_aaaaaaaaaaaa_bbbbbbbbbbbbbbbbbbbbbbbbbb").status_code == 401
    assert ingest(closed, a, "not a key").status_code == 401
    # An agent key opens no admin or read route.
    h = {"X-Agent-API-Key": key_a}
    assert requests.get(closed.url + "/api/v1/hosts", headers=h, timeout=5).status_code == 403
    assert requests.post(closed.url + "/api/v1/tokens", json={"name": "x"}, headers=h,
                         timeout=5).status_code == 403


def test_rotate_and_revoke(closed):
    agent_id, key = claimed_agent(closed)
    r = requests.post(f"{closed.url}/api/v1/hosts/{agent_id}/rotate-key", headers=ADMIN,
                      timeout=5)
    assert r.status_code == 200, r.text
    assert ingest(closed, agent_id, key).status_code == 401, "the old key is revoked"
    new = poll(closed, agent_id)
    assert new["status"] == "claimed" and new["apiKey"] != key
    assert ingest(closed, agent_id, new["apiKey"]).status_code == 200

    r = requests.post(f"{closed.url}/api/v1/hosts/{agent_id}/revoke-key", headers=ADMIN,
                      timeout=5)
    assert r.status_code == 200
    assert ingest(closed, agent_id, new["apiKey"]).status_code == 401
    host = requests.get(f"{closed.url}/api/v1/hosts/{agent_id}", headers=ADMIN, timeout=5).json()
    assert host["status"] == "revoked"


def test_delete_keeps_data_unless_purged(closed):
    agent_id, key = claimed_agent(closed)
    assert ingest(closed, agent_id, key).status_code == 200
    url = f"{closed.url}/api/v1/hosts/{agent_id}"
    assert requests.delete(url, headers=ADMIN, timeout=5).status_code == 200
    assert ingest(closed, agent_id, key).status_code == 401
    series = requests.get(closed.url + "/api/v1/series", params={"host": agent_id},
                          headers=ADMIN, timeout=5).json()
    assert series["count"] == 1, "deregistering keeps the data"
    assert requests.delete(url + "?purge=true", headers=ADMIN, timeout=5).status_code == 200
    assert requests.get(url, headers=ADMIN, timeout=5).status_code == 404
    series = requests.get(closed.url + "/api/v1/series", params={"host": agent_id},
                          headers=ADMIN, timeout=5).json()
    assert series["count"] == 0


def test_tenants_are_isolated(closed):
    def post(path, body, headers=ADMIN):
        r = requests.post(closed.url + path, json=body, headers=headers, timeout=5)
        assert r.status_code == 201, r.text
        return r.json()

    tenants = {}
    for name in ("acme", "globex"):
        t = post("/api/v1/tenants", {"name": name})
        s = post("/api/v1/sections", {"name": "prod", "tenantId": t["id"]})
        tok = post("/api/v1/tokens", {"name": f"{name}-admin", "tenantId": t["id"]})
        agent_id, key = claimed_agent(closed, f"{name}-web", sectionId=s["id"])
        assert ingest(closed, agent_id, key).status_code == 200
        tenants[name] = {"token": {"Authorization": "Bearer " + tok["token"]},
                         "host": agent_id, "section": s["id"]}

    acme, globex = tenants["acme"], tenants["globex"]
    hosts = requests.get(closed.url + "/api/v1/hosts", headers=acme["token"], timeout=5).json()
    assert [h["id"] for h in hosts["hosts"]] == [acme["host"]]
    servers = requests.get(closed.url + "/api/v1/servers", headers=acme["token"], timeout=5)
    assert [h["id"] for h in servers.json()] == [acme["host"]]
    assert requests.get(f"{closed.url}/api/v1/hosts/{globex['host']}", headers=acme["token"],
                        timeout=5).status_code == 404
    r = requests.get(closed.url + "/api/v1/metrics", params={"server_id": globex["host"]},
                     headers=acme["token"], timeout=5)
    assert r.status_code == 404
    series = requests.get(closed.url + "/api/v1/series", headers=acme["token"], timeout=5).json()
    assert {s["host_id"] for s in series["series"]} == {acme["host"]}
    q = requests.get(closed.url + "/api/v1/query", params={"name": "usage_percent"},
                     headers=acme["token"], timeout=5).json()
    assert {s["host_id"] for s in q["series"]} == {acme["host"]}
    # A tenant's token cannot manage tokens or tenants, nor claim into another tenant.
    assert requests.get(closed.url + "/api/v1/tokens", headers=acme["token"],
                        timeout=5).status_code == 403
    sections = requests.get(closed.url + "/api/v1/sections", headers=acme["token"],
                            timeout=5).json()["sections"]
    assert [s["id"] for s in sections] == [acme["section"]]
    agent_id, token = uuid7(), secrets.token_urlsafe(20)
    assert register(closed, agent_id, token).status_code == 200
    assert claim(closed, agent_id, token, headers=acme["token"],
                 sectionId=globex["section"]).status_code == 404
    assert claim(closed, agent_id, token, headers=acme["token"],
                 sectionId=acme["section"]).status_code == 200


def test_admin_tokens(closed):
    assert requests.get(closed.url + "/api/v1/hosts", timeout=5).status_code == 401
    bad = {"Authorization": "Bearer " + ADMIN_TOKEN + "x"}
    assert requests.get(closed.url + "/api/v1/hosts", headers=bad, timeout=5).status_code == 401
    r = requests.post(closed.url + "/api/v1/tokens", json={"name": "ops"}, headers=ADMIN,
                      timeout=5)
    assert r.status_code == 201
    made = r.json()
    ops = {"Authorization": "Bearer " + made["token"]}
    assert requests.get(closed.url + "/api/v1/hosts", headers=ops, timeout=5).status_code == 200
    listed = requests.get(closed.url + "/api/v1/tokens", headers=ADMIN, timeout=5).json()
    assert made["id"] in [t["id"] for t in listed["tokens"]]
    assert all("token" not in t and "hash" not in t for t in listed["tokens"])
    r = requests.delete(f"{closed.url}/api/v1/tokens/{made['id']}", headers=ADMIN, timeout=5)
    assert r.status_code == 200
    assert requests.get(closed.url + "/api/v1/hosts", headers=ops, timeout=5).status_code == 401


def test_admin_registration_is_active_with_a_key(closed):
    body = {"hostname": "db-1", "os": "Debian 12"}
    assert requests.post(closed.url + "/api/v1/servers", json=body,
                         timeout=5).status_code == 401
    r = requests.post(closed.url + "/api/v1/servers", json=body, headers=ADMIN, timeout=5)
    assert r.status_code == 201, r.text
    got = r.json()
    assert got["status"] == "active" and got["api_key"].startswith("wk_")
    assert ingest(closed, got["id"], got["api_key"]).status_code == 200


def test_secrets_never_logged(closed):
    agent_id, token = uuid7(), secrets.token_urlsafe(20)
    register(closed, agent_id, token, headers={"X-Ward-Enroll-Token": "wrong-enroll"})
    register(closed, agent_id, token)
    claim(closed, agent_id, token)
    key = poll(closed, agent_id)["apiKey"]
    ingest(closed, agent_id, key)
    made = requests.post(closed.url + "/api/v1/tokens", json={"name": "t"}, headers=ADMIN,
                         timeout=5).json()["token"]
    requests.get(closed.url + "/api/v1/hosts", headers={"Authorization": "Bearer " + made},
                 timeout=5)
    closed.stop()
    log = closed.stderr()
    for secret in (token, key, made, ADMIN_TOKEN, ENROLL_TOKEN, "wrong-enroll",
                   hashlib.sha256(token.encode()).hexdigest()):
        assert secret not in log, "a secret reached the log"


def test_shared_key_signs_only_routes_that_check_it(server_factory):
    """With -k, a signed request counts as an agent's only where the signature is checked."""
    s = server_factory(("-k", "shared-secret"), secure=True)
    r = requests.post(s.url + "/api/v1/metrics", json=[], timeout=5)
    assert r.status_code == 401, "spectra envelopes carry no signature: a key is needed"
    assert ingest(s, uuid7()).status_code == 401, "an unsigned batch is refused"
    r = requests.post(s.url + "/update/gauge/Alloc/1.5", timeout=5)
    assert r.status_code == 400 and "HashSHA256" in r.text, "golectra checks its hash"


def test_public_routes_ignore_credentials(closed):
    bad = {"Authorization": "Bearer nonsense-token-here"}
    assert requests.get(closed.url + "/healthz", headers=bad, timeout=5).status_code == 200


def test_enrollment_adopts_a_host_made_without_a_claim(closed):
    """A host made by an admin or by open ingest has no claim token; only trust adopts it."""
    r = requests.post(closed.url + "/api/v1/servers", json={"hostname": "legacy"},
                      headers=ADMIN, timeout=5)
    host = r.json()["id"]
    token = secrets.token_urlsafe(20)
    assert register(closed, host, token).status_code == 409
    r = register(closed, host, token, headers={"X-Ward-Enroll-Token": ENROLL_TOKEN})
    assert r.status_code == 200, r.text
    assert r.json()["status"] == "claimed"
    assert ingest(closed, host, r.json()["apiKey"]).status_code == 200


def test_an_admins_decision_stands(closed):
    """Revoked or deleted, a host waits for a claim; an enrollment token does not undo that,
    and a deleted host's id cannot be registered under another claim token."""
    agent_id, token = uuid7(), secrets.token_urlsafe(20)
    enroll = {"X-Ward-Enroll-Token": ENROLL_TOKEN}
    key = register(closed, agent_id, token, headers=enroll).json()["apiKey"]
    r = requests.post(f"{closed.url}/api/v1/hosts/{agent_id}/revoke-key", headers=ADMIN,
                      timeout=5)
    assert r.status_code == 200
    r = register(closed, agent_id, token, headers=enroll)
    assert r.status_code == 200 and r.json()["status"] == "pending_claim", r.text
    assert ingest(closed, agent_id, key).status_code == 401

    assert requests.delete(f"{closed.url}/api/v1/hosts/{agent_id}", headers=ADMIN,
                           timeout=5).status_code == 200
    assert register(closed, agent_id, "someone-else").status_code == 409
    r = register(closed, agent_id, token, headers=enroll)
    assert r.json()["status"] == "pending_claim" and r.json()["hostStatus"] == "revoked"
    assert claim(closed, agent_id, token).status_code == 200
    assert poll(closed, agent_id)["status"] == "claimed"


def test_two_claims_one_wins(closed):
    import concurrent.futures

    for _ in range(5):
        agent_id, token = uuid7(), secrets.token_urlsafe(20)
        assert register(closed, agent_id, token).status_code == 200
        with concurrent.futures.ThreadPoolExecutor(2) as pool:
            codes = sorted(pool.map(lambda _: claim(closed, agent_id, token).status_code, (1, 2)))
        assert codes == [200, 409], codes


def test_golectra_refuses_agent_keys(closed):
    agent_id, key = claimed_agent(closed)
    r = requests.post(closed.url + "/update/gauge/Alloc/1.5", headers={"X-Agent-API-Key": key},
                      timeout=5)
    assert r.status_code == 403
