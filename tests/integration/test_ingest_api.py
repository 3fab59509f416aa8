"""The ingest and query API against bad and good input, over real HTTP."""

import gzip
import json
import uuid

import pytest
import requests

HOST = "0192a1b2-c3d4-7e5f-8a9b-0c1d2e3f4a5b"


def ingest(server, body, headers=None, raw=False):
    data = body if raw else json.dumps(body).encode()
    h = {"Content-Type": "application/json"}
    h.update(headers or {})
    return requests.post(server.url + "/api/v1/ingest", data=data, headers=h, timeout=10)


def assert_error(r, status, *words):
    assert r.status_code == status, r.text
    body = r.json()
    assert set(body) == {"error", "request_id"}
    assert body["request_id"] == r.headers["X-Request-Id"]
    for w in words:
        assert w in body["error"], body["error"]


def seed_batch(n=2, host=HOST):
    return {
        "server_id": host,
        "metrics": [
            {
                "metric_type": "cpu",
                "metric_name": "usage",
                "value": 45.2 + i,
                "labels": {"core": str(i)},
                "timestamp": f"2025-11-20T10:00:0{i}Z",
            }
            for i in range(n)
        ],
    }


def test_seed_001_ingest_and_query_round_trip(server):
    r = ingest(server, seed_batch(3))
    assert r.status_code == 200, r.text
    assert r.json()["accepted"] == 3
    r = requests.get(
        server.url + "/api/v1/metrics",
        params={
            "server_id": HOST,
            "metric_type": "cpu",
            "from": "2025-11-20T00:00:00Z",
            "to": "2025-11-20T23:59:59Z",
        },
        timeout=10,
    )
    assert r.status_code == 200, r.text
    rows = r.json()
    assert [m["timestamp"] for m in rows] == [
        "2025-11-20T10:00:02.000Z",
        "2025-11-20T10:00:01.000Z",
        "2025-11-20T10:00:00.000Z",
    ]
    assert [m["value"] for m in rows] == [47.2, 46.2, 45.2]
    assert [m["labels"] for m in rows] == [{"core": "2"}, {"core": "1"}, {"core": "0"}]
    assert all(m["metric_name"] == "usage" and m["server_id"] == HOST for m in rows)


def test_gzip_body_and_duplicate_batch(server):
    body = seed_batch(2)
    body["batch"] = {"seq": 7, "boot": 1}
    data = gzip.compress(json.dumps(body).encode())
    r = ingest(server, data, {"Content-Encoding": "gzip"}, raw=True)
    assert r.status_code == 200 and r.json() == {"status": "ok", "accepted": 2, "duplicate": False}
    r = ingest(server, data, {"Content-Encoding": "gzip"}, raw=True)
    assert r.status_code == 200 and r.json()["duplicate"] is True
    rows = requests.get(
        server.url + "/api/v1/metrics",
        params={"server_id": HOST, "from": "2025-11-20T00:00:00Z", "to": "2025-11-21T00:00:00Z"},
        timeout=10,
    ).json()
    assert len(rows) == 2


def test_same_sample_twice_is_stored_once(server):
    assert ingest(server, seed_batch(2)).status_code == 200
    assert ingest(server, seed_batch(2)).status_code == 200
    rows = requests.get(
        server.url + "/api/v1/metrics",
        params={"server_id": HOST, "from": "2025-11-20T00:00:00Z", "to": "2025-11-21T00:00:00Z"},
        timeout=10,
    ).json()
    assert len(rows) == 2


@pytest.mark.parametrize(
    "body, words",
    [
        (b"{", ["invalid JSON", "byte"]),
        (b"[1,2]", ["expected object"]),
        (b'{"server_id": "nope", "metrics": []}', ["server_id", "UUID"]),
        (b'{"metrics": []}', ["server_id", "missing"]),
        (json.dumps({"server_id": HOST}).encode(), ["metrics", "missing"]),
        (
            json.dumps(
                {"server_id": HOST, "metrics": [{"metric_type": "cpu", "metric_name": "u", "value": "x"}]}
            ).encode(),
            ["metrics[0].value", "expected number"],
        ),
        (
            json.dumps({"server_id": HOST, "metrics": [{"metric_type": "cpu", "value": 1}]}).encode(),
            ["metric_name"],
        ),
        (
            json.dumps(
                {
                    "server_id": HOST,
                    "metrics": [
                        {"metric_type": "cpu", "metric_name": "u", "value": 1, "timestamp": "yesterday"}
                    ],
                }
            ).encode(),
            ["timestamp"],
        ),
        (
            json.dumps(
                {
                    "server_id": HOST,
                    "metrics": [{"metric_type": "cpu", "metric_name": "u", "value": 1, "labels": {"a": 1}}],
                }
            ).encode(),
            ["labels"],
        ),
        (b'{"server_id": "' + HOST.encode() + b'", "metrics": [], "x": "\xff"}', ["UTF-8"]),
        (b"[" * 100000, ["expected object"]),
        (b'{"a":' * 100000, ["invalid JSON", "deep"]),
    ],
    ids=lambda v: v[:40].decode(errors="replace") if isinstance(v, bytes) else None,
)
def test_malformed_ingest_gets_400_naming_the_problem(server, body, words):
    assert_error(ingest(server, body, raw=True), 400, *words)


