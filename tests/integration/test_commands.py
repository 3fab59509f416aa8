"""The command queue's long-poll and lifecycle (docs/api.md, Diagnostics).

Most tests play the agent's side with plain HTTP and an agent key from the
enrollment token, so each state change can be forced exactly: a long-poll
that times out, one woken by a new command, a command that expires queued
or dispatched, a full queue, a server restart with commands still queued.
The last test does the same with the real agent.
"""

import json
import re
import resource
import selectors
import signal
import socket
import threading
import time

import pytest
import requests

from conftest import ADMIN, ENROLL_TOKEN, enroll_agent, wait_for

POLL = "/api/v1/agent/command"
RESULT = "/api/v1/agent/command_result"


def key_headers(key):
    return {"X-Agent-API-Key": key}


def queue(server, host_id, body, status=201):
    r = requests.post(f"{server.url}/api/v1/hosts/{host_id}/commands", json=body,
                      headers=ADMIN, timeout=10)
    assert r.status_code == status, r.text
    return r.json()


def command(server, command_id, wait=0):
    r = requests.get(f"{server.url}/api/v1/commands/{command_id}?wait={wait}", headers=ADMIN,
                     timeout=wait + 10)
    assert r.status_code == 200, r.text
    return r.json()


def connect_to(server):
    return {"type": "connect", "args": {"target": f"127.0.0.1:{server.port}"}}


class Poll(threading.Thread):
    """A long-poll running in the background, as an agent's."""

    def __init__(self, server, key, wait=30):
        super().__init__(daemon=True)
        self.url = f"{server.url}{POLL}?wait={wait}"
        self.headers = key_headers(key)
        self.response = None
        self.start()

    def run(self):
        self.response = requests.get(self.url, headers=self.headers, timeout=60)


def metric(server, name):
    """The value of the unlabelled metric name in the server's /metrics."""
    r = requests.get(server.url + "/metrics", timeout=5)
    for line in r.text.splitlines():
        if line.startswith(name + " "):
            return int(float(line.split()[1]))
    pytest.fail(f"{name} is not in /metrics")


def waiters(server):
    return metric(server, "ward_command_waiters")


@pytest.fixture
def closed(server_factory):
    return server_factory(secure=True)


def test_poll_times_out_with_204(closed):
    _, key = enroll_agent(closed)
    r = requests.get(f"{closed.url}{POLL}?wait=0", headers=key_headers(key), timeout=5)
    assert r.status_code == 204 and r.content == b""
    started = time.monotonic()
    r = requests.get(f"{closed.url}{POLL}?wait=1", headers=key_headers(key), timeout=10)
    assert r.status_code == 204
    assert time.monotonic() - started >= 0.9, "the poll did not wait"


def test_poll_is_woken_by_a_new_command(closed):
    host, key = enroll_agent(closed)
    poll = Poll(closed, key)
    wait_for(lambda: waiters(closed) == 1, what="the poll to wait")
    queued = queue(closed, host, connect_to(closed))
    poll.join(timeout=20)
    assert not poll.is_alive(), "the long-poll was not woken by the new command"
    assert poll.response.status_code == 200, poll.response.text
    got = poll.response.json()
    assert got["id"] == queued["id"] and got["type"] == "connect"
    assert got["args"] == {"target": f"127.0.0.1:{closed.port}", "timeout": "5"}
    assert command(closed, got["id"])["state"] == "dispatched"
    assert waiters(closed) == 0


def test_poll_of_a_gone_agent_takes_nothing(closed):
    host, key = enroll_agent(closed)
    sock = socket.create_connection(("127.0.0.1", closed.port))
    sock.sendall(f"GET {POLL}?wait=30 HTTP/1.1\r\nHost: x\r\nX-Agent-API-Key: {key}\r\n\r\n"
                 .encode())
    wait_for(lambda: waiters(closed) == 1, what="the poll to wait")
    sock.close()
    queued = queue(closed, host, connect_to(closed))
    wait_for(lambda: waiters(closed) == 0, what="the poll to be woken")
    # The agent that left was not handed the command: the next poll gets it.
    assert command(closed, queued["id"])["state"] == "queued"
    r = requests.get(f"{closed.url}{POLL}?wait=0", headers=key_headers(key), timeout=5)
    assert r.status_code == 200 and r.json()["id"] == queued["id"]


