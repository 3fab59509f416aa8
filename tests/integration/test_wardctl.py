"""wardctl's admin commands against a closed ward-server.

Agents are played by requests, as in test_auth.py; every admin action goes
through the wardctl binary, whose output, stderr and exit status are checked.
The admin token reaches wardctl through WARD_TOKEN unless a test says
otherwise, and no test may find a secret in wardctl's output where it does
not belong.
"""

import hashlib
import json
import os
import secrets
import subprocess
import uuid

import pytest
import requests

from conftest import ADMIN_TOKEN, SANITIZER_MARKS, binary, enroll_agent, free_port

COMMANDS = ["health", "query", "agents list", "agents show", "agents claim", "agents delete",
            "agents rotate-key", "agents revoke-key", "tokens list", "tokens create",
            "tokens revoke", "tenants list", "tenants create", "sections list", "sections create",
            "config get", "config set"]


def wardctl(url, *args, token=ADMIN_TOKEN, stdin=None):
    """Runs wardctl with WARD_SERVER=url and WARD_TOKEN=token (None: unset)."""
    env = {k: v for k, v in os.environ.items()
           if k not in ("WARD_SERVER", "WARD_TOKEN", "WARD_CONFIG", "WARD_TIMEOUT")}
    env["WARD_SERVER"] = url
    if token is not None:
        env["WARD_TOKEN"] = token
    r = subprocess.run([binary("wardctl"), *args], capture_output=True, text=True, timeout=30,
                       env=env, input=stdin)
    for mark in SANITIZER_MARKS:
        assert mark not in r.stderr, r.stderr
    if token:
        assert token not in r.stdout + r.stderr, "wardctl printed the admin token"
    return r


def ok(r):
    assert r.returncode == 0, f"exit {r.returncode}\nstdout: {r.stdout}\nstderr: {r.stderr}"
    return r.stdout


def register(server, token, hostname="web-1"):
    """Registers a pending agent that proves itself with token; returns its id."""
    agent_id = str(uuid.uuid4())
    body = {"agentId": agent_id, "hostname": hostname, "agentVersion": "1.0.0",
            "claimTokenHash": hashlib.sha256(token.encode()).hexdigest()}
    r = requests.post(server.url + "/agent/register", json=body, timeout=5)
    assert r.status_code == 200, r.text
    assert r.json()["status"] == "pending_claim"
    return agent_id


def poll(server, agent_id):
    r = requests.get(f"{server.url}/agents/{agent_id}/claim-status", timeout=5)
    assert r.status_code == 200, r.text
    return r.json()


def fields(stdout):
    """Parses the "key: value" lines of agents show."""
    return dict(line.split(": ", 1) for line in stdout.splitlines())


def table(stdout):
    """Splits a table into its heading and rows of cells (cells hold no double spaces)."""
    lines = stdout.splitlines()
    split = [[c.strip() for c in line.split("  ") if c.strip()] for line in lines]
    return split[0], split[1:]


@pytest.fixture
def closed(server_factory):
    return server_factory(secure=True)


def test_agents_list_and_show(closed):
    agent_id, _ = enroll_agent(closed, "web-1")
    other, _ = enroll_agent(closed, "db-1")
    head, rows = table(ok(wardctl(closed.url, "agents", "list")))
    assert head == ["ID", "HOSTNAME", "NAME", "STATUS", "LIVENESS", "LAST SEEN", "SECTION"]
    by_id = {row[0]: row for row in rows}
    assert set(by_id) == {agent_id, other}
    assert by_id[agent_id][1] == "web-1" and by_id[agent_id][2] == "-"
    assert by_id[agent_id][3] == "active" and len(by_id[agent_id]) == 7

    shown = fields(ok(wardctl(closed.url, "agents", "show", agent_id)))
    assert shown["id"] == agent_id and shown["hostname"] == "web-1"
    assert shown["status"] == "active" and shown["name"] == "-"

    # --json, before or after the command, prints the server's JSON.
    listed = json.loads(ok(wardctl(closed.url, "--json", "agents", "list")))
    assert {h["id"] for h in listed["hosts"]} == {agent_id, other}
    host = json.loads(ok(wardctl(closed.url, "agents", "show", agent_id, "--json")))
    assert host["id"] == agent_id and host["hostname"] == "web-1"

    r = wardctl(closed.url, "agents", "show", str(uuid.uuid4()))
    assert r.returncode == 1 and "404" in r.stderr and "no host" in r.stderr
    # An id stays in its path segment: curl does not resolve "..", so no other route answers.
    r = wardctl(closed.url, "agents", "show", "../tokens")
    assert r.returncode == 1 and r.stdout == "" and "server answered 4" in r.stderr


