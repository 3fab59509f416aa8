"""The live stream, GET /api/v1/stream, against a real ward-server.

Filters, access (public_read, a session cookie, a token in the first
message, never one in the URL), the Origin check, and a slow client that is
dropped while a fast one keeps receiving.
"""

import threading
import time

import pytest
import requests

from conftest import ADMIN, ADMIN_TOKEN, wait_for
from wsclient import Closed, WsClient


def register(server, hostname):
    r = requests.post(server.url + "/api/v1/servers", json={"hostname": hostname, "os": "Linux"},
                      headers=ADMIN, timeout=5)
    assert r.status_code in (200, 201), r.text
    return r.json()["id"]


def ingest(server, server_id, metrics, headers=None):
    now = int(time.time() * 1000)
    body = {"server_id": server_id,
            "metrics": [{"metric_type": t, "metric_name": n, "value": v, "labels": {},
                         "timestamp": now} for t, n, v in metrics]}
    r = requests.post(server.url + "/api/v1/ingest", json=body, headers=headers or ADMIN,
                      timeout=10)
    assert r.status_code == 200, r.text


def ready(ws):
    msg = ws.recv()
    assert msg["type"] == "ready", msg
    return msg


def samples(ws, count, timeout=10):
    """Reads metrics messages until count samples came; returns them."""
    got = []
    deadline = time.monotonic() + timeout
    while len(got) < count:
        msg = ws.recv(max(0.01, deadline - time.monotonic()))
        if msg["type"] == "metrics":
            got += msg["metrics"]
    return got


def login(server):
    r = requests.post(server.url + "/api/v1/session", json={"token": ADMIN_TOKEN}, timeout=5)
    assert r.status_code == 200, r.text
    return r.cookies["ward_session"]


def test_seed_example_filters_by_server_and_type(server):
    """Seed 001: ws://HOST/api/v1/stream?server_id=ID and ?metric_type=cpu, no credentials."""
    a, b = register(server, "stream-a"), register(server, "stream-b")
    by_server = WsClient(server.url, f"/api/v1/stream?server_id={a}")
    by_type = WsClient(server.url, "/api/v1/stream?metric_type=cpu")
    assert by_server.status == 101 and by_type.status == 101
    assert ready(by_server)["filter"]["server_id"] == [a]
    ready(by_type)
    ingest(server, b, [("cpu", "usage", 1.0), ("ram", "usage", 2.0)])
    ingest(server, a, [("cpu", "usage", 3.0), ("ram", "usage", 4.0)])
    got = samples(by_server, 2)
    assert [(m["server_id"], m["metric_type"], m["value"]) for m in got] == [
        (a, "cpu", 3.0), (a, "ram", 4.0)]
    m = got[0]
    assert set(m) == {"server_id", "metric_type", "metric_name", "value", "labels", "timestamp",
                      "kind"}
    assert m["metric_name"] == "usage" and m["labels"] == {} and m["kind"] == "gauge"
    assert m["timestamp"].endswith("Z")
    got = samples(by_type, 2)
    assert [(m["server_id"], m["value"]) for m in got] == [(b, 1.0), (a, 3.0)]
    by_server.close()
    by_type.close()


def test_public_read_in_the_config_file_opens_the_seed_example(server_factory, workdir):
    """Seed 001's unauthenticated example against a server configured with public_read: true."""
    cfg = workdir / "server.yaml"
    cfg.write_text("public_read: true\n")
    server = server_factory(secure=True, extra_args=["-c", str(cfg)])
    a = register(server, "stream-yaml")
    ws = WsClient(server.url, f"/api/v1/stream?server_id={a}")
    assert ready(ws)["authenticated"] is False
    ingest(server, a, [("cpu", "usage", 9.5)])
    assert samples(ws, 1)[0]["value"] == 9.5
    ws.close()


def test_lists_and_subscribe_message(server):
    a = register(server, "stream-list")
    ws = WsClient(server.url, "/api/v1/stream?metric_type=cpu,disk&name=usage&name=free")
    f = ready(ws)["filter"]
    assert f["metric_type"] == ["cpu", "disk"] and f["name"] == ["usage", "free"]
    ingest(server, a, [("cpu", "usage", 1), ("cpu", "idle", 2), ("disk", "free", 3),
                       ("ram", "usage", 4)])
    assert [m["value"] for m in samples(ws, 2)] == [1, 3]
    ws.send_json({"type": "subscribe", "metric_name": ["idle"], "server_id": a})
    msg = ws.recv_until(lambda m: m["type"] == "subscribed")
    assert msg["filter"] == {"server_id": [a], "metric_type": [], "name": ["idle"]}
    ingest(server, a, [("cpu", "usage", 5), ("cpu", "idle", 6)])
    assert [m["value"] for m in samples(ws, 1)] == [6]
    ws.send_text("not json")
    assert ws.recv_until(lambda m: m["type"] == "error")["error"]
    ws.send_json({"type": "subscribe", "server_id": "nope"})
    assert "UUID" in ws.recv_until(lambda m: m["type"] == "error")["error"]
    ws.close()