def test_a_poll_whose_agent_hangs_up_ends_at_once(closed):
    _, key = enroll_agent(closed)
    sock = socket.create_connection(("127.0.0.1", closed.port))
    sock.sendall(f"GET {POLL}?wait=30 HTTP/1.1\r\nHost: x\r\nX-Agent-API-Key: {key}\r\n\r\n"
                 .encode())
    wait_for(lambda: waiters(closed) == 1, what="the poll to wait")
    sock.close()
    # Its slot is free well before its 30 s are up, and the hang-up is counted.
    wait_for(lambda: waiters(closed) == 0, timeout=10, what="the hang-up to end the wait")
    assert metric(closed, "ward_command_waits_gone_total") == 1


def open_waits(server, command_id, waits):
    """Opens a connection per wait, then asks on each: GET the command with that wait."""
    socks = [socket.create_connection(("127.0.0.1", server.port)) for _ in waits]
    for s, wait in zip(socks, waits):
        s.sendall(f"GET /api/v1/commands/{command_id}?wait={wait} HTTP/1.1\r\nHost: x\r\n"
                  f"Authorization: {ADMIN['Authorization']}\r\n\r\n".encode())
    return socks


def read_answer(sock):
    """Reads one whole HTTP answer with a Content-Length; returns (status, JSON body)."""
    sock.settimeout(30)
    data = b""
    while b"\r\n\r\n" not in data:
        chunk = sock.recv(4096)
        assert chunk, f"the connection closed after {data!r}"
        data += chunk
    head, body = data.split(b"\r\n\r\n", 1)
    length = int(re.search(rb"(?im)^content-length: *(\d+)", head).group(1))
    while len(body) < length:
        chunk = sock.recv(4096)
        assert chunk, "the connection closed in the body"
        body += chunk
    return int(head.split()[1]), json.loads(body)


def test_hang_ups_among_many_waits_end_those_waits_only(server_factory):
    # More waits than the server's 1024 slots by descriptor, so slots are shared,
    # and every third one hangs up, so a slot can hold a hung-up waiter and a kept one.
    n = 1200
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if hard != resource.RLIM_INFINITY and hard < n + 256:
        pytest.skip(f"needs {n + 256} open files; the hard limit here is {hard}")
    if soft != resource.RLIM_INFINITY and soft < n + 256:
        resource.setrlimit(resource.RLIMIT_NOFILE, (n + 256, hard))
    srv = server_factory(secure=True, extra_args=["--max-connections", str(n + 100),
                                                  "--max-connections-per-ip", "0"])
    host, key = enroll_agent(srv)
    queued = queue(srv, host, connect_to(srv))
    socks = []
    try:
        socks = open_waits(srv, queued["id"], [30] * n)
        wait_for(lambda: waiters(srv) == n, what=f"{n} waits")
        gone = socks[::3]
        kept = [s for i, s in enumerate(socks) if i % 3]
        for s in gone:
            s.close()
        wait_for(lambda: waiters(srv) == len(kept), what="the hang-ups to end their waits")
        assert metric(srv, "ward_command_waits_gone_total") == len(gone)
        # The waits left are all still there, and the result wakes each of them.
        got = requests.get(f"{srv.url}{POLL}?wait=0", headers=key_headers(key), timeout=5)
        assert got.status_code == 200 and got.json()["id"] == queued["id"]
        body = {"id": queued["id"], "status": "done", "exit_code": 0, "output": "ok\n",
                "truncated": False, "error": None}
        r = requests.post(srv.url + RESULT, json=body, headers=key_headers(key), timeout=5)
        assert r.status_code == 200, r.text
        for s in kept:
            status, answer = read_answer(s)
            assert status == 200 and answer["state"] == "done"
        assert waiters(srv) == 0
        assert metric(srv, "ward_command_waits_woken_total") == len(kept)
    finally:
        for s in socks:
            s.close()


