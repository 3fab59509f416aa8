"""ward-agent uploads over TLS to a throwaway CA's server, and refuses
servers it cannot verify: an unknown CA, or a certificate for another name.
Also: the agent's listener drops a client that stalls in its request head
and keeps serving /metrics."""

import gzip
import http.server
import json
import re
import socket
import ssl
import subprocess
import threading
import time

import pytest
import requests

from conftest import Process, binary, wait_for


def openssl(*args, cwd):
    subprocess.run(["openssl", *args], cwd=cwd, check=True, capture_output=True)


@pytest.fixture
def pki(tmp_path):
    """A CA, a certificate for localhost and 127.0.0.1, and one for localhost only."""
    d = tmp_path / "pki"
    d.mkdir()
    ec = ["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes"]
    openssl("req", "-x509", *ec, "-keyout", "ca.key", "-out", "ca.pem", "-days", "2",
            "-subj", "/CN=ward test CA", cwd=d)
    for name, san in (("both", "DNS:localhost,IP:127.0.0.1"), ("named", "DNS:localhost")):
        (d / f"{name}.ext").write_text(
            f"subjectAltName={san}\nbasicConstraints=CA:FALSE\nextendedKeyUsage=serverAuth\n"
        )
        openssl("req", *ec, "-keyout", f"{name}.key", "-out", f"{name}.csr",
                "-subj", "/CN=localhost", cwd=d)
        openssl("x509", "-req", "-in", f"{name}.csr", "-CA", "ca.pem", "-CAkey", "ca.key",
                "-CAcreateserial", "-out", f"{name}.pem", "-days", "2",
                "-extfile", f"{name}.ext", cwd=d)
    return d


class IngestServer:
    """An HTTPS server in a thread that records the bodies POSTed to /api/v1/ingest."""

    def __init__(self, cert, key):
        self.bodies = []
        outer = self

        class Handler(http.server.BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def do_POST(self):
                n = int(self.headers.get("Content-Length", "0"))
                body = self.rfile.read(n)
                if self.path == "/api/v1/ingest":
                    outer.bodies.append((dict(self.headers), body))
                    reply, status = b'{"accepted":true}', 200
                else:
                    reply, status = b'{"error":"not found"}', 404
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(reply)))
                self.end_headers()
                self.wfile.write(reply)

            def log_message(self, *args):
                pass

        self.httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        ctx.load_cert_chain(cert, key)
        self.httpd.socket = ctx.wrap_socket(self.httpd.socket, server_side=True)
        self.port = self.httpd.server_address[1]
        self.thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)
        self.thread.start()

    def close(self):
        self.httpd.shutdown()
        self.httpd.server_close()


@pytest.fixture
def tls_server_factory():
    started = []

    def start(cert, key):
        s = IngestServer(cert, key)
        started.append(s)
        return s

    yield start
    for s in started:
        s.close()


def listener_url(agent):
    """The agent's listener, from the port it logged at start."""
    m = wait_for(lambda: re.search(r"listen_port=(\d+)", agent.stderr()), 30, "the agent to start")
    return f"http://127.0.0.1:{m.group(1)}"


def upload_condition(agent):
    url = listener_url(agent)

    def failing():
        body = requests.get(url + "/health", timeout=10).json()
        return next((c for c in body["reasons"] if c["check"] == "upload"), None)

    return wait_for(failing, 30, "the upload condition in /health")


def test_upload_over_tls(pki, tls_server_factory, agent_factory):
    srv = tls_server_factory(str(pki / "both.pem"), str(pki / "both.key"))
    agent = agent_factory(f"https://localhost:{srv.port}",
                          ["--tls-ca", str(pki / "ca.pem"), "-r", "1", "-p", "1"])
    wait_for(lambda: len(srv.bodies) >= 2, 30, "batches over TLS")
    headers, body = srv.bodies[0]
    assert headers["Content-Encoding"] == "gzip"
    assert headers["Content-Type"] == "application/json"
    assert headers["User-Agent"].startswith("ward-agent/")
    batch = json.loads(gzip.decompress(body))
    assert batch["series"] and batch["series"][0]["values"], batch
    assert batch["server_id"]
    assert "certificate" not in agent.stderr()


def test_tls_ca_from_environment(pki, tls_server_factory, agent_factory):
    srv = tls_server_factory(str(pki / "both.pem"), str(pki / "both.key"))
    agent_factory(f"https://127.0.0.1:{srv.port}", ["-r", "1", "-p", "1"],
                  env={"WARD_TLS_CA": str(pki / "ca.pem")})
    wait_for(lambda: srv.bodies, 30, "a batch over TLS to an IP address")