@pytest.mark.parametrize("query,fragment", [
    ("server_id=not-a-uuid", "UUID"),
    ("metric_type=" + "x" * 200, "characters"),
    ("name=" + ",".join(f"n{i}" for i in range(17)), "at most 16"),
    ("metric_type=a%20b", "spaces"),
])
def test_bad_filters_are_refused_at_the_handshake(server, query, fragment):
    ws = WsClient(server.url, "/api/v1/stream?" + query)
    assert ws.status == 400
    assert fragment in ws.json_body()["error"]


def test_closed_server_needs_a_token_in_the_first_message(server_factory):
    server = server_factory(secure=True)
    a = register(server, "stream-closed")
    # A token in the URL is not a credential.
    ws = WsClient(server.url, f"/api/v1/stream?token={ADMIN_TOKEN}&server_id={a}")
    assert ws.status == 101
    ingest(server, a, [("cpu", "usage", 1)])
    ws.send_json({"type": "subscribe", "server_id": a})
    msg = ws.recv()
    assert msg["type"] == "subscribed" and msg["authenticated"] is False
    ws.send_json({"type": "hello"})
    with pytest.raises(Closed) as e:
        ws.recv()
    assert e.value.code == 1008 and "authentication" in e.value.reason

    ws = WsClient(server.url, "/api/v1/stream")
    ws.send_json({"type": "auth", "token": "wrong-token-but-long-enough"})
    with pytest.raises(Closed) as e:
        ws.recv()
    assert e.value.code == 1008

    ws = WsClient(server.url, f"/api/v1/stream?server_id={a}")
    ws.send_json({"type": "auth", "token": ADMIN_TOKEN})
    assert ready(ws)["authenticated"] is True
    ingest(server, a, [("cpu", "usage", 7)])
    assert samples(ws, 1)[0]["value"] == 7
    ws.close()


def test_silent_and_revoked_clients_are_closed(server_factory):
    """10 s to authenticate; a revoked token's stream ends at the next check (every 10 s)."""
    server = server_factory(secure=True)
    made = requests.post(server.url + "/api/v1/tokens", json={"name": "viewer"}, headers=ADMIN,
                         timeout=5).json()
    silent = WsClient(server.url, "/api/v1/stream")
    viewer = WsClient(server.url, "/api/v1/stream")
    viewer.send_json({"type": "auth", "token": made["token"]})
    assert ready(viewer)["authenticated"] is True
    r = requests.delete(f"{server.url}/api/v1/tokens/{made['id']}", headers=ADMIN, timeout=5)
    assert r.status_code == 200, r.text
    for ws, why in ((silent, "authentication required"), (viewer, "no longer valid")):
        with pytest.raises(Closed) as e:
            ws.recv_until(lambda m: False, timeout=30)
        assert e.value.code == 1008 and why in e.value.reason


def test_session_cookie_opens_the_stream(server_factory):
    server = server_factory(secure=True)
    a = register(server, "stream-cookie")
    cookie = login(server)
    ws = WsClient(server.url, f"/api/v1/stream?server_id={a}",
                  headers={"Cookie": f"ward_session={cookie}", "Origin": server.url})
    assert ws.status == 101
    assert ready(ws)["authenticated"] is True
    ingest(server, a, [("ram", "usage_percent", 42)])
    assert samples(ws, 1)[0]["value"] == 42
    ws.close()


def test_origin_is_checked(server):
    ws = WsClient(server.url, "/api/v1/stream", headers={"Origin": "http://evil.example"})
    assert ws.status == 403
    assert "origin" in ws.json_body()["error"].lower()
    ws = WsClient(server.url, "/api/v1/stream", headers={"Origin": server.url})
    assert ws.status == 101
    ready(ws)
    ws.close()


def test_listed_cors_origin_may_connect_but_not_on_the_cookie(server_factory):
    server = server_factory(secure=True, extra_args=["--cors-origin", "https://dash.example.org"])
    cookie = login(server)
    ws = WsClient(server.url, "/api/v1/stream", headers={"Origin": "https://dash.example.org",
                                                          "Cookie": f"ward_session={cookie}"})
    assert ws.status == 101
    ws.send_json({"type": "subscribe"})
    assert ws.recv()["authenticated"] is False
    ws.send_json({"type": "auth", "token": ADMIN_TOKEN})
    assert ready(ws)["authenticated"] is True
    ws.close()


def test_failed_auth_messages_count_as_failed_logins(server_factory):
    server = server_factory(secure=True)
    for i in range(30):
        ws = WsClient(server.url, "/api/v1/stream")
        ws.send_json({"type": "auth", "token": f"guess-number-{i:04d}-of-many"})
        with pytest.raises(Closed) as e:
            ws.recv()
        assert "invalid" in e.value.reason
    ws = WsClient(server.url, "/api/v1/stream")
    ws.send_json({"type": "auth", "token": ADMIN_TOKEN})
    with pytest.raises(Closed) as e:
        ws.recv()
    assert e.value.code == 1008 and "too many failed logins" in e.value.reason
    assert login_status(server) == 429


