"""Diagnostics end to end: ward-server's command queue and ward-agent's diagnostics.

A closed server and an agent enrolled with the enrollment token; an admin
queues each of the seven diagnostics against loopback targets through
POST /api/v1/hosts/{id}/commands (and through spectra's trigger routes),
waits for the result with GET /api/v1/commands/{id}?wait=30 and checks what
came back: state, exit code and the content of the output. Then the agent's
own configuration refusing diagnostics, the output cap, and the audit log.
(The long-poll's timeouts, expiry and restarts are tested elsewhere.)
"""

import gzip
import json
import os
import re
import time
import uuid

import pytest
import requests

from conftest import ADMIN, ENROLL_TOKEN, wait_for

HOSTNAME = "diag-host"
OUTPUT_MAX = 256 * 1024


class Stack:
    def __init__(self, server, agent, host_id, state):
        self.server = server
        self.agent = agent
        self.host_id = host_id
        self.state = state
        self.url = server.url


def host_status(server, host_id):
    r = requests.get(f"{server.url}/api/v1/hosts/{host_id}", headers=ADMIN, timeout=5)
    return r.json().get("status") if r.status_code == 200 else None


def start(server_factory, agent_factory, workdir, agent_args=()):
    """A closed server and an agent enrolled with the enrollment token, its host active."""
    server = server_factory(secure=True)
    agent = agent_factory(server.url, ["--enroll-token", ENROLL_TOKEN, "--hostname", HOSTNAME,
                                       "-r", "1", "--backoff-max", "2s", *agent_args])
    state = workdir / "agent"
    wait_for(lambda: (state / "api-key").exists() or agent.proc.poll() is not None,
             what="the agent to enroll")
    assert agent.proc.poll() is None, f"ward-agent exited:\n{agent.stderr()[-3000:]}"
    host_id = (state / "agent-id").read_text().strip()
    wait_for(lambda: host_status(server, host_id) == "active", what="the host to be active")
    return Stack(server, agent, host_id, state)


@pytest.fixture
def stack(server_factory, agent_factory, workdir):
    return start(server_factory, agent_factory, workdir)


def queue(stack, type_, args=None, **extra):
    body = {"type": type_, "args": args or {}, **extra}
    r = requests.post(f"{stack.url}/api/v1/hosts/{stack.host_id}/commands", json=body,
                      headers=ADMIN, timeout=10)
    assert r.status_code == 201, f"queueing {type_} {args}: {r.status_code} {r.text}"
    c = r.json()
    # A quick agent may have answered already by the time the 201 reads the command back.
    assert c["state"] in ("queued", "dispatched", "done", "failed"), c
    assert c["requested_by"] == "bootstrap" and c["type"] == type_, c
    return c["id"]


def wait_done(stack, command_id, timeout=60):
    """Waits for the command to finish with ?wait=30 and returns it, output included."""
    deadline = time.monotonic() + timeout
    while True:
        r = requests.get(f"{stack.url}/api/v1/commands/{command_id}", params={"wait": 30},
                         headers=ADMIN, timeout=40)
        assert r.status_code == 200, r.text
        c = r.json()
        if c["state"] in ("done", "failed", "expired"):
            return c
        assert time.monotonic() < deadline, f"command {command_id} still {c['state']}: {c}"


def run(stack, type_, args=None):
    c = wait_done(stack, queue(stack, type_, args))
    assert c["output_bytes"] == len((c["output"] or "").encode()), c
    assert c["output_bytes"] <= OUTPUT_MAX, c["output_bytes"]
    return c


def done(c, exit_code=0):
    """Asserts that c ran and exited with exit_code; returns its output."""
    what = f"{c['type']} {c['args']}"
    assert c["state"] == "done", f"{what}: {c['state']} {c['error']!r}\n{c['output']}"
    assert c["exit_code"] == exit_code, f"{what}: exit {c['exit_code']}\n{c['output']}"
    assert c["error"] is None and c["finished_at"] and c["dispatched_at"], c
    return c["output"]


def write_file(path, size):
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(os.urandom(size))  # random: no sparse or compressed blocks


def allocated(root):
    """What disk_usage counts: st_blocks * 512 of root and everything under it, links unfollowed."""
    total = os.lstat(root).st_blocks * 512
    for dirpath, dirnames, filenames in os.walk(root, followlinks=False):
        for name in dirnames + filenames:
            total += os.lstat(os.path.join(dirpath, name)).st_blocks * 512
    return total


