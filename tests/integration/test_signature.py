"""Ingest request signatures (X-Ward-Signature, X-Ward-Timestamp) over real HTTP.

Python signs with hmac/hashlib on its own, so these tests check the server
against an independent implementation of docs/api.md, "Request signatures":
hex HMAC-SHA256 with the key over `timestamp + "." + body as sent`.
"""

import gzip
import hashlib
import hmac
import json
import subprocess
import time

import requests

from conftest import binary

KEY = "integration-test-key-0123456789"
HOST = "0192a1b2-c3d4-7e5f-8a9b-0c1d2e3f4a5c"


def now_ms():
    return int(time.time() * 1000)


def sign(key, timestamp, body):
    return hmac.new(key.encode(), f"{timestamp}.".encode() + body, hashlib.sha256).hexdigest()


def batch(n=2):
    return {
        "server_id": HOST,
        "metrics": [
            {
                "metric_type": "cpu",
                "metric_name": "usage",
                "value": 10.0 + i,
                "labels": {"core": str(i)},
                "timestamp": f"2025-11-20T10:00:0{i}Z",
            }
            for i in range(n)
        ],
    }


def post(server, data, headers=None, gzipped=True):
    h = {"Content-Type": "application/json"}
    if gzipped:
        h["Content-Encoding"] = "gzip"
    h.update(headers or {})
    return requests.post(server.url + "/api/v1/ingest", data=data, headers=h, timeout=10)


def signed_headers(data, key=KEY, timestamp=None):
    ts = now_ms() if timestamp is None else timestamp
    return {"X-Ward-Signature": sign(key, ts, data), "X-Ward-Timestamp": str(ts)}


def gz_batch(n=2):
    return gzip.compress(json.dumps(batch(n)).encode())


def stored(server):
    r = requests.get(
        server.url + "/api/v1/metrics",
        params={"server_id": HOST, "from": "2025-11-20T00:00:00Z", "to": "2025-11-20T23:59:59Z"},
        timeout=10,
    )
    assert r.status_code == 200, r.text
    return r.json()


def assert_refused(r, *words):
    assert r.status_code == 401, r.text
    assert r.headers["Content-Type"].startswith("application/json")
    body = r.json()
    assert set(body) == {"error", "request_id"}
    assert body["request_id"] == r.headers["X-Request-Id"]
    for w in words:
        assert w in body["error"], body["error"]


def test_good_signature_is_stored(server_factory):
    server = server_factory(["-k", KEY])
    data = gz_batch(2)
    r = post(server, data, signed_headers(data))
    assert r.status_code == 200, r.text
    assert r.json() == {"status": "ok", "accepted": 2, "duplicate": False}
    assert sorted(m["value"] for m in stored(server)) == [10.0, 11.0]

    # An uncompressed body is signed as sent, too.
    plain = json.dumps(batch(3)).encode()
    r = post(server, plain, signed_headers(plain), gzipped=False)
    assert r.status_code == 200, r.text
    assert len(stored(server)) == 3


def test_key_from_environment(server_factory):
    server = server_factory(env={"KEY": KEY})
    data = gz_batch(1)
    assert_refused(post(server, data), "missing")
    r = post(server, data, signed_headers(data))
    assert r.status_code == 200, r.text


def test_bad_signature_is_refused_and_not_stored(server_factory):
    server = server_factory(["--key", KEY])
    data = gz_batch(2)

    assert_refused(post(server, data, signed_headers(data, key="another-key")), "signature mismatch")

    # A signature over the decompressed JSON is not one over the body as sent.
    plain = json.dumps(batch(2)).encode()
    assert_refused(post(server, data, signed_headers(plain)), "signature mismatch")

    # A valid signature for another body or another timestamp does not carry over.
    h = signed_headers(gz_batch(1))
    assert_refused(post(server, data, h), "signature mismatch")
    h = signed_headers(data)
    h["X-Ward-Timestamp"] = str(int(h["X-Ward-Timestamp"]) + 1)
    assert_refused(post(server, data, h), "signature mismatch")

    assert stored(server) == []


