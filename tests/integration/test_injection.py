"""Hostile diagnostic arguments (injection_corpus.PAYLOADS) never run anything.

(a) Through the server: every payload, grafted onto the valid arguments of
its diagnostic, is refused with 400 by the canonical route (JSON body) and by
spectra's trigger route (query parameters), and nothing is queued.

(b) Past the server, straight at the agent: a fake server written here hands
the real ward-agent every payload as a command, as a server with a broken
check would, plus payloads only a JSON body can carry (NUL escapes, numbers,
objects, duplicate or unknown arguments). Every one must come back "failed"
with an error about the argument, and the canary file, which any payload
that reached a shell would create, must never appear. A few valid commands
through the same fake prove that the harness really runs diagnostics.
"""

import gzip
import json
import os
import queue
import socket
import threading
import time
import uuid
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import quote, urlsplit

import pytest
import requests

import injection_corpus as corpus
from conftest import ADMIN, enroll_agent, wait_for

HOSTNAME = "inj-host"

# spectra's trigger route of each diagnostic, and its fixed parameters.
TRIGGERS = {
    "logs": ("/admin/trigger_logs", {}),
    "disk_usage": ("/admin/trigger_disk", {}),
    "ping": ("/admin/trigger_network", {"action": "ping"}),
    "connect": ("/admin/trigger_network", {"action": "connect"}),
    "netstat": ("/admin/trigger_network", {"action": "netstat"}),
    "traceroute": ("/admin/trigger_network", {"action": "traceroute"}),
}


def test_corpus_is_sound():
    corpus.self_check()
    assert {p["diagnostic"] for p in corpus.PAYLOADS} <= set(TRIGGERS)


def short(value, n=60):
    r = repr(value)
    return r if len(r) <= n else r[:n] + "...'"


# ---- (a) through the server ----


def enroll_host(server, hostname=HOSTNAME):
    """An active host registered with the enrollment token, with no agent polling for it."""
    agent_id, _ = enroll_agent(server, hostname)
    host = requests.get(f"{server.url}/api/v1/hosts/{agent_id}", headers=ADMIN, timeout=5).json()
    assert host["status"] == "active", host
    return agent_id


def commands(server):
    r = requests.get(server.url + "/api/v1/commands", params={"limit": 1000}, headers=ADMIN,
                     timeout=10)
    assert r.status_code == 200, r.text
    return r.json()["commands"]


def hostile_cases(canary, port):
    """(payload, arguments) for every payload: the valid set with the one argument replaced."""
    for p in corpus.PAYLOADS:
        args = corpus.valid_args(p["diagnostic"], port)
        args[p["arg"]] = corpus.expand(p["value"], canary, port)
        yield p, args


@pytest.fixture
def closed_host(server_factory, workdir):
    server = server_factory(secure=True)
    host_id = enroll_host(server)
    assert commands(server) == []
    return server, host_id, workdir / "canary"


def trigger_url(server, diagnostic, args):
    """The trigger route's URL with every parameter percent-encoded by hand (no '+' for space)."""
    path, fixed = TRIGGERS[diagnostic]
    params = {"hostname": HOSTNAME, **fixed, **args}
    query = "&".join(f"{quote(k, safe='')}={quote(v, safe='')}" for k, v in params.items())
    return f"{server.url}{path}?{query}"


def routes_still_work(server, host_id):
    """The refusals were about the payloads: the valid arguments are queued by both routes."""
    for diagnostic in TRIGGERS:
        args = corpus.valid_args(diagnostic, server.port)
        r = requests.post(f"{server.url}/api/v1/hosts/{host_id}/commands", headers=ADMIN,
                          json={"type": diagnostic, "args": args}, timeout=10)
        assert r.status_code == 201, f"{diagnostic} {args}: {r.status_code} {r.text}"
        r = requests.post(trigger_url(server, diagnostic, args), headers=ADMIN, timeout=10)
        assert r.status_code == 202, f"{diagnostic} {args}: {r.status_code} {r.text}"
    assert len(commands(server)) == 2 * len(TRIGGERS)