def listed(output, title):
    """The (size, path) rows of one list of disk_usage's output."""
    rows, inside = [], False
    for line in output.splitlines():
        if line == title:
            inside = True
        elif inside and line.startswith("  ") and line.strip() != "(none)":
            size, path = line.strip().split("  ", 1)
            rows.append((size.strip(), path.strip()))
        elif inside:
            break
    return rows


# ---- Every diagnostic, through the canonical route ----


def test_logs(stack):
    c = run(stack, "logs", {"severity": "info", "lines": "20"})
    assert c["args"] == {"severity": "info", "lines": "20", "unit": ""}
    out = c["output"]
    assert c["state"] == "done", c
    if c["exit_code"] == 0:
        assert out.startswith("source: "), out
    else:
        # No journal and no /var/log/syslog here: the agent says so, and what it tried.
        assert c["exit_code"] == 1, c
        assert "no log source could be read" in out and "/var/log/syslog" in out, out
        print(f"logs on this host: {out.strip()}")


def fake_root(workdir, lines):
    """A --root with the real /proc and /sys and a syslog file of the given lines."""
    root = workdir / "root"
    (root / "var" / "log").mkdir(parents=True)
    os.symlink("/proc", root / "proc")
    os.symlink("/sys", root / "sys")
    (root / "var" / "log" / "syslog").write_bytes(b"".join(line + b"\n" for line in lines))
    return root


def test_logs_from_a_syslog_file(server_factory, agent_factory, workdir):
    lines = [b"Nov 22 10:00:%02d host app[1]: entry %d" % (i % 60, i) for i in range(30)]
    lines[-2] = b"Nov 22 10:00:28 host app[1]: entry 28 \x1b[31mred\x07 \xff"
    root = fake_root(workdir, lines)
    stack = start(server_factory, agent_factory, workdir, ["--root", str(root)])
    out = done(run(stack, "logs", {"severity": "err", "lines": "5"}))
    first, *rest = out.splitlines()
    assert first.startswith("source: /var/log/syslog (no journal files found), last 5 lines"), out
    assert rest[0].endswith("entry 25") and rest[-1].endswith("entry 29"), out
    assert len(rest) == 5 and "entry 24" not in out, out
    # Control characters and bytes that are not UTF-8 are escaped: one line stays one line.
    assert rest[3].endswith(r"entry 28 \x1b[31mred\x07 \xff"), rest[3]
    assert "\x1b" not in out and "\x07" not in out


def test_logs_output_is_capped(server_factory, agent_factory, workdir):
    # 1000 lines of 400 bytes: 400 KB, more than the 256 KiB a result may hold.
    lines = [b"Nov 22 10:00:00 host app[1]: %04d " % i + b"x" * 380 for i in range(1000)]
    root = fake_root(workdir, lines)
    stack = start(server_factory, agent_factory, workdir, ["--root", str(root)])
    c = run(stack, "logs", {"lines": "1000"})
    out = done(c)
    assert len(out.encode()) <= OUTPUT_MAX
    assert "[older lines omitted to fit the output limit]" in out, out[:500]
    assert out.rstrip("\n").endswith("0999 " + "x" * 380), "the newest lines must be kept"
    assert "0000 " not in out
    assert c["truncated"] is True, (
        "logs cut its output to fit 256 KiB (it says '[older lines omitted to fit the output "
        "limit]', output_bytes=%d) but the result reports truncated=false" % c["output_bytes"])