def test_waits_of_mixed_lengths_each_end_once(server_factory):
    # Waits asked later end sooner and some hang up, so the timer's order is tested.
    # Lengths 5 s apart: the answers come in that order however slow the start.
    srv = server_factory(secure=True, extra_args=["--max-connections-per-ip", "0"])
    host, _ = enroll_agent(srv)
    queued = queue(srv, host, connect_to(srv))
    lengths = [15 - 5 * (i % 3) for i in range(150)]
    socks = []
    try:
        socks = open_waits(srv, queued["id"], lengths)
        wait_for(lambda: waiters(srv) == 150, what="150 waits")
        for s in socks[::5]:
            s.close()
        wait_for(lambda: waiters(srv) == 120, what="the hang-ups to end their waits")
        sel = selectors.DefaultSelector()
        for s, length in zip(socks, lengths):
            if s.fileno() >= 0:
                sel.register(s, selectors.EVENT_READ, length)
        longest_so_far = 0
        while sel.get_map():
            ready = [key for key, _ in sel.select(timeout=40)]
            assert ready, f"{len(sel.get_map())} waits did not end"
            assert min(k.data for k in ready) >= longest_so_far, "a wait ended out of order"
            longest_so_far = max(k.data for k in ready)
            for k in ready:
                status, answer = read_answer(k.fileobj)
                assert status == 200 and answer["state"] == "queued"
                sel.unregister(k.fileobj)
        assert waiters(srv) == 0
        assert metric(srv, "ward_command_waits_gone_total") == 30
        assert metric(srv, "ward_command_waits_timed_out_total") == 120
    finally:
        for s in socks:
            s.close()


def test_queued_command_is_handed_out_at_once_and_once(closed):
    host, key = enroll_agent(closed)
    first = queue(closed, host, connect_to(closed))
    second = queue(closed, host, {"type": "mounts"})
    got = [requests.get(f"{closed.url}{POLL}?wait=0", headers=key_headers(key), timeout=5)
           for _ in range(3)]
    assert [r.status_code for r in got] == [200, 200, 204]
    assert [r.json()["id"] for r in got[:2]] == [first["id"], second["id"]]


def test_result_wakes_a_wait_and_is_stored(closed):
    host, key = enroll_agent(closed)
    queued = queue(closed, host, connect_to(closed))
    got = requests.get(f"{closed.url}{POLL}?wait=0", headers=key_headers(key), timeout=5).json()

    waited = {}
    t = threading.Thread(target=lambda: waited.update(command(closed, got["id"], wait=30)))
    t.start()
    wait_for(lambda: waiters(closed) == 1, what="the admin's wait")
    body = {"id": got["id"], "status": "done", "exit_code": 0, "output": "connected\n",
            "truncated": False, "error": None}
    r = requests.post(closed.url + RESULT, json=body, headers=key_headers(key), timeout=5)
    assert r.status_code == 200, r.text
    t.join(timeout=20)
    assert waited["state"] == "done" and waited["output"] == "connected\n"
    assert waited["exit_code"] == 0 and waited["id"] == queued["id"]
    # A second result for the same command is refused: it is not waiting for one.
    r = requests.post(closed.url + RESULT, json=body, headers=key_headers(key), timeout=5)
    assert r.status_code == 409, r.text
    events = [e["event"] for e in requests.get(
        f"{closed.url}/api/v1/audit?command_id={got['id']}", headers=ADMIN, timeout=5).json()
        ["entries"]]
    assert events == ["done", "dispatched", "queued"]


