"""The HTTP layer of a real ward-server: request ids, CORS, gzip both ways,
limits and their errors, connection caps and timeouts, the access log, and
a graceful stop with a request in flight.

Some checks talk raw HTTP/1.1 over a socket, where a client library would
hide what is on the wire (an early 413, a HEAD without body, a closed
connection). Waits are on conditions with generous deadlines, never on a
guess of how long the server takes.
"""

import gzip
import json
import re
import signal
import socket
import subprocess
import time

import requests

from conftest import binary, wait_for

HOST = "0192a1b2-c3d4-7e5f-8a9b-0c1d2e3f4a5b"


def batch(n=2, host=HOST):
    return {
        "server_id": host,
        "metrics": [
            {
                "metric_type": "cpu",
                "metric_name": "usage",
                "value": 1.5 + i,
                "labels": {"core": str(i)},
                "timestamp": f"2025-11-20T10:{i // 60:02d}:{i % 60:02d}Z",
            }
            for i in range(n)
        ],
    }


def assert_error(r, status, *words):
    """A JSON error: exactly error and request_id, the id as in the header."""
    assert r.status_code == status, r.text
    body = r.json()
    assert set(body) == {"error", "request_id"}
    assert body["request_id"] == r.headers["X-Request-Id"]
    for w in words:
        assert w in body["error"], body["error"]


# ---- A raw HTTP/1.1 client ----


def connect(server, timeout=15):
    s = socket.create_connection(("127.0.0.1", server.port), timeout=timeout)
    s.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    return s


class Raw:
    """One response read off a socket: status, headers (lowercase names), body."""

    def __init__(self, status, headers, body):
        self.status = status
        self.headers = headers
        self.body = body

    def json(self):
        return json.loads(self.body)


def read_response(sock, head_only=False):
    data = b""
    while b"\r\n\r\n" not in data:
        chunk = sock.recv(65536)
        if not chunk:
            raise ConnectionError(f"closed before a response head: {data!r}")
        data += chunk
    head, rest = data.split(b"\r\n\r\n", 1)
    lines = head.decode("latin-1").split("\r\n")
    status = int(lines[0].split()[1])
    headers = {}
    for line in lines[1:]:
        name, _, value = line.partition(":")
        headers[name.strip().lower()] = value.strip()
    length = 0 if head_only else int(headers.get("content-length", "0"))
    while len(rest) < length:
        chunk = sock.recv(65536)
        if not chunk:
            raise ConnectionError("closed inside a response body")
        rest += chunk
    return Raw(status, headers, rest[:length])


def raw_request(sock, method, path, headers=None, body=b""):
    h = {"Host": "ward", "Content-Length": str(len(body))}
    h.update(headers or {})
    head = f"{method} {path} HTTP/1.1\r\n" + "".join(f"{k}: {v}\r\n" for k, v in h.items())
    sock.sendall(head.encode("latin-1") + b"\r\n" + body)
    return read_response(sock, head_only=method == "HEAD")


def closed_by_peer(sock):
    """True when the server closed the connection: EOF or a reset."""
    try:
        return sock.recv(1) == b""
    except (ConnectionResetError, BrokenPipeError):
        return True


# ---- Request ids ----


def test_request_id_is_echoed_or_generated(server):
    r = requests.get(server.url + "/health", headers={"X-Request-Id": "trace-42.a_b"}, timeout=10)
    assert r.headers["X-Request-Id"] == "trace-42.a_b"
    r = requests.get(server.url + "/health", timeout=10)
    assert re.fullmatch(r"[0-9a-f]{16}", r.headers["X-Request-Id"])
    # An id that could smuggle anything into logs is replaced.
    for bad in ["has space", "x" * 65, "quote\"d"]:
        r = requests.get(server.url + "/health", headers={"X-Request-Id": bad}, timeout=10)
        assert re.fullmatch(r"[0-9a-f]{16}", r.headers["X-Request-Id"])
    r = requests.get(server.url + "/nope", headers={"X-Request-Id": "err-1"}, timeout=10)
    assert_error(r, 404)
    assert r.json()["request_id"] == "err-1"