def test_disk_usage(stack, workdir):
    top = workdir / "du"
    write_file(top / "big.bin", 1 << 20)
    write_file(top / "sub" / "medium.bin", 256 << 10)
    write_file(top / "sub" / "deep" / "small.bin", 64 << 10)
    write_file(top / "tiny.txt", 100)
    (top / "empty").mkdir()
    # A symbolic link to an 8 MiB file outside: counted for the link alone, never followed.
    write_file(workdir / "outside" / "huge.bin", 8 << 20)
    os.symlink(workdir / "outside" / "huge.bin", top / "link-to-huge")
    os.symlink(workdir / "outside", top / "link-to-dir")
    expected = allocated(top)

    c = run(stack, "disk_usage", {"path": str(top), "top_n": "3"})
    out = done(c)
    summary = out.splitlines()[0]
    assert summary.startswith(f"{top}: "), out
    m = re.search(r"\((\d+) bytes\) in (\d+) entries", summary)
    assert m, summary
    assert int(m.group(1)) == expected, f"total {m.group(1)} != {expected} (lstat sum)\n{out}"
    assert int(m.group(2)) == 9, summary  # every entry below du, links included
    assert int(m.group(1)) < 8 << 20, "the symbolic link's target was counted"
    assert "huge.bin" not in out and "outside" not in out, out

    files = listed(out, "Largest files:")
    assert [p for _, p in files] == [f"{top}/big.bin", f"{top}/sub/medium.bin",
                                     f"{top}/sub/deep/small.bin"], out
    assert [s for s, _ in files] == ["1.0 MiB", "256.0 KiB", "64.0 KiB"], out
    dirs = listed(out, "Largest directories:")
    assert [p for _, p in dirs] == [str(top), f"{top}/sub", f"{top}/sub/deep"], out

    # The default top_n is 10: the links, the tiny file and the empty directory show too.
    out = done(run(stack, "disk_usage", {"path": str(top)}))
    paths = [p for _, p in listed(out, "Largest files:")]
    assert f"{top}/link-to-huge" in paths and f"{top}/tiny.txt" in paths, out
    assert f"{top}/empty" in [p for _, p in listed(out, "Largest directories:")], out
    assert not any(p.startswith(f"{top}/link-to-dir/") for p in paths), out

    # A path that does not exist, and one that is a symbolic link, fail with the reason.
    c = run(stack, "disk_usage", {"path": str(top / "missing")})
    assert c["state"] == "failed" and "No such file" in (c["error"] or ""), c
    assert "cannot open" in c["output"], c
    c = run(stack, "disk_usage", {"path": str(top / "link-to-dir")})
    assert c["state"] == "failed", c
    assert "symbolic link" in c["output"], c


def test_mounts(stack):
    c = run(stack, "mounts")
    out = done(c)
    lines = out.splitlines()
    assert lines[0].split()[:3] == ["Device", "Mounted", "on"], out
    table = open(f"/proc/{stack.agent.proc.pid}/mountinfo").read().splitlines()
    assert f"{len(table)} mounts" in lines, out
    mount_points = {line.split()[4] for line in table}
    shown = {line.split()[1] for line in lines[1:len(table) + 1]}
    assert "/" in shown and "/proc" in shown, out
    assert {m for m in mount_points if " " not in m and "\\" not in m} <= shown, out
    root = next(line for line in lines[1:] if line.split()[1] == "/")
    assert re.search(r"\d+%", root), f"the root filesystem has a size and use: {root}"
    proc = next(line for line in lines[1:] if line.split()[1] == "/proc")
    assert proc.split()[2] == "proc", proc


def ping_unavailable(c):
    """Why ping cannot work in this sandbox, when the agent says it cannot."""
    out = c["output"] or ""
    if "no ping program was found" in out:
        return out.strip()
    return None


def test_ping(stack):
    c = run(stack, "ping", {"target": "127.0.0.1", "count": "2", "timeout": "5"})
    why = ping_unavailable(c)
    if why:
        # Neither a ping socket nor a raw socket nor a ping program: a clean failure.
        print(f"ping cannot work in this sandbox: {why}")
        assert c["state"] == "failed" and c["error"], c
        assert "net.ipv4.ping_group_range" in why, why
        return
    out = done(c)
    assert re.match(r"PING 127\.0\.0\.1: 2 sent, 2 received, 0% loss, avg rtt [\d.]+ ms", out) or \
        ("running ping" in out and " 0% packet loss" in out), out

    # A name that does not resolve: the run works, the target is not reachable.
    c = run(stack, "ping", {"target": "no-such-host.invalid", "count": "1", "timeout": "3"})
    out = done(c, exit_code=1)
    assert "no-such-host.invalid" in out, out


def test_connect(stack, refused_port):
    port = stack.server.port
    out = done(run(stack, "connect", {"target": f"127.0.0.1:{port}", "timeout": "2"}))
    assert re.fullmatch(rf"connected to 127\.0\.0\.1:{port} in [\d.]+ ms\n", out), out

    closed = refused_port
    out = done(run(stack, "connect", {"target": f"127.0.0.1:{closed}", "timeout": "2"}),
               exit_code=1)
    assert out == f"cannot connect to 127.0.0.1:{closed}: Connection refused\n", out


def netstat_rows(out):
    rows = []
    for line in out.splitlines()[1:]:
        cells = line.split()
        if len(cells) == 5 and cells[0] in ("tcp", "tcp6", "udp", "udp6"):
            rows.append(cells)
    return rows