def test_results_are_checked(closed):
    host, key = enroll_agent(closed)
    _, other_key = enroll_agent(closed, "db-1")
    queue(closed, host, connect_to(closed))
    got = requests.get(f"{closed.url}{POLL}?wait=0", headers=key_headers(key), timeout=5).json()
    ok = {"id": got["id"], "status": "done", "exit_code": 0, "output": "x"}

    def post(body, headers=key_headers(key), **kw):
        return requests.post(closed.url + RESULT, headers=headers, timeout=10, **kw, json=body)

    # Another agent cannot answer for this one.
    assert post(ok, key_headers(other_key)).status_code == 404
    assert post({**ok, "status": "finished"}).status_code == 400
    assert post({**ok, "id": "not-a-uuid"}).status_code == 400
    assert post({"status": "done"}).status_code == 400
    assert post({**ok, "exit_code": "0"}).status_code == 400
    r = requests.post(closed.url + RESULT, data=b'{"id": "', headers=key_headers(key), timeout=5)
    assert r.status_code == 400 and "error" in r.json()
    r = post({**ok, "output": "x" * (256 * 1024 + 1)})
    assert r.status_code == 413 and "at most 262144 bytes" in r.json()["error"]
    r = post({**ok, "error": "e" * 1025})
    assert r.status_code == 400 and "error: at most 1024 bytes" in r.json()["error"]
    # None of that changed the command; a good result still lands.
    assert command(closed, got["id"])["state"] == "dispatched"
    assert post({**ok, "output": "nul\u0000byte"}).status_code == 200
    assert command(closed, got["id"])["output"] == "nul?byte"


def test_only_agents_poll(closed):
    r = requests.get(f"{closed.url}{POLL}?wait=0", timeout=5)
    assert r.status_code == 401 and "WWW-Authenticate" in r.headers
    r = requests.get(f"{closed.url}{POLL}?wait=0", headers=ADMIN, timeout=5)
    assert r.status_code == 403
    _, key = enroll_agent(closed)
    for wait in ("31", "+5", "05", "-1", "1.5", ""):
        r = requests.get(f"{closed.url}{POLL}?wait={wait}", headers=key_headers(key), timeout=5)
        assert r.status_code == 400, wait
    r = requests.head(f"{closed.url}{POLL}?wait=0", headers=key_headers(key), timeout=5)
    assert r.status_code == 405
    r = requests.get(f"{closed.url}/api/v1/commands", headers=key_headers(key), timeout=5)
    assert r.status_code == 403


def test_queued_command_expires(server_factory):
    s = server_factory(secure=True)
    host, key = enroll_agent(s)
    queued = queue(s, host, {**connect_to(s), "ttl": 1})
    done = wait_for(lambda: command(s, queued["id"], wait=5)["state"] == "expired"
                    and command(s, queued["id"]), what="the command to expire")
    assert "not picked up" in done["error"]
    r = requests.get(f"{s.url}{POLL}?wait=0", headers=key_headers(key), timeout=5)
    assert r.status_code == 204


def test_dispatched_command_without_result_expires(server_factory):
    s = server_factory(["--command-result-timeout", "1s"], secure=True)
    host, key = enroll_agent(s)
    queued = queue(s, host, connect_to(s))
    assert requests.get(f"{s.url}{POLL}?wait=0", headers=key_headers(key),
                        timeout=5).status_code == 200
    done = wait_for(lambda: command(s, queued["id"], wait=5)["state"] == "expired"
                    and command(s, queued["id"]), what="the command to expire")
    assert "no result" in done["error"]
    body = {"id": queued["id"], "status": "done", "exit_code": 0, "output": "late"}
    r = requests.post(s.url + RESULT, json=body, headers=key_headers(key), timeout=5)
    assert r.status_code == 409
    assert metric(s, "ward_commands_expired_total") == 1


def test_queue_depth_is_capped(server_factory):
    s = server_factory(["--command-queue", "2"], secure=True)
    host, key = enroll_agent(s)
    queue(s, host, connect_to(s))
    queue(s, host, connect_to(s))
    r = requests.post(f"{s.url}/api/v1/hosts/{host}/commands", json=connect_to(s),
                      headers=ADMIN, timeout=5)
    assert r.status_code == 429 and "waiting already" in r.json()["error"]
    # A dispatched command still counts; a finished one does not.
    got = requests.get(f"{s.url}{POLL}?wait=0", headers=key_headers(key), timeout=5).json()
    queue(s, host, connect_to(s), status=429)
    body = {"id": got["id"], "status": "failed", "exit_code": -1, "error": "test"}
    assert requests.post(s.url + RESULT, json=body, headers=key_headers(key),
                         timeout=5).status_code == 200
    queue(s, host, connect_to(s))