# ---- CORS ----


def test_cors_allowed_denied_and_preflight(server_factory):
    server = server_factory(["--cors-origin", "https://dash.example, https://other.example:8443/"])
    ok = {"Origin": "https://dash.example"}
    r = requests.get(server.url + "/health", headers=ok, timeout=10)
    assert r.headers["Access-Control-Allow-Origin"] == "https://dash.example"
    assert "Origin" in r.headers["Vary"]
    for h in ["X-Request-Id", "Retry-After", "HashSHA256"]:
        assert h in r.headers["Access-Control-Expose-Headers"]
    r = requests.get(
        server.url + "/health", headers={"Origin": "https://other.example:8443"}, timeout=10
    )
    assert r.headers["Access-Control-Allow-Origin"] == "https://other.example:8443"
    # Errors carry CORS too, so a browser can read them.
    r = requests.get(server.url + "/nope", headers=ok, timeout=10)
    assert_error(r, 404)
    assert r.headers["Access-Control-Allow-Origin"] == "https://dash.example"

    for origin in ["https://evil.example", "https://dash.example.evil", "null"]:
        r = requests.get(server.url + "/health", headers={"Origin": origin}, timeout=10)
        assert r.status_code == 200
        assert "Access-Control-Allow-Origin" not in r.headers

    pre = {**ok, "Access-Control-Request-Method": "POST", "Access-Control-Request-Headers": "x"}
    r = requests.options(server.url + "/api/v1/ingest", headers=pre, timeout=10)
    assert r.status_code == 204, r.text
    assert r.content == b""
    assert "POST" in r.headers["Allow"] and "OPTIONS" in r.headers["Allow"]
    assert "POST" in r.headers["Access-Control-Allow-Methods"]
    allowed = [h.strip() for h in r.headers["Access-Control-Allow-Headers"].split(",")]
    for h in [
        "Content-Type",
        "Content-Encoding",
        "Authorization",
        "X-Agent-API-Key",
        "X-Request-Id",
        "HashSHA256",
        "X-Ward-Signature",
        "X-Ward-Timestamp",
    ]:
        assert h in allowed
    assert r.headers["Access-Control-Max-Age"] == "600"
    assert r.headers["Access-Control-Allow-Origin"] == "https://dash.example"

    # Without an allowed origin OPTIONS still answers, without CORS.
    for headers in [{}, {"Origin": "https://evil.example"}]:
        r = requests.options(server.url + "/health", headers=headers, timeout=10)
        assert r.status_code == 204
        assert "GET" in r.headers["Allow"]
        assert not any(k.lower().startswith("access-control-") for k in r.headers)

    r = requests.options(server.url + "/nope", headers=pre, timeout=10)
    assert_error(r, 404)


def test_cors_star_allows_any_origin(server_factory):
    server = server_factory(["--cors-origin", "*"])
    r = requests.get(server.url + "/health", headers={"Origin": "https://x.example"}, timeout=10)
    assert r.headers["Access-Control-Allow-Origin"] == "https://x.example"
    r = requests.get(server.url + "/health", timeout=10)
    assert "Access-Control-Allow-Origin" not in r.headers


def test_bad_cors_origin_is_refused_at_start(workdir):
    args = [binary("ward-server"), "-a", "127.0.0.1:0", "-d", str(workdir / "x.db")]
    p = subprocess.run(
        args + ["--cors-origin", "not-an-origin"], capture_output=True, timeout=30, cwd=workdir
    )
    assert p.returncode != 0
    assert b"CORS origin" in p.stderr


# ---- gzip both ways ----


