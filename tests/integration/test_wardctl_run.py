"""wardctl run, commands and audit against a closed ward-server and a real agent.

The agent enrolls with the enrollment token, so it is active at once and
long-polls for commands; wardctl queues a diagnostic for it and, with
--wait, long-polls the result. Where no agent needs to answer (argument
checks, host names, timeouts), hosts are enrolled with plain requests and
nothing polls for their commands.

Every wardctl run is checked for sanitizer reports and for the admin token
in its output, as in test_wardctl.py.
"""

import json
import os
import re
import subprocess
import uuid

import pytest
import requests

from conftest import (ADMIN, ADMIN_TOKEN, ENROLL_TOKEN, SANITIZER_MARKS, binary, enroll_agent,
                      wait_for)

ID = r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}"
DIAGNOSTICS = ["logs", "disk_usage", "mounts", "ping", "connect", "netstat", "traceroute"]


def wardctl(server, *args, timeout=60):
    """Runs wardctl against server with the admin token in WARD_TOKEN."""
    env = {k: v for k, v in os.environ.items()
           if k not in ("WARD_SERVER", "WARD_TOKEN", "WARD_CONFIG", "WARD_TIMEOUT")}
    env.update(WARD_SERVER=server.url, WARD_TOKEN=ADMIN_TOKEN)
    r = subprocess.run([binary("wardctl"), *args], capture_output=True, text=True,
                       timeout=timeout, env=env)
    for mark in SANITIZER_MARKS:
        assert mark not in r.stderr, r.stderr
    assert ADMIN_TOKEN not in r.stdout + r.stderr, "wardctl printed the admin token"
    return r


def ok(r):
    assert r.returncode == 0, f"exit {r.returncode}\nstdout: {r.stdout}\nstderr: {r.stderr}"
    return r.stdout


def table(stdout):
    """Splits a table into its heading and rows of cells (cells hold no double spaces)."""
    split = [[c.strip() for c in line.split("  ") if c.strip()] for line in stdout.splitlines()]
    return split[0], split[1:]


def fields(stdout):
    """The "key: value" lines before a command's output."""
    head = stdout.split("\noutput:", 1)[0]
    return dict(line.split(": ", 1) for line in head.splitlines())


def enroll_id(server, hostname):
    """A host registered with the enrollment token (active, but no agent polls): its id."""
    return enroll_agent(server, hostname)[0]


def listed_commands(server):
    r = requests.get(server.url + "/api/v1/commands", headers=ADMIN, timeout=5)
    assert r.status_code == 200, r.text
    return r.json()["commands"]


def start_agent(server, agent_factory, hostname, *extra):
    """Starts a real agent that enrolls as hostname; returns its host id once it is active."""
    agent_factory(server.url, ["--enroll-token", ENROLL_TOKEN, "--hostname", hostname, *extra])

    def active():
        r = requests.get(server.url + "/api/v1/hosts", headers=ADMIN, timeout=5)
        hosts = [h for h in r.json()["hosts"]
                 if h["hostname"] == hostname and h["status"] == "active"]
        return hosts and hosts[0]["id"]

    return wait_for(active, what=f"the agent {hostname} to enroll")


@pytest.fixture
def closed(server_factory):
    return server_factory(secure=True)


@pytest.fixture
def web(closed, agent_factory):
    """A closed server with one real agent, "run-web1"; returns (server, host id)."""
    return closed, start_agent(closed, agent_factory, "run-web1")


def test_connect_by_name_and_by_id(web):
    server, host = web
    r = wardctl(server, "run", "run-web1", "connect", f"127.0.0.1:{server.port}", "--wait")
    assert "connected" in ok(r)
    assert re.fullmatch(rf"connect on run-web1: done, exit 0, [0-9.]+s \(command {ID}\)\n",
                        r.stderr), r.stderr

    # By host id, and with the argument named.
    r = wardctl(server, "run", host, "connect", f"target=127.0.0.1:{server.port}", "timeout=2",
                "--wait", "--timeout", "30s")
    assert "connected" in ok(r)
    queued = listed_commands(server)
    assert [c["host_id"] for c in queued] == [host, host]
    assert queued[0]["args"] == {"target": f"127.0.0.1:{server.port}", "timeout": "2"}