def test_queueing_checks_host_and_request(closed):
    host, _ = enroll_agent(closed)
    assert queue(closed, "01234567-89ab-7def-8123-456789abcdef", {"type": "mounts"},
                 status=404)["error"]
    err = queue(closed, host, {"type": "shell", "args": {}}, status=400)["error"]
    assert "not a diagnostic (logs, disk_usage, mounts, ping, connect, netstat, traceroute)" in err
    # A NUL would end the name early: "mounts\0x" is not mounts.
    assert "type" in queue(closed, host, {"type": "mounts\u0000x"}, status=400)["error"]
    assert "target" in queue(closed, host, {"type": "ping"}, status=400)["error"]
    assert "ttl" in queue(closed, host, {"type": "mounts", "ttl": 0}, status=400)["error"]
    queue(closed, host, {"type": "mounts", "args": {"x": "1"}}, status=400)
    queue(closed, host, {"type": "ping", "args": {"target": ["a"]}}, status=400)
    r = requests.post(f"{closed.url}/api/v1/hosts/{host}/commands", data=b"{" * 5000,
                      headers=ADMIN, timeout=5)
    assert r.status_code == 400
    r = requests.post(f"{closed.url}/api/v1/hosts/{host}/commands", data=b" " * 20000,
                      headers=ADMIN, timeout=5)
    assert r.status_code == 413
    # Integers are taken for arguments, and defaults are filled in.
    got = queue(closed, host, {"type": "ping", "args": {"target": "127.0.0.1", "count": 2}})
    assert got["args"] == {"target": "127.0.0.1", "count": "2", "timeout": "5"}
    # A host that is not active cannot fetch commands.
    r = requests.post(f"{closed.url}/api/v1/hosts/{host}/revoke-key", headers=ADMIN, timeout=5)
    assert r.status_code in (200, 204), r.text
    queue(closed, host, {"type": "mounts"}, status=409)


def test_tenant_limited_admin_sees_only_its_hosts(closed):
    host, _ = enroll_agent(closed)
    r = requests.post(closed.url + "/api/v1/tenants", json={"name": "other"}, headers=ADMIN,
                      timeout=5)
    assert r.status_code == 201, r.text
    tenant = r.json()["id"]
    r = requests.post(closed.url + "/api/v1/tokens", json={"name": "t", "tenantId": tenant},
                      headers=ADMIN, timeout=5)
    assert r.status_code == 201, r.text
    limited = {"Authorization": f"Bearer {r.json()['token']}"}
    queued = queue(closed, host, {"type": "mounts"})
    r = requests.get(f"{closed.url}/api/v1/commands/{queued['id']}", headers=limited, timeout=5)
    assert r.status_code == 404
    r = requests.get(f"{closed.url}/api/v1/commands", headers=limited, timeout=5)
    assert r.json()["commands"] == []
    r = requests.get(f"{closed.url}/api/v1/audit", headers=limited, timeout=5)
    assert r.json()["entries"] == []
    r = requests.post(f"{closed.url}/api/v1/hosts/{host}/commands", json={"type": "mounts"},
                      headers=limited, timeout=5)
    assert r.status_code == 404