def test_cross_origin_writes_are_refused(server_factory):
    server = server_factory(["--cors-origin", "https://dash.example"])
    body = batch(2)
    r = ingest(server, body, {"Origin": "https://evil.example"})
    assert_error(r, 403, "evil.example")
    r = ingest(server, body, {"Origin": "null"})
    assert r.status_code == 403
    # Reads are not refused (CORS keeps a foreign page from seeing them).
    r = requests.get(server.url + "/health", headers={"Origin": "https://evil.example"}, timeout=10)
    assert r.status_code == 200 and "Access-Control-Allow-Origin" not in r.headers
    # An allowed origin, the server's own origin, and clients without Origin may write.
    assert ingest(server, body, {"Origin": "https://dash.example"}).status_code == 200
    assert ingest(server, body, {"Origin": server.url}).status_code == 200
    assert ingest(server, body).status_code == 200


def ingest(server, body, headers=None):
    data = body if isinstance(body, bytes) else json.dumps(body).encode()
    h = {"Content-Type": "application/json"}
    h.update(headers or {})
    return requests.post(server.url + "/api/v1/ingest", data=data, headers=h, timeout=30)


def test_gzip_request_and_response_and_head(server):
    body = gzip.compress(json.dumps(batch(40)).encode())
    r = ingest(server, body, {"Content-Encoding": "gzip"})
    assert r.status_code == 200, r.text
    assert r.json()["accepted"] == 40

    path = "/api/v1/metrics"
    params = f"?server_id={HOST}&from=2025-11-20T00:00:00Z&to=2025-11-21T00:00:00Z&limit=1000"
    sock = connect(server)
    plain = raw_request(sock, "GET", path + params, {"Accept-Encoding": "identity"})
    assert plain.status == 200
    assert len(plain.body) >= 1024
    assert "content-encoding" not in plain.headers
    assert "Accept-Encoding" in plain.headers["vary"]

    zipped = raw_request(sock, "GET", path + params, {"Accept-Encoding": "br;q=1, gzip;q=0.8"})
    assert zipped.status == 200
    assert zipped.headers["content-encoding"] == "gzip"
    assert "Accept-Encoding" in zipped.headers["vary"]
    assert len(zipped.body) < len(plain.body)
    assert gzip.decompress(zipped.body) == plain.body

    head = raw_request(sock, "HEAD", path + params, {"Accept-Encoding": "gzip"})
    assert head.status == 200
    assert head.headers["content-encoding"] == "gzip"
    assert head.headers["content-length"] == zipped.headers["content-length"]
    # HEAD sent no body: the connection is still in step for the next request.
    again = raw_request(sock, "GET", "/health", {"Accept-Encoding": "gzip"})
    assert again.status == 200 and b"ok" in again.body
    assert "content-encoding" not in again.headers  # too small to compress

    refused = raw_request(sock, "GET", path + params, {"Accept-Encoding": "gzip;q=0, *"})
    assert "content-encoding" not in refused.headers
    sock.close()

    # A client library that asks for gzip gets the same rows.
    r = requests.get(server.url + path + params, timeout=10)
    assert r.headers["Content-Encoding"] == "gzip"
    assert len(r.json()) == 40


# ---- Limits and errors ----


def test_body_over_limit_by_content_length_gets_413(server_factory):
    server = server_factory(["--max-body-bytes", "4096"])
    sock = connect(server)
    # Only the head is sent: the answer comes before any body.
    sock.sendall(
        b"POST /api/v1/ingest HTTP/1.1\r\nHost: ward\r\nContent-Type: application/json\r\n"
        b"Content-Length: 100000\r\n\r\n"
    )
    r = read_response(sock)
    assert r.status == 413
    body = r.json()
    assert set(body) == {"error", "request_id"} and "4096" in body["error"]
    sock.close()


def test_chunked_body_over_limit_gets_413(server_factory):
    server = server_factory(["--max-body-bytes", "4096"])
    sock = connect(server)
    sock.sendall(
        b"POST /api/v1/ingest HTTP/1.1\r\nHost: ward\r\nContent-Type: application/json\r\n"
        b"Transfer-Encoding: chunked\r\n\r\n"
    )
    chunk = b"x" * 8192
    for _ in range(8):
        sock.sendall(b"%x\r\n%s\r\n" % (len(chunk), chunk))
    sock.sendall(b"0\r\n\r\n")
    r = read_response(sock)
    assert r.status == 413
    assert "exceeds the limit of 4096" in r.json()["error"]
    sock.close()