def test_unreachable_connect_exits_1(web, refused_port):
    server, _ = web
    port = refused_port
    r = wardctl(server, "run", "run-web1", "connect", f"127.0.0.1:{port}", "--wait")
    assert r.returncode == 1, r.stderr
    assert f"127.0.0.1:{port}" in r.stdout and "connected to" not in r.stdout
    assert "connect on run-web1: done, exit 1" in r.stderr


def test_mounts_and_disk_usage(web, workdir):
    server, _ = web
    r = wardctl(server, "run", "run-web1", "mounts", "--wait")
    out = ok(r)
    assert any(line.split()[1:2] == ["/"] for line in out.splitlines() if line.split()), out
    assert "mounts on run-web1: done, exit 0" in r.stderr

    # A bare value is disk_usage's first argument, the path; "disk" names disk_usage.
    (workdir / "big.bin").write_bytes(b"x" * 200000)
    out = ok(wardctl(server, "run", "run-web1", "disk", str(workdir), "top_n=3", "--wait"))
    assert str(workdir / "big.bin") in out
    assert listed_commands(server)[0]["args"] == {"path": str(workdir), "top_n": "3"}


def test_ping_loopback(web):
    server, _ = web
    r = wardctl(server, "run", "run-web1", "ping", "127.0.0.1", "count=1", "--wait")
    if r.returncode == 0:
        assert "1 received" in r.stdout, r.stdout
        assert "ping on run-web1: done, exit 0" in r.stderr
    else:
        # A sandbox may refuse ICMP sockets and have no ping program: then the result says so.
        assert r.returncode == 1, r.stderr
        assert "ICMP sockets" in r.stdout, r.stdout
        assert re.match(r"ping on run-web1: (failed|done, exit [1-9])", r.stderr), r.stderr


def test_bad_usage_queues_nothing(closed):
    host = enroll_id(closed, "run-web1")
    for args, message in (
            (["ping", "target=a;b"], "ping: target must be a host name, IPv4 or IPv6 address"),
            (["ping", "a;b"], "ping: target must be"),
            (["ping"], "ping needs target"),
            (["ping", "127.0.0.1", "1.2.3.4"], "only one value may go without its name"),
            (["ping", "127.0.0.1", "target=127.0.0.2"], "ping: target is given twice"),
            (["ping", "127.0.0.1", "size=9"], "ping takes no argument named 'size'"),
            (["ping", "127.0.0.1", "count=11"], "count must be an integer from 1 to 10"),
            (["connect", "127.0.0.1"], "connect: target must be HOST:PORT"),
            (["disk", "/var/../etc"], "disk_usage: path must be an absolute path"),
            (["mounts", "/"], "mounts takes no arguments"),
            (["frob"], "unknown diagnostic 'frob'; diagnostics: logs, disk_usage (disk), mounts"),
            (["ping", "127.0.0.1", "--ttl", "0"], "--ttl: a duration from 1s to 24h"),
            (["ping", "127.0.0.1", "--timeout", "5s"], "give --wait too"),
            (["ping", "127.0.0.1", "--wait", "--timeout", "soon"], "--timeout: a duration")):
        for target in ("run-web1", host):
            r = wardctl(closed, "run", target, *args)
            assert r.returncode == 2, (args, r.stderr)
            assert r.stderr.startswith("wardctl: ") and message in r.stderr, (args, r.stderr)
            assert "usage: wardctl [OPTION]... run HOST DIAGNOSTIC" in r.stderr
            assert r.stdout == ""
    assert listed_commands(closed) == []