def test_canonical_route_refuses_every_payload(closed_host):
    server, host_id, canary = closed_host
    wrong = []
    for p, args in hostile_cases(canary, server.port):
        r = requests.post(f"{server.url}/api/v1/hosts/{host_id}/commands", headers=ADMIN,
                          json={"type": p["diagnostic"], "args": args}, timeout=10)
        if r.status_code != 400:
            wrong.append(f"{p['diagnostic']}.{p['arg']}={short(p['value'])}: "
                         f"{r.status_code} {r.text[:120]}")
        elif p["arg"] not in r.text and "not a command request" not in r.text:
            wrong.append(f"{p['diagnostic']}.{p['arg']}={short(p['value'])}: the 400 does not "
                         f"name the argument: {r.text[:160]}")
    queued = [(c["type"], c["args"]) for c in commands(server)]
    assert not wrong and not queued, (
        f"POST /api/v1/hosts/ID/commands took {len(wrong)} of {len(corpus.PAYLOADS)} hostile "
        f"payloads; queued {len(queued)}:\n" + "\n".join(wrong[:40])
        + "\nqueued: " + "\n".join(map(str, queued[:20])))
    assert not canary.exists()
    routes_still_work(server, host_id)


def test_trigger_routes_refuse_every_payload(closed_host):
    server, host_id, canary = closed_host
    wrong = []
    for p, args in hostile_cases(canary, server.port):
        r = requests.post(trigger_url(server, p["diagnostic"], args), headers=ADMIN, timeout=10)
        if r.status_code != 400:
            wrong.append(f"{p['diagnostic']}.{p['arg']}={short(p['value'])}: "
                         f"{r.status_code} {r.text[:140]}")
    queued = [(c["type"], c["args"]) for c in commands(server)]
    # Known server bug (api-commands.c trigger(): `if (v && *v)`): an explicitly empty
    # parameter (path=, severity=, count=...) is taken as absent and its default is queued,
    # where the canonical route answers 400 for the same "" (disk_usage path= becomes "/").
    assert not wrong and not queued, (
        f"spectra's trigger routes took {len(wrong)} of {len(corpus.PAYLOADS)} hostile payloads "
        f"(expected 400 for each, nothing queued); queued {len(queued)}:\n" + "\n".join(wrong[:40])
        + "\nqueued: " + "\n".join(map(str, queued[:20])))
    assert not canary.exists()
    routes_still_work(server, host_id)


# ---- (b) past the server, straight at the agent ----

AGENT_KEY = "wk_abcdefghijkl_abcdefghijklmnopqrstuvwxyz"


