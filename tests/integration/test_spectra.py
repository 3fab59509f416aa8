"""Spectra metric envelopes (seed 002): POST /api/v1/metrics over real HTTP.

Envelopes are sent gzip-compressed as the spectra agent sends them, and the
flattened samples are read back through seed 001's GET /api/v1/metrics, with
the host ids found in the servers list.
"""

import gzip
import json

import requests

T0 = "2025-11-20T10:00:00.123456789+01:00"  # as Go marshals time.Time
T0_UTC = "2025-11-20T09:00:00.123Z"


def envelopes():
    return [
        {
            "type": "cpu",
            "timestamp": T0,
            "hostname": "web-01",
            "data": {"usage_percent": 12.5, "per_core": [10.0, 15.0], "load": {"avg1": 0.5}},
        },
        {
            "type": "network",
            "timestamp": T0,
            "hostname": "web-01",
            "data": [
                {"interface": "eth0", "rx_bytes_total": 1000, "tx_bytes_total": 2000},
                {"interface": "lo", "rx_bytes_total": 5, "tx_bytes_total": 5},
            ],
        },
        {
            "type": "memory",
            "timestamp": T0,
            "hostname": "db-01",
            "data": {"ram": {"total": 8192, "used": 4096}, "swap_enabled": True, "model": "x"},
        },
    ]


def send(server, body, compress=True):
    data = json.dumps(body).encode()
    headers = {"Content-Type": "application/json"}
    if compress:
        data = gzip.compress(data)
        headers["Content-Encoding"] = "gzip"
    return requests.post(server.url + "/api/v1/metrics", data=data, headers=headers, timeout=10)


def host_ids(server):
    servers = requests.get(server.url + "/api/v1/servers", timeout=10).json()
    return {s["hostname"]: s["id"] for s in servers}


def samples(server, host, **params):
    query = {"server_id": host, "from": "2025-11-20T00:00:00Z", "to": "2025-11-21T00:00:00Z"}
    query.update(params)
    r = requests.get(server.url + "/api/v1/metrics", params=query, timeout=10)
    assert r.status_code == 200, r.text
    return {
        (row["metric_type"], row["metric_name"], json.dumps(row["labels"], sort_keys=True)): row
        for row in r.json()
    }


def test_gzip_envelopes_from_two_hosts(server):
    r = send(server, envelopes())
    assert r.status_code == 200, r.text
    assert r.json() == {"status": "ok", "accepted": 11}

    ids = host_ids(server)
    web = samples(server, ids["web-01"])
    db = samples(server, ids["db-01"])
    assert len(web) == 8 and len(db) == 3
    usage = web[("cpu", "usage_percent", "{}")]
    assert usage["value"] == 12.5
    assert usage["timestamp"] == T0_UTC
    assert usage["kind"] == "gauge"
    assert web[("cpu", "per_core", '{"index": "1"}')]["value"] == 15.0
    assert web[("cpu", "load_avg1", "{}")]["value"] == 0.5
    rx = web[("network", "rx_bytes_total", '{"interface": "eth0"}')]
    assert rx["value"] == 1000
    assert rx["kind"] == "counter"
    assert web[("network", "tx_bytes_total", '{"interface": "lo"}')]["value"] == 5
    assert db[("memory", "ram_used", "{}")]["value"] == 4096
    assert db[("memory", "swap_enabled", "{}")]["value"] == 1

    # Sent again (an agent retrying), nothing is stored twice.
    assert send(server, envelopes()).status_code == 200
    assert len(samples(server, ids["web-01"])) == 8


def test_plain_json_and_single_envelope(server):
    one = {"type": "system", "timestamp": 1763629200000, "hostname": "solo", "data": {"uptime": 7}}
    r = send(server, one, compress=False)
    assert r.status_code == 200, r.text
    assert r.json()["accepted"] == 1
    rows = samples(server, host_ids(server)["solo"])
    assert rows[("system", "uptime", "{}")]["timestamp"] == "2025-11-20T09:00:00.000Z"


def test_same_host_as_seed_001_registration(server):
    r = requests.post(server.url + "/api/v1/servers", json={"hostname": "web-01"}, timeout=10)
    assert r.status_code in (200, 201), r.text
    registered = r.json()["id"]
    assert send(server, envelopes()[:1]).status_code == 200
    assert host_ids(server)["web-01"] == registered
    assert ("cpu", "usage_percent", "{}") in samples(server, registered)


def test_bad_bodies(server):
    def refused(body, status, *words, compress=False, raw=None):
        if raw is not None:
            r = requests.post(server.url + "/api/v1/metrics", data=raw, timeout=10)
        else:
            r = send(server, body, compress=compress)
        assert r.status_code == status, r.text
        for w in words:
            assert w in r.json()["error"], r.json()["error"]

    refused(None, 400, "empty body", raw=b"")
    refused(None, 400, "invalid JSON", raw=b"[{")
    refused([1], 400, "[0]: expected an envelope object")
    refused([{"type": "cpu", "data": {}}], 400, "[0]: missing \"hostname\"", compress=True)
    refused([{"type": "cpu", "hostname": "h", "timestamp": "soon", "data": {}}], 400,
            "[0].timestamp")
    labels = {f"k{i}": "v" for i in range(17)}
    labels["x"] = 1
    refused([{"type": "t", "hostname": "h", "data": {}},
             {"type": "cpu", "hostname": "h", "data": {"cpu": {"per_core": [labels]}}}],
            413, "[1].data.cpu.per_core[0]: more than 16 labels")
    refused({"type": "t", "hostname": "h", "data": list(range(100001))}, 413,
            "more than 100000 samples", compress=True)
    # Nothing of a refused body was stored.
    assert "h" not in host_ids(server)
    r = requests.post(server.url + "/api/v1/metrics", data=b"\x1f\x8b garbage",
                      headers={"Content-Encoding": "gzip"}, timeout=10)
    assert r.status_code == 400, r.text