def test_unknown_and_ambiguous_hosts(closed):
    r = wardctl(closed, "run", "nosuch", "ping", "127.0.0.1")
    assert r.returncode == 1 and r.stdout == ""
    assert "no host has the id, host name or name 'nosuch'" in r.stderr
    r = wardctl(closed, "run", str(uuid.uuid4()), "ping", "127.0.0.1")
    assert r.returncode == 1 and "server answered 404: no host" in r.stderr

    first, second = enroll_id(closed, "twin"), enroll_id(closed, "twin")
    r = wardctl(closed, "run", "twin", "ping", "127.0.0.1")
    assert r.returncode == 1 and "2 hosts are named 'twin'" in r.stderr
    assert first in r.stderr and second in r.stderr and "give the host id" in r.stderr
    assert listed_commands(closed) == []

    # Only an active host takes commands: with one of them revoked, run picks the other,
    # while a listing still wants the id.
    r = requests.post(f"{closed.url}/api/v1/hosts/{first}/revoke-key", headers=ADMIN, timeout=5)
    assert r.status_code == 200, r.text
    got = json.loads(ok(wardctl(closed, "run", "twin", "ping", "127.0.0.1", "--json")))
    assert got["host_id"] == second and got["state"] == "queued"
    r = wardctl(closed, "commands", "--host", "twin")
    assert r.returncode == 1 and "2 hosts are named 'twin'" in r.stderr
    # The server's refusal of a host that is not active is shown.
    r = wardctl(closed, "run", first, "ping", "127.0.0.1")
    assert r.returncode == 1 and "server answered 409" in r.stderr and "not active" in r.stderr


def test_queue_then_show_list_and_audit(web):
    server, host = web
    r = wardctl(server, "run", "run-web1", "connect", f"127.0.0.1:{server.port}")
    m = re.fullmatch(rf"(queued|dispatched) ({ID}) \(connect on run-web1\)\n", ok(r))
    assert m, r.stdout
    command = m.group(2)

    def shown():
        out = ok(wardctl(server, "commands", "show", command))
        return fields(out)["state"] == "done" and out

    out = wait_for(shown, timeout=30, what="the command to be done")
    got = fields(out)
    assert got["id"] == command and got["host_id"] == host and got["type"] == "connect"
    assert got["exit_code"] == "0" and got["error"] == "-"
    assert got["args"] == f"target=127.0.0.1:{server.port},timeout=5"
    assert out.split("\noutput:\n", 1)[1].startswith("connected to ")

    ok(wardctl(server, "run", "run-web1", "mounts", "--wait"))
    head, rows = table(ok(wardctl(server, "commands", "--host", "run-web1")))
    assert head == ["ID", "HOST", "TYPE", "STATE", "CREATED", "EXIT"]
    assert [(row[1], row[2], row[3], row[5]) for row in rows] == [
        (host, "mounts", "done", "0"), (host, "connect", "done", "0")]
    assert rows[1][0] == command
    _, rows = table(ok(wardctl(server, "commands", "--host", host, "--type", "connect",
                               "--state", "done")))
    assert [row[0] for row in rows] == [command]
    _, rows = table(ok(wardctl(server, "commands", "--limit", "1")))
    assert len(rows) == 1 and rows[0][2] == "mounts"
    r = wardctl(server, "commands", "--state", "queued")
    assert r.returncode == 0 and r.stdout == "" and "no commands" in r.stderr
    r = wardctl(server, "commands", "--state", "bogus")
    assert r.returncode == 2 and "--state: queued, dispatched, done, failed or expired" in r.stderr

    head, rows = table(ok(wardctl(server, "audit", "--command", command)))
    assert head == ["TIME", "HOST", "COMMAND", "EVENT", "ACTOR", "DETAIL"]
    assert [row[3] for row in rows] == ["done", "dispatched", "queued"]
    assert all(row[1] == host and row[2] == command for row in rows)
    assert rows[2][5].startswith("type=connect") and "exit_code=0" in rows[0][5]
    _, rows = table(ok(wardctl(server, "audit", "--host", "run-web1")))
    assert [row[3] for row in rows].count("queued") == 2 and len(rows) == 6
    r = wardctl(server, "audit", "--command", "not-an-id")
    assert r.returncode == 2 and "--command: a command id" in r.stderr

    r = wardctl(server, "commands", "show", str(uuid.uuid4()))
    assert r.returncode == 1 and "server answered 404: no command" in r.stderr