class FakeServer:
    """Just enough of ward-server for one agent: it hands out queued commands and keeps results.

    GET /api/v1/agent/command answers the next command of the queue, or 204 after a short
    wait, or always `fixed` (status, body) when that is set; POST /api/v1/agent/command_result stores the (gzipped) result by id; uploads are
    taken with 200 and everything else is 404 (no central configuration, no registration).
    """

    def __init__(self):
        self.commands = queue.Queue()
        self.results = {}
        self.lock = threading.Lock()
        self.arrived = threading.Condition(self.lock)
        self.requests = []
        self.fixed = None
        fake = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args):
                pass

            def body(self):
                data = self.rfile.read(int(self.headers.get("Content-Length", 0)))
                if self.headers.get("Content-Encoding") == "gzip":
                    data = gzip.decompress(data)
                return data

            def setup(self):
                super().setup()
                self.request.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)

            def answer(self, status, body=b"", ctype="application/json"):
                # One write for the whole response: no Nagle and delayed-ACK stall per request.
                head = f"HTTP/1.1 {status} {HTTPStatus(status).phrase}\r\n"
                if body:
                    head += f"Content-Type: {ctype}\r\n"
                head += f"Content-Length: {len(body)}\r\n\r\n"
                self.wfile.write(head.encode() + body)

            def do_GET(self):
                path = urlsplit(self.path).path
                with fake.lock:
                    fake.requests.append(("GET", path, self.headers.get("X-Agent-API-Key")))
                if path == "/api/v1/agent/command" and fake.fixed:
                    return self.answer(*fake.fixed)
                if path == "/api/v1/agent/command":
                    try:
                        command = fake.commands.get(timeout=0.5)
                    except queue.Empty:
                        return self.answer(204)
                    return self.answer(200, command)
                self.answer(404, b'{"error":"not here"}')

            def do_POST(self):
                path = urlsplit(self.path).path
                data = self.body()
                with fake.lock:
                    fake.requests.append(("POST", path, self.headers.get("X-Agent-API-Key")))
                if path == "/api/v1/agent/command_result":
                    result = json.loads(data)
                    with fake.arrived:
                        fake.results[result["id"]] = result
                        fake.arrived.notify_all()
                    return self.answer(200, b'{"status":"ok"}')
                if path == "/api/v1/ingest":
                    return self.answer(200, b'{"status":"ok"}')
                self.answer(404, b'{"error":"not here"}')

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.httpd.daemon_threads = True
        self.port = self.httpd.server_address[1]
        self.url = f"http://127.0.0.1:{self.port}"
        self.thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)
        self.thread.start()

    def send(self, command):
        """Queues a command: a dict, or the raw JSON bytes of one."""
        if isinstance(command, dict):
            command = json.dumps(command).encode()
        self.commands.put(command)

    def wait_results(self, ids, timeout):
        deadline = time.monotonic() + timeout
        with self.arrived:
            while not all(i in self.results for i in ids):
                left = deadline - time.monotonic()
                if left <= 0:
                    missing = [i for i in ids if i not in self.results]
                    pytest.fail(f"{len(missing)} of {len(ids)} results did not come back "
                                f"within {timeout}s")
                self.arrived.wait(left)
            return {i: self.results[i] for i in ids}

    def close(self):
        self.httpd.shutdown()
        self.httpd.server_close()


@pytest.fixture
def fake_server():
    fake = FakeServer()
    yield fake
    fake.close()


def command(type_, args, args_first=False, raw_args=None):
    """A command as the server sends it; args_first puts "args" before "type"."""
    cid = str(uuid.uuid4())
    if raw_args is not None:  # hand-written JSON for what json.dumps cannot express
        body = f'{{"id": "{cid}", "type": {json.dumps(type_)}, "args": {raw_args}}}'
        return cid, body.encode()
    parts = [("id", cid), ("type", type_), ("args", args)]
    if args_first:
        parts = [parts[0], parts[2], parts[1]]
    parts += [("created_at", "2026-01-01T00:00:00.000Z"),
              ("expires_at", "2099-01-01T00:00:00.000Z")]
    return cid, json.dumps(dict(parts)).encode()