def test_gzip_bomb_gets_413(server_factory):
    server = server_factory(["--max-decoded-body-bytes", "1048576"])
    bomb = gzip.compress(b"\0" * (16 << 20), compresslevel=9)
    assert len(bomb) < 64 * 1024
    r = ingest(server, bomb, {"Content-Encoding": "gzip"})
    assert_error(r, 413, "decompressed body exceeds the limit of 1048576")
    # The server is fine afterwards.
    assert requests.get(server.url + "/health", timeout=10).status_code == 200


def test_unknown_content_encoding_gets_415(server):
    assert_error(ingest(server, b"{}", {"Content-Encoding": "br"}), 415, "Content-Encoding")
    assert_error(ingest(server, b"{}", {"Content-Encoding": "gzip, gzip"}), 415)


def test_404_405_414_are_json(server):
    assert_error(requests.get(server.url + "/nope", timeout=10), 404, "no route")
    r = requests.delete(server.url + "/health", timeout=10)
    assert_error(r, 405, "DELETE")
    assert r.headers["Allow"] == "GET, HEAD, OPTIONS"
    assert "GET" in r.json()["error"]
    r = requests.get(server.url + "/api/v1/ingest", timeout=10)
    assert_error(r, 405)
    assert r.headers["Allow"] == "POST, OPTIONS"
    # Bytes that are not UTF-8, and paths no route has, are a plain 404.
    sock = connect(server)
    for path in ["/%FF%FE/x", "/\xff\xfe", "/health/../health/", "//", "/heal%74h/"]:
        r = raw_request(sock, "GET", path)
        assert r.status == 404, path
        assert set(r.json()) == {"error", "request_id"}
    r = raw_request(sock, "GET", "/" + "a" * 3000)
    assert r.status == 414
    assert set(r.json()) == {"error", "request_id"}
    sock.close()


# ---- Connections ----


def live_connection(server):
    """A connection the server has accepted, proven by an answered request."""

    def attempt():
        s = connect(server)
        try:
            if raw_request(s, "GET", "/health").status == 200:
                return s
        except (ConnectionError, OSError):
            pass
        s.close()
        return None

    return wait_for(attempt, 30, "a connection the server accepts")


def test_per_ip_connection_cap(server_factory):
    server = server_factory(["--max-connections-per-ip", "2"])
    a = live_connection(server)
    b = live_connection(server)
    # A third concurrent connection from the same address is closed unanswered.
    c = connect(server)
    try:
        c.sendall(b"GET /health HTTP/1.1\r\nHost: ward\r\n\r\n")
    except OSError:
        pass
    assert closed_by_peer(c)
    c.close()
    # The two held connections still work.
    assert raw_request(a, "GET", "/health").status == 200
    assert raw_request(b, "GET", "/health").status == 200
    # Once one is gone there is room again.
    a.close()
    d = live_connection(server)
    d.close()
    b.close()


def test_idle_connection_is_closed_after_timeout(server_factory):
    server = server_factory(["--connection-timeout", "1s"])
    sock = connect(server, timeout=15)
    assert raw_request(sock, "GET", "/health").status == 200
    start = time.monotonic()
    assert closed_by_peer(sock), "the idle connection was not closed"
    assert time.monotonic() - start < 15
    sock.close()


# ---- Access log ----