def login_status(server):
    return requests.post(server.url + "/api/v1/session", json={"token": ADMIN_TOKEN},
                         timeout=5).status_code


def test_ping_flood_from_a_client_that_never_reads_is_bounded(server):
    """Pongs a peer does not read pile up only so far: then the server stops reading it.

    Without that, every ping costs the server a queued pong (about 100 bytes
    for 6 on the wire) for as long as the client sends. Memory is not
    measured here (the sanitizers keep freed memory); the proof is that the
    client's sends stall: the server stopped reading.
    """
    ws = WsClient(server.url, "/api/v1/stream", rcvbuf=4096)
    chunk = bytes([0x89, 0x80, 1, 2, 3, 4]) * 10000  # masked, empty pings
    sent = 0
    ws.sock.settimeout(2)
    with pytest.raises(OSError):  # a send times out once the server stops reading
        while sent < 64 << 20:
            ws.sock.sendall(chunk)
            sent += len(chunk)
    assert sent < 64 << 20


def test_message_in_too_many_fragments_is_refused(server):
    ws = WsClient(server.url, "/api/v1/stream")
    ready(ws)
    frames = [bytes([0x01, 0x81, 0, 0, 0, 0]) + b"{"]  # text, not final, masked with zeros
    frames += [bytes([0x00, 0x81, 0, 0, 0, 0]) + b" "] * 1100  # continuations
    ws.sock.sendall(b"".join(frames))
    with pytest.raises(Closed) as e:
        ws.recv_until(lambda m: False)
    assert e.value.code == 1009 and "fragments" in e.value.reason


def test_websocket_needs_http_1_1(server):
    import socket
    from urllib.parse import urlsplit
    u = urlsplit(server.url)
    with socket.create_connection((u.hostname, u.port), timeout=5) as sock:
        sock.sendall(b"GET /api/v1/stream HTTP/1.0\r\nHost: x\r\nUpgrade: websocket\r\n"
                     b"Connection: Upgrade\r\nSec-WebSocket-Version: 13\r\n"
                     b"Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n\r\n")
        head = sock.recv(4096).decode(errors="replace")
    assert head.split()[1] == "400", head
    assert "HTTP/1.1" in head.split("\r\n\r\n", 1)[1]


def test_tenant_token_sees_its_tenant_only(server_factory):
    server = server_factory(secure=True)
    t = requests.post(server.url + "/api/v1/tenants", json={"name": "blue"}, headers=ADMIN,
                      timeout=5).json()
    tok = requests.post(server.url + "/api/v1/tokens", json={"name": "blue", "tenantId": t["id"]},
                        headers=ADMIN, timeout=5).json()["token"]
    default_host = register(server, "stream-default")
    ws = WsClient(server.url, "/api/v1/stream")
    ws.send_json({"type": "auth", "token": tok})
    ready(ws)
    ingest(server, default_host, [("cpu", "usage", 1)])
    with pytest.raises(TimeoutError):
        ws.recv(timeout=1.5)
    ws.close()


def metric_value(server, name):
    text = requests.get(server.url + "/metrics", timeout=5).text
    for line in text.splitlines():
        if line.startswith(name + " ") or line.startswith(name + "{"):
            return float(line.rsplit(" ", 1)[1])
    return None


def test_slow_client_is_dropped_and_fast_one_keeps_up(server_factory):
    server = server_factory(extra_args=["--stream-queue", "65536"])
    a = register(server, "stream-load")
    slow = WsClient(server.url, "/api/v1/stream", rcvbuf=4096)
    fast = WsClient(server.url, "/api/v1/stream")
    ready(fast)
    # The slow client never reads again; the fast one reads everything, as it comes.
    batches, per_batch = 150, 500
    got = []
    reader = threading.Thread(target=lambda: got.extend(samples(fast, batches * per_batch, 120)))
    reader.start()
    for i in range(batches):
        ingest(server, a, [("load", f"m{k}", i) for k in range(per_batch)])
    reader.join()
    assert len(got) == batches * per_batch
    assert [m["value"] for m in got[::per_batch]] == list(range(batches))
    assert wait_for(lambda: (metric_value(server, "ward_stream_slow_clients_total") or 0) >= 1,
                    what="the slow client to be counted")
    # The slow client finds the close frame after what it was sent.
    with pytest.raises((Closed, ConnectionError)) as e:
        while True:
            slow.recv(timeout=10)
    if isinstance(e.value, Closed):
        assert e.value.code == 1013
    fast.close()


def test_unknown_route_and_plain_get(server):
    r = requests.get(server.url + "/api/v1/stream", timeout=5)
    assert r.status_code == 400
    assert "websocket" in r.json()["error"].lower()