def test_claim_flow(closed):
    claim_token = "t" + secrets.token_urlsafe(20)  # never read as an option
    agent_id = register(closed, claim_token)
    assert poll(closed, agent_id) == {"status": "pending"}

    r = wardctl(closed.url, "agents", "claim", agent_id, "wrong-token")
    assert r.returncode == 1
    assert "not allowed (403): wrong claim token" in r.stderr

    r = wardctl(closed.url, "agents", "claim", agent_id, claim_token, "--name", "Web 1")
    out = ok(r)
    assert claim_token not in r.stdout + r.stderr, "wardctl echoed the claim token"
    assert f"claimed agent {agent_id}" in out and '"Web 1"' in out
    got = poll(closed, agent_id)
    assert got["status"] == "claimed" and got["apiKey"].startswith("wk_")

    shown = fields(ok(wardctl(closed.url, "agents", "show", agent_id)))
    assert shown["status"] == "active" and shown["name"] == "Web 1"

    r = wardctl(closed.url, "agents", "claim", agent_id, claim_token)
    assert r.returncode == 1 and "server answered 409" in r.stderr and "claimed already" in r.stderr

    # A claim token may start with '-'; it is an argument, not an option.
    dashed = "-x" + secrets.token_urlsafe(20)
    second = register(closed, dashed, "web-2")
    r = wardctl(closed.url, "agents", "claim", second, dashed)
    ok(r)
    assert dashed not in r.stdout + r.stderr
    assert poll(closed, second)["status"] == "claimed"

    # One that starts with '--' reads as an option unless a lone '--' comes first.
    double = "--" + secrets.token_urlsafe(20)
    third = register(closed, double, "web-3")
    r = wardctl(closed.url, "agents", "claim", third, double)
    assert r.returncode == 2 and "after a lone '--'" in r.stderr and double not in r.stderr
    r = wardctl(closed.url, "agents", "claim", third, "--", double)
    ok(r)
    assert poll(closed, third)["status"] == "claimed"


def test_claim_with_token_file(closed, tmp_path):
    section = json.loads(ok(wardctl(closed.url, "--json", "sections", "create", "prod")))
    claim_token = secrets.token_urlsafe(20)
    agent_id = register(closed, claim_token)
    path = tmp_path / "claim-token"
    path.write_text(claim_token + "\n")  # as the agent writes it

    r = wardctl(closed.url, "agents", "claim", agent_id, "--claim-token-file", str(path),
                "--section", section["id"])
    ok(r)
    assert claim_token not in r.stdout + r.stderr
    assert section["id"] in r.stdout
    assert poll(closed, agent_id)["status"] == "claimed"
    shown = fields(ok(wardctl(closed.url, "agents", "show", agent_id)))
    assert shown["section_id"] == section["id"]

    # The token may come on stdin too.
    second_token = secrets.token_urlsafe(20)
    second = register(closed, second_token, "web-2")
    r = wardctl(closed.url, "agents", "claim", second, "--claim-token-file=-",
                stdin=second_token + "\n")
    ok(r)
    assert second_token not in r.stdout + r.stderr
    assert poll(closed, second)["status"] == "claimed"

    # One source of the token, not two, not none.
    r = wardctl(closed.url, "agents", "claim", agent_id, "tok", "--claim-token-file", str(path))
    assert r.returncode == 2 and "not both" in r.stderr and claim_token not in r.stderr
    r = wardctl(closed.url, "agents", "claim", agent_id)
    assert r.returncode == 2 and "usage:" in r.stderr
    r = wardctl(closed.url, "agents", "claim", agent_id, "--claim-token-file",
                str(tmp_path / "missing"))
    assert r.returncode == 1 and "cannot read the claim token" in r.stderr
    empty = tmp_path / "empty"
    empty.write_text("\n")
    r = wardctl(closed.url, "agents", "claim", agent_id, "--claim-token-file", str(empty))
    assert r.returncode == 1 and "empty" in r.stderr