def test_netstat(stack):
    port = stack.server.port
    out = done(run(stack, "netstat", {"proto": "tcp", "state": "listen"}))
    assert out.splitlines()[0].split() == ["Proto", "Local", "Remote", "State", "PID/Program"]
    rows = netstat_rows(out)
    assert re.search(rf"^{len(rows)} sockets$", out, re.M), out
    assert all(r[0].startswith("tcp") and r[3] == "LISTEN" for r in rows), out
    mine = [r for r in rows if r[1] == f"127.0.0.1:{port}"]
    assert len(mine) == 1, f"the server's port {port} is not listed:\n{out}"
    owner = mine[0][4]
    if os.geteuid() == 0 or owner != "-":
        assert owner == f"{stack.server.proc.pid}/ward-server", out

    # Established connections: the agent's own long-poll to the server is one.
    out = done(run(stack, "netstat", {"proto": "tcp", "state": "established"}))
    rows = netstat_rows(out)
    assert all(r[3] == "ESTABLISHED" for r in rows), out
    assert any(r[2] == f"127.0.0.1:{port}" for r in rows), out

    # UDP only.
    out = done(run(stack, "netstat", {"proto": "udp"}))
    assert all(r[0].startswith("udp") for r in netstat_rows(out)), out


def traceroute_unavailable(c):
    out = c["output"] or ""
    if "probe sockets are not permitted" in out and "no traceroute program was found" in out:
        return out.strip()
    return None


def test_traceroute(stack):
    for proto in ("udp", "icmp"):
        # A probe port (33435 + ...) that some other process on this host holds for a moment
        # swallows that hop's probe ("*"): the run is repeated before it counts as a failure.
        for attempt in range(3):
            c = run(stack, "traceroute", {"target": "127.0.0.1", "max_hops": "5", "proto": proto})
            why = traceroute_unavailable(c)
            if why:
                print(f"traceroute cannot work in this sandbox: {why}")
                assert c["state"] == "failed" and c["error"], c
                return
            out = done(c)
            assert "traceroute to 127.0.0.1 (127.0.0.1), 5 hops max" in out, out
            if proto == "icmp" and "using UDP probes" in out:
                print("no ICMP ping sockets here: traceroute used UDP probes")
            hops = [line for line in out.splitlines() if re.match(r"^\s*\d+  ", line)]
            assert re.fullmatch(r"\s*\d+  127\.0\.0\.1  [\d.]+ ms", hops[-1]), out
            if len(hops) == 1:
                break
            print(f"traceroute reached 127.0.0.1 at hop {len(hops)}, not 1; again:\n{out}")
        assert len(hops) == 1 and re.fullmatch(r" 1  127\.0\.0\.1  [\d.]+ ms", hops[0]), out


# ---- spectra's trigger routes ----


def trigger(stack, route, **params):
    return requests.post(f"{stack.url}/admin/{route}", params={"hostname": HOSTNAME, **params},
                         headers=ADMIN, timeout=10)


def triggered(stack, route, **params):
    r = trigger(stack, route, **params)
    assert r.status_code == 202, f"{route} {params}: {r.status_code} {r.text}"
    body = r.json()
    assert body["status"] == "queued" and body["host_id"] == stack.host_id, body
    c = wait_done(stack, body["command_id"])
    assert c["requested_by"] == "bootstrap", c
    return c