def test_missing_headers(server_factory):
    server = server_factory(["-k", KEY])
    data = gz_batch(1)
    full = signed_headers(data)
    assert_refused(post(server, data), "missing", "X-Ward-Signature")
    assert_refused(
        post(server, data, {"X-Ward-Timestamp": full["X-Ward-Timestamp"]}),
        "missing",
        "X-Ward-Signature",
    )
    assert_refused(
        post(server, data, {"X-Ward-Signature": full["X-Ward-Signature"]}),
        "missing",
        "X-Ward-Timestamp",
    )
    assert stored(server) == []


def test_malformed_headers(server_factory):
    server = server_factory(["-k", KEY])
    data = gz_batch(1)
    ts = now_ms()
    sig = sign(KEY, ts, data)
    for bad_ts in ("abc", "", "-5", f"0{ts}", f"{ts}.0", f"+{ts}", "1" * 19):
        h = {"X-Ward-Signature": sign(KEY, bad_ts, data), "X-Ward-Timestamp": bad_ts}
        assert_refused(post(server, data, h), "malformed X-Ward-Timestamp")
    for bad_sig in ("", "zz", sig[:-1], sig + "0", sig[:-1] + "g"):
        h = {"X-Ward-Signature": bad_sig, "X-Ward-Timestamp": str(ts)}
        assert_refused(post(server, data, h), "malformed X-Ward-Signature")
    # Hex in upper case is the same signature.
    r = post(server, data, {"X-Ward-Signature": sig.upper(), "X-Ward-Timestamp": str(ts)})
    assert r.status_code == 200, r.text


def test_stale_and_future_timestamps(server_factory):
    server = server_factory(["-k", KEY])  # default skew: 5 minutes
    data = gz_batch(1)
    for offset in (-10 * 60 * 1000, 10 * 60 * 1000):
        h = signed_headers(data, timestamp=now_ms() + offset)
        assert_refused(post(server, data, h), "timestamp outside allowed skew")
    h = signed_headers(data, timestamp=now_ms() - 60 * 1000)
    assert post(server, data, h).status_code == 200


def test_configured_skew(server_factory):
    server = server_factory(["-k", KEY, "--signature-skew", "2s"])
    data = gz_batch(1)
    assert_refused(
        post(server, data, signed_headers(data, timestamp=now_ms() - 30 * 1000)),
        "timestamp outside allowed skew of 2000 ms",
    )
    assert stored(server) == []
    assert post(server, data, signed_headers(data)).status_code == 200


def test_signature_is_checked_before_the_body_is_decoded(server_factory):
    server = server_factory(["-k", KEY])
    junk = b"this is not gzip"
    # Unsigned junk is refused for its signature, not for its encoding.
    assert_refused(post(server, junk), "missing")
    assert_refused(post(server, junk, signed_headers(junk, key="wrong")), "signature mismatch")
    # Signed junk gets through the signature and then fails decoding.
    r = post(server, junk, signed_headers(junk))
    assert r.status_code == 400, r.text
    assert "gzip" in r.json()["error"]


def test_no_key_accepts_unsigned_and_ignores_headers(server_factory):
    server = server_factory()
    data = gz_batch(1)
    assert post(server, data).status_code == 200
    r = post(server, data, {"X-Ward-Signature": "nonsense", "X-Ward-Timestamp": "0"})
    assert r.status_code == 200, r.text
    assert r.json()["duplicate"] is False
    assert len(stored(server)) == 1


def test_other_routes_need_no_signature(server_factory):
    server = server_factory(["-k", KEY])
    assert requests.get(server.url + "/health", timeout=10).status_code == 200
    assert stored(server) == []


def test_skew_option_is_bounded():
    for bad in ("0s", "500ms", "2h"):
        p = subprocess.run(
            [binary("ward-server"), "--signature-skew", bad, "--check-config"],
            capture_output=True,
            text=True,
            timeout=30,
        )
        assert p.returncode == 2, p.stderr
        assert "--signature-skew" in p.stderr and "out of range" in p.stderr, p.stderr