def test_rotate_key(closed):
    agent_id, key = enroll_agent(closed)
    out = ok(wardctl(closed.url, "agents", "rotate-key", agent_id))
    assert "rotated" in out and agent_id in out
    got = poll(closed, agent_id)
    assert got["status"] == "claimed" and got["apiKey"] != key
    assert json.loads(ok(wardctl(closed.url, "--json", "agents", "rotate-key", agent_id)))[
        "status"] == "rotated"


def test_revoke_key(closed):
    agent_id, _ = enroll_agent(closed)
    out = ok(wardctl(closed.url, "agents", "revoke-key", agent_id))
    assert "revoked" in out
    assert fields(ok(wardctl(closed.url, "agents", "show", agent_id)))["status"] == "revoked"
    # A pending host has no key to rotate: the server's reason is shown.
    r = wardctl(closed.url, "agents", "rotate-key", agent_id)
    assert r.returncode == 1
    assert "server answered 409" in r.stderr and "only an active host has a key" in r.stderr


def test_delete_and_purge(closed):
    agent_id, _ = enroll_agent(closed)
    out = ok(wardctl(closed.url, "agents", "delete", agent_id))
    assert "deregistered" in out
    assert fields(ok(wardctl(closed.url, "agents", "show", agent_id)))["status"] == "deregistered"
    out = ok(wardctl(closed.url, "agents", "delete", agent_id, "--purge"))
    assert "purged" in out
    r = wardctl(closed.url, "agents", "show", agent_id)
    assert r.returncode == 1 and "404" in r.stderr

    other, _ = enroll_agent(closed, "db-1")
    got = json.loads(ok(wardctl(closed.url, "agents", "delete", "--purge", other, "--json")))
    assert got == {"id": other, "status": "purged"}
    r = wardctl(closed.url, "agents", "delete", other, "--purge=yes")
    assert r.returncode == 2 and "takes no value" in r.stderr


def test_tokens_create_list_revoke(closed):
    out = ok(wardctl(closed.url, "tokens", "create", "ops"))
    assert "shown only once" in out
    made = [line.strip() for line in out.splitlines() if line.strip().startswith("wt_")]
    assert len(made) == 1, out
    token = made[0]
    assert out.count(token) == 1, "the token is printed once"

    # The new token works; the listing knows it but never shows it.
    ok(wardctl(closed.url, "agents", "list", token=token))
    listed = ok(wardctl(closed.url, "tokens", "list"))
    head, rows = table(listed)
    assert head == ["ID", "NAME", "TENANT", "CREATED", "REVOKED"]
    ops = [row for row in rows if row[1] == "ops"]
    assert len(ops) == 1 and ops[0][3] != "-" and ops[0][4] == "-"
    assert token not in listed
    token_id = ops[0][0]

    out = ok(wardctl(closed.url, "tokens", "revoke", token_id))
    assert "revoked" in out
    r = wardctl(closed.url, "agents", "list", token=token)
    assert r.returncode == 1
    assert ("the server refused the token (401): invalid or revoked credential;"
            " pass --token or set WARD_TOKEN") in r.stderr
    r = wardctl(closed.url, "tokens", "revoke", token_id)
    assert r.returncode == 1 and "404" in r.stderr

    # With --json the answer is the server's; the warning goes to stderr.
    r = wardctl(closed.url, "--json", "tokens", "create", "ci")
    got = json.loads(ok(r))
    assert got["name"] == "ci" and got["token"].startswith("wt_")
    assert "shown only once" in r.stderr
    tokens = json.loads(ok(wardctl(closed.url, "tokens", "list", "--json")))["tokens"]
    assert got["id"] in [t["id"] for t in tokens]