def json_only_cases(canary):
    """Hostile commands only a JSON body can carry, or not about one argument's value.

    Each is (what, id, body, words): the error must contain one of words.
    """
    touch = f"touch {canary}"
    cases = []

    def add(what, type_, args=None, raw_args=None, words=("argument",)):
        cid, body = command(type_, args, raw_args=raw_args)
        cases.append((what, cid, body, words))

    # A NUL byte, escaped in JSON, would end the C string early: "127.0.0.1" and a rest.
    add("NUL in target", "ping", raw_args='{"target": "127.0.0.1\\u0000; ' + touch + '"}',
        words=("argument", "too long", "target"))
    add("NUL in name", "ping", raw_args='{"target\\u0000x": "127.0.0.1"}',
        words=("argument", "too long", "target"))
    add("NUL in path", "disk_usage", raw_args='{"path": "/tmp\\u0000/../etc"}',
        words=("argument", "too long", "path"))
    # Values that are not strings: the agent takes strings only.
    add("number", "ping", raw_args='{"target": "127.0.0.1", "count": 1e9}',
        words=("not a command", "count", "argument"))
    add("object", "ping", raw_args='{"target": {"$(' + touch + ')": 1}}',
        words=("not a command", "target", "argument"))
    add("array", "disk_usage", raw_args='{"path": ["/tmp", ";' + touch + '"]}',
        words=("not a command", "path", "argument"))
    add("null", "ping", raw_args='{"target": null}', words=("not a command", "target"))
    add("true", "netstat", raw_args='{"proto": true}', words=("not a command", "proto"))
    # Duplicate arguments, the hostile one first and last.
    add("duplicate, hostile last", "ping",
        raw_args='{"target": "127.0.0.1", "target": "127.0.0.1;' + touch + '"}',
        words=("target",))
    add("duplicate, hostile first", "ping",
        raw_args='{"target": "127.0.0.1|' + touch + '", "target": "127.0.0.1"}',
        words=("target",))
    # Names the diagnostic does not have, and too many arguments.
    add("unknown argument", "ping", {"target": "127.0.0.1", "exec": touch},
        words=("no argument named",))
    add("argument name with a newline", "ping", {"target": "127.0.0.1", "count\n" + touch: "1"},
        words=("no argument named",))
    add("too many arguments", "ping", {f"a{i}": "1" for i in range(40)},
        words=("too many", "no argument named"))
    # Types that are not diagnostics.
    for t in ("sh", "exec", "ping;" + touch, "ping\n", "PING", "../ping", "disk_usage\u0000"):
        add(f"type {t!r}", t, {"target": "127.0.0.1"}, words=("unknown diagnostic",))
    # A name too long to keep is named by its start, not as ''.
    add("long type", "ping" * 10, {"target": "127.0.0.1"},
        words=("unknown diagnostic '" + ("ping" * 10)[:31] + "'",))
    # Two types, or something after the command: which diagnostic would run is unclear.
    cid = str(uuid.uuid4())
    cases.append(("type given twice", cid, json.dumps({"id": cid, "type": "mounts"}).encode()
                  [:-1] + b', "type": "netstat"}', ("given twice",)))
    cid = str(uuid.uuid4())
    cases.append(("data after the command", cid,
                  json.dumps({"id": cid, "type": "mounts"}).encode() + b' {"type": "netstat"}',
                  ("not a command",)))
    # A required argument missing.
    add("no target", "ping", {}, words=("needs target",))
    add("no args at all", "traceroute", raw_args="{}", words=("needs target",))
    return cases


@pytest.fixture
def direct_agent(fake_server, agent_factory, workdir):
    agent = agent_factory(fake_server.url, ["--api-key", AGENT_KEY, "-r", "1",
                                            "--diagnostics.timeout", "10s"])
    return agent


class ChildWatch:
    """Notes every child process of pid seen while it runs: a best-effort second witness."""

    def __init__(self, pid):
        self.pid = pid
        self.seen = {}
        self.running = True
        self.thread = threading.Thread(target=self._watch, daemon=True)
        self.thread.start()

    def _children(self):
        pids = set()
        try:
            for task in os.listdir(f"/proc/{self.pid}/task"):
                with open(f"/proc/{self.pid}/task/{task}/children") as f:
                    pids.update(f.read().split())
        except OSError:
            pass
        return pids

    def _watch(self):
        while self.running:
            for child in self._children() - set(self.seen):
                try:
                    with open(f"/proc/{child}/cmdline", "rb") as f:
                        self.seen[child] = f.read().replace(b"\0", b" ").decode(errors="replace")
                except OSError:
                    self.seen[child] = "?"
            time.sleep(0.002)

    def stop(self):
        self.running = False
        self.thread.join()
        return self.seen


@pytest.mark.parametrize("answer", [(204, b""), (200, b"not json"), (200, b'{"type":"mounts"}')],
                         ids=["empty at once", "not json", "no id"])
def test_agent_waits_between_polls_that_bring_no_command(fake_server, direct_agent, answer):
    # A server that answers every poll at once, with nothing or with no usable command,
    # gets a poll a second at the most, not a loop of them.
    fake_server.fixed = answer
    polls = lambda: sum(1 for m, p, _ in fake_server.requests if p == "/api/v1/agent/command")
    wait_for(lambda: polls() >= 2, what="the agent to poll")
    before = polls()
    time.sleep(3)
    assert polls() - before <= 8, f"{polls() - before} polls in 3 s"
    assert direct_agent.proc.poll() is None