def test_list_filters(closed):
    host, key = enroll_agent(closed)
    a = queue(closed, host, connect_to(closed))
    b = queue(closed, host, {"type": "mounts"})
    requests.get(f"{closed.url}{POLL}?wait=0", headers=key_headers(key), timeout=5)

    def ids(query):
        r = requests.get(f"{closed.url}/api/v1/commands?{query}", headers=ADMIN, timeout=5)
        assert r.status_code == 200, r.text
        return [c["id"] for c in r.json()["commands"]]

    assert ids("") == [b["id"], a["id"]]
    assert ids("state=queued") == [b["id"]]
    assert ids("state=dispatched") == [a["id"]]
    assert ids("type=disk") == [] and ids("type=mounts") == [b["id"]]
    assert ids(f"host_id={host}&limit=1") == [b["id"]]
    assert ids(f"host_id={host.upper()}") == [b["id"], a["id"]]
    for bad in ("state=running", "type=shell", "limit=0", "limit=x", "since=yesterday",
                "host_id=web-1"):
        r = requests.get(f"{closed.url}/api/v1/commands?{bad}", headers=ADMIN, timeout=5)
        assert r.status_code == 400, bad
    assert "output" not in requests.get(f"{closed.url}/api/v1/commands", headers=ADMIN,
                                        timeout=5).json()["commands"][0]


def test_waiters_are_capped(server_factory):
    s = server_factory(["--command-waiters", "1"], secure=True)
    _, key = enroll_agent(s)
    _, other = enroll_agent(s, "db-1")
    Poll(s, key, wait=5)
    wait_for(lambda: waiters(s) == 1, what="the first poll to wait")
    r = requests.get(f"{s.url}{POLL}?wait=5", headers=key_headers(other), timeout=10)
    assert r.status_code == 503 and "Retry-After" in r.headers


def test_a_newer_poll_replaces_the_older(closed):
    _, key = enroll_agent(closed)
    first = Poll(closed, key)
    wait_for(lambda: waiters(closed) == 1, what="the first poll to wait")
    second = Poll(closed, key)
    first.join(timeout=20)
    assert not first.is_alive() and first.response.status_code == 204
    # One agent holds one waiting slot, however many polls it opens.
    assert waiters(closed) == 1 and second.is_alive()


def test_stop_answers_waiting_polls(server_factory):
    s = server_factory(secure=True)
    keys = [enroll_agent(s, f"web-{i}")[1] for i in range(3)]
    polls = [Poll(s, key) for key in keys]
    wait_for(lambda: waiters(s) == 3, what="the polls to wait")
    started = time.monotonic()
    assert s.stop(signal.SIGTERM) == 0
    # The 30 s polls did not hold the stop up: they were answered at once.
    assert time.monotonic() - started < 20
    for p in polls:
        p.join(timeout=10)
        assert p.response is not None and p.response.status_code == 503


def test_commands_survive_restart_and_reach_the_real_agent(server_factory, agent_factory,
                                                           workdir):
    s = server_factory(secure=True)
    agent = agent_factory(s.url, ["--enroll-token", ENROLL_TOKEN, "-r", "1s"])
    hosts = wait_for(lambda: requests.get(s.url + "/api/v1/hosts", headers=ADMIN,
                                          timeout=5).json()["hosts"], what="the agent")
    host = hosts[0]["id"]
    assert agent.stop() == 0
    # The agent is offline: commands wait in the queue, through a server restart.
    first = queue(s, host, connect_to(s))
    second = queue(s, host, {"type": "mounts"})
    assert command(s, first["id"], wait=1)["state"] == "queued"
    port = s.port
    assert s.stop() == 0
    s = server_factory(port=port, secure=True)
    assert command(s, second["id"])["state"] == "queued"
    agent_factory(s.url, ["-r", "1s"])
    for c in (first, second):
        done = wait_for(lambda: (r := command(s, c["id"], wait=10))["state"] != "queued"
                        and r["state"] != "dispatched" and r, timeout=60, what="the result")
        assert done["state"] == "done", done
    assert "connected" in command(s, first["id"])["output"]


def test_trigger_refuses_an_ambiguous_name(closed):
    first, _ = enroll_agent(closed, "twin")
    second, _ = enroll_agent(closed, "twin")
    r = requests.post(f"{closed.url}/admin/trigger_network",
                      params={"hostname": "twin", "action": "netstat"}, headers=ADMIN, timeout=5)
    assert r.status_code == 409, r.text
    assert first in r.json()["error"] and second in r.json()["error"]
    r = requests.get(f"{closed.url}/api/v1/commands", headers=ADMIN, timeout=5)
    assert r.json()["commands"] == []
