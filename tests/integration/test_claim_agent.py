"""The claim workflow with real binaries: ward-agent, ward-server, wardctl.

The server is closed (its default). A fresh agent's first upload gets 401,
so it registers and waits; an admin claims it with wardctl; the agent picks
its key up, sends its backlog, and keeps the key across a restart. A revoked
key sends it back to registration, and an enrollment token skips the claim.
"""

import os
import stat
import subprocess

import requests

from conftest import ADMIN, ADMIN_TOKEN, ENROLL_TOKEN, binary, wait_for


def agent_args(workdir):
    return ["-r", "1", "--backoff-max", "2s"]


def host(server, agent_id):
    r = requests.get(f"{server.url}/api/v1/hosts/{agent_id}", headers=ADMIN, timeout=5)
    return r.json() if r.status_code == 200 else None


def has_data(server, agent_id):
    r = requests.get(server.url + "/api/v1/series", params={"host": agent_id}, headers=ADMIN,
                     timeout=5)
    return r.status_code == 200 and r.json()["count"] > 0


def wardctl(server, *args):
    env = dict(os.environ, WARD_SERVER=server.url, WARD_TOKEN=ADMIN_TOKEN)
    return subprocess.run([binary("wardctl"), *args], capture_output=True, text=True, env=env,
                          timeout=30)


def test_claim_restart_and_revoke(server_factory, agent_factory, workdir):
    server = server_factory(secure=True)
    state = workdir / "agent"
    agent = agent_factory(server.url, agent_args(workdir))
    wait_for(lambda: (state / "claim-token").exists(), what="the agent to register")
    agent_id = (state / "agent-id").read_text().strip()
    wait_for(lambda: (host(server, agent_id) or {}).get("status") == "pending",
             what="a pending host")
    assert not has_data(server, agent_id)
    wait_for(lambda: "wardctl agents claim" in agent.stderr(), what="the claim instructions")
    token = (state / "claim-token").read_text().strip()
    assert token not in agent.stderr(), "the claim token must not be logged"

    done = wardctl(server, "agents", "claim", agent_id, "--claim-token-file",
                   str(state / "claim-token"), "--name", "local")
    assert done.returncode == 0, done.stderr
    wait_for(lambda: (state / "api-key").exists(), what="the agent to fetch its key")
    assert stat.S_IMODE((state / "api-key").stat().st_mode) == 0o600
    wait_for(lambda: has_data(server, agent_id), what="the backlog to arrive")
    key = (state / "api-key").read_text().strip()
    assert key not in agent.stderr() and key not in server.stderr()

    # A restart keeps the key: no second registration.
    assert agent.stop() == 0
    agent = agent_factory(server.url, agent_args(workdir))
    wait_for(lambda: "ward-agent started" in agent.stderr(), what="the agent to start")
    assert (state / "api-key").read_text().strip() == key

    # A revoked key sends the agent back to registration.
    done = wardctl(server, "agents", "revoke-key", agent_id)
    assert done.returncode == 0, done.stderr
    wait_for(lambda: not (state / "api-key").exists(), what="the agent to drop its key")
    done = wardctl(server, "agents", "claim", agent_id, token)
    assert done.returncode == 0, done.stderr
    wait_for(lambda: (state / "api-key").exists(), what="a new key")
    assert (state / "api-key").read_text().strip() != key


def test_enrollment_token_skips_the_claim(server_factory, agent_factory, workdir):
    server = server_factory(secure=True)
    agent_factory(server.url, agent_args(workdir) + ["--enroll-token", ENROLL_TOKEN])
    state = workdir / "agent"
    wait_for(lambda: (state / "api-key").exists(), what="the agent to enroll")
    agent_id = (state / "agent-id").read_text().strip()
    wait_for(lambda: has_data(server, agent_id), what="data from the enrolled agent")
    assert host(server, agent_id)["status"] == "active"


def test_shared_key_server_still_enrolls(server_factory, agent_factory, workdir):
    """With -k a signed upload needs no key, but an enrolling agent still gets one, and with
    it its configuration; a wrong signing key does not cost it its key."""
    server = server_factory(("-k", "shared"), secure=True)
    agent_factory(server.url, agent_args(workdir) + ["-k", "shared", "--enroll-token",
                                                     ENROLL_TOKEN, "--config-interval", "1s"])
    state = workdir / "agent"
    wait_for(lambda: (state / "api-key").exists(), what="the agent to enroll")
    agent_id = (state / "agent-id").read_text().strip()
    wait_for(lambda: has_data(server, agent_id), what="signed data with the key")
    r = requests.put(f"{server.url}/api/v1/hosts/{agent_id}/configuration",
                     json={"labels": {"site": "lab"}}, headers=ADMIN, timeout=5)
    assert r.status_code == 200

    def labelled():
        r = requests.get(server.url + "/api/v1/series", params={"host": agent_id},
                         headers=ADMIN, timeout=5)
        return any(s["labels"].get("site") == "lab" for s in r.json()["series"])

    wait_for(labelled, 60, "the configuration to be applied")


def test_a_refused_signature_keeps_the_key(server_factory, agent_factory, workdir):
    server = server_factory(("-k", "shared"), secure=True)
    agent = agent_factory(server.url, agent_args(workdir) + ["-k", "not-the-key",
                                                             "--enroll-token", ENROLL_TOKEN])
    state = workdir / "agent"
    wait_for(lambda: (state / "api-key").exists(), what="the agent to enroll")
    key = (state / "api-key").read_text()
    wait_for(lambda: "refused the request signature" in agent.stderr(), what="a refused signature")
    assert (state / "api-key").read_text() == key
    assert "registering" not in agent.stderr().split("refused the request signature", 1)[1]