def test_agent_refuses_every_payload(fake_server, direct_agent, workdir):
    canary = workdir / "canary"
    sent = {}

    # The harness works: valid commands come back done.
    valid = {}
    for diagnostic in corpus.VALID:
        args = corpus.valid_args(diagnostic, fake_server.port)
        if diagnostic == "disk_usage":
            args["path"] = str(workdir)
        cid, body = command(diagnostic, args)
        fake_server.send(body)
        valid[cid] = diagnostic
    got = fake_server.wait_results(list(valid), timeout=40)
    for cid, diagnostic in valid.items():
        assert got[cid]["status"] == "done", (diagnostic, got[cid])
    by_type = {valid[cid]: got[cid] for cid in valid}
    assert by_type["connect"]["exit_code"] == 0, by_type["connect"]
    assert "connected to 127.0.0.1:" in by_type["connect"]["output"]
    assert f"{workdir}:" in by_type["disk_usage"]["output"]
    auth = {a for m, p, a in fake_server.requests if p == "/api/v1/agent/command"}
    assert auth == {AGENT_KEY}, auth

    # Every corpus payload, as a JSON string; half with the arguments before the type.
    started = time.monotonic()
    watch = ChildWatch(direct_agent.proc.pid)
    for n, p in enumerate(corpus.PAYLOADS):
        args = corpus.valid_args(p["diagnostic"], fake_server.port)
        args[p["arg"]] = corpus.expand(p["value"], canary, fake_server.port)
        cid, body = command(p["diagnostic"], args, args_first=n % 2 == 1)
        sent[cid] = (f"{p['diagnostic']}.{p['arg']}={short(p['value'])}",
                     (p["arg"], "argument", "not a command"))
        fake_server.send(body)
    # The same payloads as raw UTF-8, not \u escapes, for those with non-ASCII characters.
    for p in corpus.PAYLOADS:
        if any(ord(c) > 0x7E for c in p["value"]):
            args = corpus.valid_args(p["diagnostic"], fake_server.port)
            args[p["arg"]] = corpus.expand(p["value"], canary, fake_server.port)
            cid = str(uuid.uuid4())
            body = json.dumps({"id": cid, "type": p["diagnostic"], "args": args},
                              ensure_ascii=False).encode()
            sent[cid] = (f"raw UTF-8 {p['diagnostic']}.{p['arg']}={short(p['value'])}",
                         (p["arg"], "argument", "not a command"))
            fake_server.send(body)
    for what, cid, body, words in json_only_cases(canary):
        sent[cid] = (what, words)
        fake_server.send(body)
    results = fake_server.wait_results(list(sent), timeout=45)
    took = time.monotonic() - started
    children = watch.stop()

    wrong = []
    for cid, (what, words) in sent.items():
        r = results[cid]
        error = r.get("error") or ""
        if r["status"] != "failed":
            wrong.append(f"{what}: {r['status']} (exit {r.get('exit_code')}): "
                         f"{(r.get('output') or '')[:100]!r}")
        elif not any(w in error for w in words):
            wrong.append(f"{what}: failed, but the error is not about the argument: {error!r}")
        elif r.get("output"):
            wrong.append(f"{what}: a refused command has output {r['output'][:100]!r}")
    assert not wrong, (f"ward-agent did not refuse {len(wrong)} of {len(sent)} hostile "
                       "commands as expected:\n" + "\n".join(wrong[:40]))
    assert not canary.exists(), "a payload ran a shell command: the canary file exists"
    assert not children, f"the agent started processes for refused commands: {children}"
    assert took < 40, f"{len(sent)} refusals took {took:.1f}s"

    # Still alive and still working after all that.
    cid, body = command("connect", {"target": f"127.0.0.1:{fake_server.port}"})
    fake_server.send(body)
    assert fake_server.wait_results([cid], timeout=15)[cid]["status"] == "done"
    assert direct_agent.proc.poll() is None
    # The agent's other traffic went on: uploads (200), and no registration with a key given.
    wait_for(lambda: ("POST", "/api/v1/ingest", AGENT_KEY) in fake_server.requests,
             timeout=15, what="an upload to the fake server")
    paths = {p for _, p, _ in fake_server.requests}
    assert "/agent/register" not in paths, paths