def test_spectra_trigger_routes(stack, workdir):
    write_file(workdir / "du" / "f.bin", 8192)
    port = stack.server.port

    c = triggered(stack, "trigger_logs", severity="err", lines="3")
    assert c["type"] == "logs" and c["args"] == {"severity": "err", "lines": "3", "unit": ""}
    assert c["state"] == "done" and c["exit_code"] in (0, 1), c

    c = triggered(stack, "trigger_disk", path=str(workdir / "du"), top_n="2")
    assert c["type"] == "disk_usage" and c["args"]["top_n"] == "2", c
    assert f"{workdir}/du/f.bin" in done(c)

    c = triggered(stack, "trigger_network", action="ping", target="127.0.0.1", count="1")
    assert c["type"] == "ping" and c["args"]["count"] == "1", c
    if not ping_unavailable(c):
        assert "1 received" in done(c) or "1 packets received" in done(c), c

    c = triggered(stack, "trigger_network", action="connect", target=f"127.0.0.1:{port}")
    assert done(c).startswith(f"connected to 127.0.0.1:{port}"), c

    c = triggered(stack, "trigger_network", action="netstat", proto="tcp", state="listen")
    assert f"127.0.0.1:{port}" in done(c), c

    c = triggered(stack, "trigger_network", action="traceroute", target="127.0.0.1",
                  max_hops="3")
    if not traceroute_unavailable(c):
        assert re.search(r"^ 1  127\.0\.0\.1  ", done(c), re.M), c

    # Refusals: nothing is queued by any of them.
    before = len(requests.get(f"{stack.url}/api/v1/commands", headers=ADMIN,
                              timeout=10).json()["commands"])
    r = requests.post(f"{stack.url}/admin/trigger_logs", params={"hostname": "no-such-host"},
                      headers=ADMIN, timeout=10)
    assert r.status_code == 404, r.text
    r = trigger(stack, "trigger_network", action="nmap", target="127.0.0.1")
    assert r.status_code == 400 and "action" in r.text, r.text
    r = trigger(stack, "trigger_network", target="127.0.0.1")
    assert r.status_code == 400 and "action" in r.text, r.text
    r = trigger(stack, "trigger_network", action="ping")
    assert r.status_code == 400 and "target" in r.text, r.text
    r = trigger(stack, "trigger_network", action="connect", target="127.0.0.1")
    assert r.status_code == 400 and "target" in r.text, r.text
    r = trigger(stack, "trigger_disk", path="relative")
    assert r.status_code == 400 and "path" in r.text, r.text
    r = requests.post(f"{stack.url}/admin/trigger_logs", headers=ADMIN, timeout=10)
    assert r.status_code == 400 and "hostname" in r.text, r.text
    r = requests.post(f"{stack.url}/admin/trigger_logs", params={"hostname": HOSTNAME},
                      timeout=10)
    assert r.status_code == 401, r.text
    after = len(requests.get(f"{stack.url}/api/v1/commands", headers=ADMIN,
                             timeout=10).json()["commands"])
    assert after == before


# ---- The agent's configuration refuses ----


def refused(c, key):
    assert c["state"] == "failed", c
    assert c["error"].startswith("refused") and key in c["error"], c["error"]
    assert not c["output"], c


def test_all_diagnostics_turned_off(server_factory, agent_factory, workdir):
    stack = start(server_factory, agent_factory, workdir, ["--diagnostics.enabled=false"])
    for type_, args in (("ping", {"target": "127.0.0.1", "count": "1"}), ("mounts", {}),
                        ("netstat", {}), ("logs", {})):
        refused(run(stack, type_, args), "(diagnostics.enabled)")
    # The refusal is in the audit log as a failure.
    cid = queue(stack, "connect", {"target": f"127.0.0.1:{stack.server.port}"})
    refused(wait_done(stack, cid), "(diagnostics.enabled)")
    events = audit(stack, cid)
    assert [e["event"] for e in events] == ["queued", "dispatched", "failed"], events
    assert "refused" in json.dumps(events[-1]["detail"]), events[-1]


def test_one_diagnostic_turned_off(server_factory, agent_factory, workdir):
    conf = workdir / "agent.yaml"
    conf.write_text("diagnostics:\n  enabled: true\n  ping:\n    enabled: false\n")
    stack = start(server_factory, agent_factory, workdir, ["-c", str(conf)])
    c = run(stack, "ping", {"target": "127.0.0.1", "count": "1"})
    refused(c, "(diagnostics.ping.enabled)")
    assert "the ping diagnostic" in c["error"], c["error"]
    # The others still run.
    done(run(stack, "connect", {"target": f"127.0.0.1:{stack.server.port}"}))
    done(run(stack, "mounts"))


def test_one_diagnostic_turned_off_by_flag(server_factory, agent_factory, workdir):
    stack = start(server_factory, agent_factory, workdir, ["--diagnostics.connect.enabled=false"])
    refused(run(stack, "connect", {"target": f"127.0.0.1:{stack.server.port}"}),
            "(diagnostics.connect.enabled)")
    c = run(stack, "ping", {"target": "127.0.0.1", "count": "1"})
    assert c["state"] == "done" or ping_unavailable(c), c
    done(run(stack, "netstat", {"proto": "tcp", "state": "listen"}))


# ---- The output cap ----