def test_untrusted_server_gets_nothing(pki, tls_server_factory, agent_factory):
    srv = tls_server_factory(str(pki / "both.pem"), str(pki / "both.key"))
    agent = agent_factory(f"https://localhost:{srv.port}", ["-r", "1", "-p", "1"])
    cond = upload_condition(agent)
    assert cond["level"] == "degraded"
    assert "certificate verify failed" in cond["reason"], cond
    time.sleep(1.5)
    assert srv.bodies == []


def test_hostname_mismatch_fails(pki, tls_server_factory, agent_factory):
    srv = tls_server_factory(str(pki / "named.pem"), str(pki / "named.key"))
    agent = agent_factory(f"https://127.0.0.1:{srv.port}",
                          ["--tls-ca", str(pki / "ca.pem"), "-r", "1", "-p", "1"])
    cond = upload_condition(agent)
    assert "certificate verify failed" in cond["reason"], cond
    assert "mismatch" in cond["reason"], cond
    assert srv.bodies == []


def test_bad_ca_file_is_fatal(workdir):
    missing = workdir / "missing.pem"
    args = [binary("ward-agent"), "-a", "https://localhost:1", "--tls-ca", str(missing),
            "--state-dir", str(workdir / "agent"), "--listen", ""]
    agent = Process(args, workdir, "ward-agent")
    assert agent.proc.wait(timeout=30) != 0
    assert "missing.pem" in agent.stderr()
    agent.check_clean()


def test_listener_drops_stalled_client(agent_factory):
    agent = agent_factory("http://127.0.0.1:1", ["-p", "1"])
    url = listener_url(agent)
    port = int(url.rsplit(":", 1)[1])
    s = socket.create_connection(("127.0.0.1", port))
    s.sendall(b"GET /metr")  # and nothing more
    start = time.monotonic()
    s.settimeout(20)
    data = b""
    while True:
        chunk = s.recv(4096)
        if not chunk:
            break
        data += chunk
    elapsed = time.monotonic() - start
    s.close()
    assert elapsed < 8, f"the stalled client was held for {elapsed:.1f}s"
    assert data == b"" or data.startswith(b"HTTP/1.1 408 "), data
    r = requests.get(url + "/metrics", timeout=10)
    assert r.status_code == 200
    assert "agent_collector_up" in r.text


def test_listener_rejects_bodies_and_bad_requests(agent_factory):
    agent = agent_factory("http://127.0.0.1:1", ["-p", "1"])
    url = listener_url(agent)
    port = int(url.rsplit(":", 1)[1])

    def raw(request):
        with socket.create_connection(("127.0.0.1", port), timeout=10) as s:
            s.sendall(request)
            data = b""
            while chunk := s.recv(65536):
                data += chunk
            return data

    assert raw(b"GET /health HTTP/1.1\r\nContent-Length: 3\r\n\r\nabc").startswith(b"HTTP/1.1 413 ")
    assert raw(b"GET /health HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n").startswith(
        b"HTTP/1.1 400 ")
    assert raw(b"garbage\r\n\r\n").startswith(b"HTTP/1.1 400 ")
    # A head that starts with an empty line, and a version without its digit.
    assert raw(b"\n\nGET /metrics HTTP/1.1\r\n\r\n").startswith(b"HTTP/1.1 400 ")
    assert raw(b"GET /metrics HTTP/1.\r\n\r\n").startswith(b"HTTP/1.1 400 ")
    assert raw(b"\n\nGET /" + b"a" * 8180 + b" HTTP/1.").startswith(b"HTTP/1.1 4")
    assert raw(b"GET /metrics HTTP/1.1\r\nX: " + b"a" * 9000 + b"\r\n\r\n").startswith(
        b"HTTP/1.1 431 ")
    head = raw(b"HEAD /metrics HTTP/1.1\r\nHost: x\r\n\r\n")
    assert head.startswith(b"HTTP/1.1 200 ")
    assert head.endswith(b"\r\n\r\n")
    assert b"Content-Length: " in head and b"Connection: close" in head
    r = requests.delete(url + "/metrics", timeout=10)
    assert r.status_code == 405
    assert r.headers["Allow"] == "GET, HEAD"
    assert r.json()["error"]