def test_unknown_content_encoding_gets_415(server):
    r = ingest(server, b"{}", {"Content-Encoding": "br"}, raw=True)
    assert_error(r, 415, "Content-Encoding")


def test_corrupt_gzip_gets_400(server):
    data = gzip.compress(json.dumps(seed_batch()).encode())
    r = ingest(server, data[:-9] + b"garbage!!", {"Content-Encoding": "gzip"}, raw=True)
    assert_error(r, 400, "gzip")


def test_body_limits(server_factory):
    server = server_factory(["--max-body-bytes", "16384", "--max-decoded-body-bytes", "65536"])
    r = ingest(server, b" " * 20000 + b"{}", raw=True)
    assert_error(r, 413, "limit")
    # Chunked upload without Content-Length: refused once it passes the limit.
    r = requests.post(
        server.url + "/api/v1/ingest",
        data=iter([b" " * 1024] * 20),
        headers={"Content-Type": "application/json"},
        timeout=10,
    )
    assert_error(r, 413, "limit")
    # A gzip bomb: 10 MB of spaces in a few KB.
    bomb = gzip.compress(b" " * (10 << 20), 9)
    assert len(bomb) < 16384
    r = ingest(server, bomb, {"Content-Encoding": "gzip"}, raw=True)
    assert_error(r, 413, "decompressed")
    # The server is still fine afterwards.
    assert ingest(server, seed_batch(1)).status_code == 200


def test_too_many_labels_or_metrics(server):
    labels = {f"k{i}": "v" for i in range(17)}
    body = {"server_id": HOST, "metrics": [{"metric_type": "a", "metric_name": "b", "value": 1, "labels": labels}]}
    assert_error(ingest(server, body), 413, "labels")


def test_unknown_routes_and_methods(server):
    r = requests.get(server.url + "/nope", timeout=10)
    assert_error(r, 404, "no route")
    r = requests.delete(server.url + "/api/v1/ingest", timeout=10)
    assert_error(r, 405, "not allowed")
    assert r.headers["Allow"] == "POST, OPTIONS"
    r = requests.get(server.url + "/" + "a" * 5000, timeout=10)
    assert r.status_code in (404, 414)


@pytest.mark.parametrize(
    "params, words",
    [
        ({}, ["server_id", "required"]),
        ({"server_id": "x"}, ["server_id", "UUID"]),
        ({"server_id": HOST, "limit": "0"}, ["limit"]),
        ({"server_id": HOST, "limit": "abc"}, ["limit"]),
        ({"server_id": HOST, "from": "soon"}, ["from"]),
        ({"server_id": HOST, "from": "2025-11-21T00:00:00Z", "to": "2025-11-20T00:00:00Z"}, ["from"]),
    ],
)
def test_bad_query_parameters(server, params, words):
    r = requests.get(server.url + "/api/v1/metrics", params=params, timeout=10)
    assert_error(r, 400, *words)


def test_unknown_server_has_no_samples(server):
    r = requests.get(server.url + "/api/v1/metrics", params={"server_id": str(uuid.uuid4())}, timeout=10)
    assert r.status_code == 200 and r.json() == []


def test_request_id_is_echoed_when_sane(server):
    r = requests.get(server.url + "/health", headers={"X-Request-Id": "abc-123"}, timeout=10)
    assert r.headers["X-Request-Id"] == "abc-123"
    r = requests.get(server.url + "/health", headers={"X-Request-Id": "bad id\x01"}, timeout=10)
    assert r.headers["X-Request-Id"] != "bad id\x01"
    assert len(r.headers["X-Request-Id"]) == 16