def test_json_output(web):
    server, host = web
    r = wardctl(server, "run", "run-web1", "connect", f"127.0.0.1:{server.port}", "--wait",
                "--json")
    got = json.loads(ok(r))
    assert got["state"] == "done" and got["exit_code"] == 0 and got["host_id"] == host
    assert got["output"].startswith("connected to ") and got["type"] == "connect"

    queued = json.loads(ok(wardctl(server, "--json", "run", "run-web1", "netstat", "proto=tcp")))
    assert queued["type"] == "netstat" and queued["args"] == {"proto": "tcp", "state": "all"}
    shown = json.loads(ok(wardctl(server, "commands", "show", got["id"], "--json")))
    assert shown["id"] == got["id"] and shown["output"] == got["output"]
    listed = json.loads(ok(wardctl(server, "commands", "--json")))["commands"]
    assert {c["id"] for c in listed} == {got["id"], queued["id"]}
    entries = json.loads(ok(wardctl(server, "audit", "--json", "--command", got["id"])))
    assert [e["event"] for e in entries["entries"]] == ["done", "dispatched", "queued"]


def test_wait_times_out_and_command_expires(closed):
    enroll_id(closed, "run-idle")  # no agent asks for its commands
    r = wardctl(closed, "run", "run-idle", "connect", "127.0.0.1:1", "--wait", "--timeout", "1s")
    assert r.returncode == 3 and r.stdout == ""
    m = re.search(rf"connect on run-idle is still queued after 1s; "
                  rf"see wardctl commands show ({ID})", r.stderr)
    assert m, r.stderr
    assert fields(ok(wardctl(closed, "commands", "show", m.group(1))))["state"] == "queued"

    r = wardctl(closed, "run", "run-idle", "connect", "127.0.0.1:1", "--ttl", "1s", "--wait",
                "--timeout", "30s")
    assert r.returncode == 3 and r.stdout == ""
    assert "connect on run-idle: expired: not picked up before it expired" in r.stderr


def test_agent_with_diagnostics_off_refuses(closed, agent_factory):
    start_agent(closed, agent_factory, "run-locked", "--diagnostics.enabled=false")
    r = wardctl(closed, "run", "run-locked", "connect", f"127.0.0.1:{closed.port}", "--wait")
    assert r.returncode == 1, r.stderr
    assert "connected" not in r.stdout
    assert re.match(r"connect on run-locked: failed: refused: ", r.stderr), r.stderr
    got = json.loads(ok(wardctl(closed, "commands", "--json")))["commands"]
    assert [c["state"] for c in got] == ["failed"] and "refused" in got[0]["error"]


def test_help_describes_run():
    r = subprocess.run([binary("wardctl"), "--help"], capture_output=True, text=True, timeout=30)
    assert r.returncode == 0
    for text in ("  run HOST DIAGNOSTIC [NAME=VALUE]... [--wait] [--timeout DURATION] "
                 "[--ttl DURATION]",
                 "  commands [--host HOST] [--state STATE] [--type DIAGNOSTIC] [--limit N]",
                 "  commands show ID", "  audit [--host HOST] [--command ID] [--limit N]",
                 "target=HOST:PORT", "count=1..10", "proto=udp|icmp", "disk_usage (or disk)",
                 "3 when it expired"):
        assert text in r.stdout, text
    for name in DIAGNOSTICS:
        assert f"\n  {name}" in r.stdout, name