def test_access_log_lines_are_json(server_factory, workdir):
    log = workdir / "access.log"
    server = server_factory(["--access-log", str(log), "--max-body-bytes", "4096"])
    ua = 'probe/1.0 "quoted" \\back'
    requests.get(server.url + "/health", headers={"User-Agent": ua}, timeout=10)
    requests.get(server.url + "/nope?token=hunter2&x=1", timeout=10)
    body = json.dumps(batch(2)).encode()
    assert ingest(server, body).status_code == 200
    sock = connect(server)
    sock.sendall(b"POST /api/v1/ingest HTTP/1.1\r\nHost: ward\r\nContent-Length: 100000\r\n\r\n")
    assert read_response(sock).status == 413
    sock.close()

    def lines():
        text = log.read_text() if log.exists() else ""
        found = [json.loads(line) for line in text.splitlines()]
        # A line is written when its request ends, which may be after the client saw the answer.
        seen = {(e["path"], e["status"]) for e in found}
        want = {("/health", 200), ("/nope", 404), ("/api/v1/ingest", 200), ("/api/v1/ingest", 413)}
        return found if want <= seen else None

    entries = wait_for(lines, 30, "the access log lines of the four requests")
    fields = {
        "time",
        "request_id",
        "remote",
        "method",
        "path",
        "route",
        "status",
        "duration_ms",
        "bytes_in",
        "bytes_out",
        "user_agent",
    }
    for e in entries:
        assert fields <= set(e), e
        assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z", e["time"])
        assert e["remote"] == "127.0.0.1"
        assert isinstance(e["duration_ms"], (int, float)) and e["duration_ms"] >= 0
        assert re.fullmatch(r"[0-9a-f]{16}", e["request_id"])
    health = [e for e in entries if e["path"] == "/health" and e["user_agent"] == ua]
    assert health and health[0]["route"] == "/health" and health[0]["status"] == 200
    assert health[0]["method"] == "GET" and health[0]["bytes_out"] > 0
    nope = [e for e in entries if e["path"] == "/nope"]
    assert nope and nope[0]["route"] is None and nope[0]["status"] == 404
    posted = [e for e in entries if e["method"] == "POST" and e["status"] == 200]
    assert posted and posted[0]["bytes_in"] == len(body)
    assert posted[0]["route"] == "/api/v1/ingest"
    refused = [e for e in entries if e["status"] == 413]
    assert refused and refused[0]["bytes_in"] == 0
    # The query string may hold secrets: it is never logged.
    assert "hunter2" not in log.read_text()


def test_access_log_goes_to_stderr_by_default(server):
    requests.get(server.url + "/nope-stderr", timeout=10)
    line = wait_for(
        lambda: next((x for x in server.stderr().splitlines() if "/nope-stderr" in x), None),
        30,
        "the access log line on stderr",
    )
    assert json.loads(line)["status"] == 404


def test_access_log_off(server_factory):
    server = server_factory(["--access-log", "off"])
    requests.get(server.url + "/nope-off", timeout=10)
    server.stop()
    assert "/nope-off" not in server.stderr()


# ---- Graceful stop ----


def test_sigterm_lets_a_request_in_flight_finish(server):
    body = json.dumps(batch(3)).encode()
    half = len(body) // 2
    sock = connect(server, timeout=30)
    sock.sendall(
        b"POST /api/v1/ingest HTTP/1.1\r\nHost: ward\r\nContent-Type: application/json\r\n"
        b"Expect: 100-continue\r\nContent-Length: %d\r\n\r\n" % len(body)
    )
    # "100 Continue" means the server holds the request: it is in flight.
    assert read_response(sock).status == 100
    sock.sendall(body[:half])
    server.proc.send_signal(signal.SIGTERM)

    def refusing():
        try:
            r = requests.get(server.url + "/health", timeout=1)
        except requests.RequestException:
            return False
        return r.status_code == 503 and "shutting down" in r.json()["error"]

    # The stop has begun once new requests are refused.
    wait_for(refusing, 30, "the server to refuse new requests")
    assert server.proc.poll() is None, "the server quit with a request in flight"
    sock.sendall(body[half:])
    r = read_response(sock)
    assert r.status == 200, r.body
    assert r.json()["accepted"] == 3
    assert r.headers.get("connection", "").lower() == "close"
    sock.close()
    assert server.stop() == 0