def test_tenants_and_sections(closed):
    out = ok(wardctl(closed.url, "tenants", "create", "acme"))
    assert 'created tenant "acme" with id' in out
    globex = json.loads(ok(wardctl(closed.url, "--json", "tenants", "create", "globex")))
    head, rows = table(ok(wardctl(closed.url, "tenants", "list")))
    assert head == ["ID", "NAME", "CREATED"]
    assert {"acme", "globex"} <= {row[1] for row in rows}
    assert [row[0] for row in rows if row[1] == "globex"] == [globex["id"]]

    out = ok(wardctl(closed.url, "sections", "create", "prod", "--tenant", globex["id"]))
    assert 'created section "prod"' in out and globex["id"] in out
    head, rows = table(ok(wardctl(closed.url, "sections", "list")))
    assert head == ["ID", "NAME", "TENANT", "CREATED"]
    assert [row[2] for row in rows if row[1] == "prod"] == [globex["id"]]
    sections = json.loads(ok(wardctl(closed.url, "sections", "list", "--json")))["sections"]
    assert any(s["name"] == "prod" and s["tenant_id"] == globex["id"] for s in sections)

    r = wardctl(closed.url, "tenants", "create", "acme")
    assert r.returncode == 1 and "server answered 409" in r.stderr and "exists already" in r.stderr


def test_missing_or_wrong_token(closed):
    for token in (None, "", ADMIN_TOKEN + "x"):
        r = wardctl(closed.url, "agents", "list", token=token)
        assert r.returncode == 1, r.stderr
        assert "the server refused the token (401): " in r.stderr
        assert "pass --token or set WARD_TOKEN" in r.stderr
    # The flag works as well as the environment.
    out = ok(wardctl(closed.url, "--token", ADMIN_TOKEN, "tokens", "list", token=None))
    assert ADMIN_TOKEN not in out
    r = wardctl(closed.url, "agents", "list", token="has space")
    assert r.returncode == 1 and "spaces or control characters" in r.stderr


def test_tenant_token_is_not_allowed_to_manage_tokens(closed):
    tenant = json.loads(ok(wardctl(closed.url, "--json", "tenants", "create", "acme")))
    made = json.loads(ok(wardctl(closed.url, "--json", "tokens", "create", "acme-admin",
                                 "--tenant", tenant["id"])))
    assert made["tenant_id"] == tenant["id"]
    r = wardctl(closed.url, "tokens", "list", token=made["token"])
    assert r.returncode == 1
    assert "not allowed (403): this token is limited to one tenant" in r.stderr
    # It still sees its own tenant's hosts (none yet).
    _, rows = table(ok(wardctl(closed.url, "agents", "list", token=made["token"])))
    assert rows == []


def test_server_not_running():
    url = f"http://127.0.0.1:{free_port()}"
    for args in (["agents", "list"], ["health"], ["tokens", "create", "x"]):
        r = wardctl(url, *args)
        assert r.returncode == 1
        assert f"cannot reach the server at {url}: " in r.stderr


def test_bad_usage():
    url = f"http://127.0.0.1:{free_port()}"
    for args in ([], ["frob"], ["agents"], ["agents", "frob"], ["agents", "show"],
                 ["agents", "show", "a", "b"], ["agents", "list", "extra"],
                 ["agents", "delete", "x", "--bogus"], ["tokens", "create"],
                 ["tokens", "create", "x", "--tenant"], ["health", "x"],
                 ["sections", "create", "x", "--section", "y"]):
        r = wardctl(url, *args)
        assert r.returncode == 2, (args, r.stderr)
        assert "wardctl: " in r.stderr and "cannot reach" not in r.stderr, (args, r.stderr)
    # A mistyped option may hold a secret: it is not echoed, the usage line says what fits.
    r = wardctl(url, "agents", "claim", "x", "--claim-token=s3cret-value")
    assert r.returncode == 2 and "unknown option" in r.stderr and "s3cret" not in r.stderr
    assert "[--claim-token-file PATH]" in r.stderr
    # An option of another command is named as such; a diagnostic's argument is shown its form.
    r = wardctl(url, "commands", "--ttl", "5m")
    assert r.returncode == 2 and "--ttl is not an option of commands" in r.stderr
    r = wardctl(url, "run", "web-1", "ping", "--count=3")
    assert r.returncode == 2 and "NAME=VALUE, such as count=3" in r.stderr


def test_help_lists_every_command():
    r = subprocess.run([binary("wardctl"), "--help"], capture_output=True, text=True, timeout=30)
    assert r.returncode == 0
    for command in COMMANDS:
        assert f"  {command}" in r.stdout, command
    for flag in ("--token", "WARD_TOKEN", "--json", "--purge", "--claim-token-file", "--section",
                 "--tenant"):
        assert flag in r.stdout, flag