def long_path_tree(top):
    """A tree whose paths are about 4000 bytes long: 100 of them are over 256 KiB of text."""
    level = "d" * 250
    deep = top
    fd = os.open(top, os.O_RDONLY | os.O_DIRECTORY)
    try:
        for _ in range(14):  # 14 levels of 251 bytes: 3514 bytes below top
            os.mkdir(level, dir_fd=fd)
            new = os.open(level, os.O_RDONLY | os.O_DIRECTORY, dir_fd=fd)
            os.close(fd)
            fd = new
            deep = deep / level
        for i in range(110):
            name = f"{i:03d}" + "e" * 200
            os.mkdir(name, dir_fd=fd)
            sub = os.open(name, os.O_RDONLY | os.O_DIRECTORY, dir_fd=fd)
            f = os.open("f" * 200, os.O_WRONLY | os.O_CREAT, 0o644, dir_fd=sub)
            os.write(f, os.urandom(4096 * (i + 1)))
            os.close(f)
            os.close(sub)
    finally:
        os.close(fd)


def test_output_is_capped(stack, workdir):
    top = workdir / "long"
    top.mkdir()
    long_path_tree(top)
    c = run(stack, "disk_usage", {"path": str(top), "top_n": "100"})
    out = done(c)
    assert c["output_bytes"] <= OUTPUT_MAX, c["output_bytes"]
    assert c["output_bytes"] > OUTPUT_MAX - 8192, "the output was cut well below the cap"
    assert c["truncated"] is True, c["output_bytes"]
    assert out.splitlines()[0].startswith(f"{top}: "), out[:300]

    # The server takes no more than 256 KiB of output from an agent either.
    key = (stack.state / "api-key").read_text().strip()
    agent_headers = {"X-Agent-API-Key": key}
    result = {"id": str(uuid.uuid4()), "status": "done", "exit_code": 0,
              "output": "x" * (300 * 1024), "truncated": False, "error": None}
    r = requests.post(f"{stack.url}/api/v1/agent/command_result", json=result,
                      headers=agent_headers, timeout=10)
    assert r.status_code == 413, f"{r.status_code} {r.text}"
    body = gzip.compress(json.dumps(result).encode())
    r = requests.post(f"{stack.url}/api/v1/agent/command_result", data=body, timeout=10,
                      headers={**agent_headers, "Content-Encoding": "gzip",
                               "Content-Type": "application/json"})
    assert r.status_code == 413, f"gzip: {r.status_code} {r.text}"
    # Exactly 256 KiB is allowed past the size check (and then 404: no such command).
    result["output"] = "x" * OUTPUT_MAX
    r = requests.post(f"{stack.url}/api/v1/agent/command_result", json=result,
                      headers=agent_headers, timeout=10)
    assert r.status_code == 404, f"{r.status_code} {r.text}"
    # An admin token cannot post results.
    r = requests.post(f"{stack.url}/api/v1/agent/command_result", json=result, headers=ADMIN,
                      timeout=10)
    assert r.status_code == 403, f"{r.status_code} {r.text}"


# ---- The audit log ----


def audit(stack, command_id):
    r = requests.get(f"{stack.url}/api/v1/audit", params={"command_id": command_id},
                     headers=ADMIN, timeout=10)
    assert r.status_code == 200, r.text
    return list(reversed(r.json()["entries"]))  # oldest first


def test_audit_log(stack, refused_port):
    port = stack.server.port
    cid = queue(stack, "connect", {"target": f"127.0.0.1:{port}"}, ttl=120)
    c = wait_done(stack, cid)
    done(c)
    events = audit(stack, cid)
    assert [e["event"] for e in events] == ["queued", "dispatched", "done"], events
    assert all(e["command_id"] == cid and e["host_id"] == stack.host_id for e in events), events
    queued, dispatched, finished = events
    assert queued["actor"] == "bootstrap", queued
    assert queued["detail"]["type"] == "connect", queued
    assert queued["detail"]["args"] == {"target": f"127.0.0.1:{port}", "timeout": "5"}, queued
    assert dispatched["actor"] != "bootstrap", dispatched
    assert finished["detail"]["exit_code"] == 0, finished
    assert finished["detail"]["output_bytes"] == c["output_bytes"] > 0, finished
    times = [e["time"] for e in events]
    assert times == sorted(times), times

    # A run that exits 1 is "done" with that exit code.
    cid = queue(stack, "connect", {"target": f"127.0.0.1:{refused_port}", "timeout": "1"})
    c = wait_done(stack, cid)
    done(c, exit_code=1)
    finished = audit(stack, cid)[-1]
    assert finished["event"] == "done" and finished["detail"]["exit_code"] == 1, finished
    assert finished["detail"]["output_bytes"] == c["output_bytes"], finished

    # The filter: another command's entries are not listed.
    assert {e["command_id"] for e in audit(stack, cid)} == {cid}
