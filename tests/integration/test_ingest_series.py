"""The series shape of POST /api/v1/ingest against a real ward-server.

A series body must store exactly the samples that the same data in the
metrics shape stores: same series, timestamps, values and kinds, read back
through GET /api/v1/metrics. Bad series get a 400 that names the field, and
the sample cap counts samples, not series.
"""

import gzip
import json

import requests

HOST = "0192a1b2-c3d4-7e5f-8a9b-0c1d2e3f4a5b"
OTHER = "0192a1b2-c3d4-7e5f-8a9b-0c1d2e3f4a5c"
T0 = 1763632800000  # 2025-11-20T10:00:00Z
DAY = {"from": "2025-11-20T00:00:00Z", "to": "2025-11-21T00:00:00Z"}

SERIES = [
    {
        "metric_type": "cpu",
        "metric_name": "usage_percent",
        "labels": {"core": "0"},
        "t0": T0,
        "dt": [1000, 1000, 2500],
        "values": [12.5, 13.0, 12.0, 99.25],
    },
    {
        "metric_type": "cpu",
        "metric_name": "usage_percent",
        "labels": {"core": "1"},
        "t0": T0 + 7,
        "values": [3.5],
    },
    {
        "metric_type": "net",
        "metric_name": "rx_bytes",
        "kind": "counter",
        "labels": {"interface": "eth0", "direction": "in"},
        "t0": T0 + 500,
        "dt": [10000, 10000],
        "values": [1000, 2000, 123456789012],
    },
]


def as_metrics(series):
    """The same samples in the per-sample "metrics" shape."""
    out = []
    for s in series:
        ts = s["t0"]
        for i, v in enumerate(s["values"]):
            if i:
                ts += s["dt"][i - 1]
            m = {"metric_type": s["metric_type"], "metric_name": s["metric_name"], "value": v, "timestamp": ts}
            for key in ("labels", "kind"):
                if key in s:
                    m[key] = s[key]
            out.append(m)
    return out


def post(server, body, gz=False):
    data = body if isinstance(body, bytes) else json.dumps(body).encode()
    headers = {"Content-Type": "application/json"}
    if gz:
        data = gzip.compress(data)
        headers["Content-Encoding"] = "gzip"
    return requests.post(server.url + "/api/v1/ingest", data=data, headers=headers, timeout=30)


def rows(server, host=HOST, **params):
    r = requests.get(
        server.url + "/api/v1/metrics", params={"server_id": host, **DAY, **params}, timeout=10
    )
    assert r.status_code == 200, r.text
    return r.json()


def comparable(rows_):
    """Rows without the host, in an order that does not depend on ties."""
    out = [{k: v for k, v in row.items() if k != "server_id"} for row in rows_]
    return sorted(out, key=lambda m: json.dumps(m, sort_keys=True))


def assert_error(r, status, *words):
    assert r.status_code == status, r.text
    body = r.json()
    for w in words:
        assert w in body["error"], body["error"]


def test_gzip_series_body_is_stored_and_read_back(server):
    body = {"server_id": HOST, "batch": {"seq": 1, "boot": 77}, "series": SERIES}
    r = post(server, body, gz=True)
    assert r.status_code == 200, r.text
    assert r.json() == {"status": "ok", "accepted": 8, "duplicate": False}

    cpu = rows(server, metric_type="cpu")
    assert [(m["timestamp"], m["labels"], m["value"]) for m in cpu] == [
        ("2025-11-20T10:00:04.500Z", {"core": "0"}, 99.25),
        ("2025-11-20T10:00:02.000Z", {"core": "0"}, 12.0),
        ("2025-11-20T10:00:01.000Z", {"core": "0"}, 13.0),
        ("2025-11-20T10:00:00.007Z", {"core": "1"}, 3.5),
        ("2025-11-20T10:00:00.000Z", {"core": "0"}, 12.5),
    ]
    assert all(m["kind"] == "gauge" and m["metric_name"] == "usage_percent" for m in cpu)

    net = rows(server, metric_type="net", metric_name="rx_bytes")
    assert [(m["timestamp"], m["value"], m["kind"]) for m in net] == [
        ("2025-11-20T10:00:20.500Z", 123456789012, "counter"),
        ("2025-11-20T10:00:10.500Z", 2000, "counter"),
        ("2025-11-20T10:00:00.500Z", 1000, "counter"),
    ]
    assert all(m["labels"] == {"direction": "in", "interface": "eth0"} for m in net)

    # The batch key dedupes a series body as it does a metrics body.
    r = post(server, body, gz=True)
    assert r.status_code == 200 and r.json()["duplicate"] is True
    assert len(rows(server)) == 8


def test_both_shapes_store_the_same_samples(server):
    r = post(server, {"server_id": HOST, "series": SERIES}, gz=True)
    assert r.status_code == 200 and r.json()["accepted"] == 8, r.text
    r = post(server, {"server_id": OTHER, "metrics": as_metrics(SERIES)}, gz=True)
    assert r.status_code == 200 and r.json()["accepted"] == 8, r.text
    assert comparable(rows(server, HOST)) == comparable(rows(server, OTHER))
    assert len(rows(server, HOST)) == 8

    # Same series key: samples sent in the other shape are not stored again.
    r = post(server, {"server_id": HOST, "metrics": as_metrics(SERIES)})
    assert r.status_code == 200, r.text
    r = post(server, {"server_id": OTHER, "series": SERIES})
    assert r.status_code == 200, r.text
    assert len(rows(server, HOST)) == 8
    assert len(rows(server, OTHER)) == 8


def series_body(**fields):
    s = {"metric_type": "cpu", "metric_name": "u", "t0": T0, "dt": [1000], "values": [1, 2]}
    s.update(fields)
    return {"server_id": HOST, "series": [s]}


def test_bad_series_get_400_naming_the_field(server):
    ok = series_body()["series"][0]
    cases = [
        (series_body(dt=[1000, 1000]), ["series[0].dt", "length 2, expected 1"]),
        (series_body(dt=[]), ["series[0].dt", "length 0, expected 1"]),
        (series_body(dt=[5, -1], values=[1, 2, 3]), ["series[0].dt[1]", "negative"]),
        (series_body(values=[]), ["series[0].values", "at least one"]),
        (series_body(values=[1, "2"]), ["series[0].values[1]", "expected number, got string"]),
        (series_body(t0="2025-11-20T10:00:00Z"), ["series[0].t0", "Unix milliseconds"]),
        (series_body(kind="histogram"), ["series[0].kind"]),
        (series_body(labels={"a": 1}), ["series[0].labels"]),
        (
            {"server_id": HOST, "series": [ok, ok, dict(ok, t0=253402300799999, dt=[1])]},
            ["series[2].dt[0]", "253402300799999"],
        ),
        (
            {"server_id": HOST, "series": [ok], "metrics": []},
            ["metrics", "not allowed together", "series"],
        ),
        ({"server_id": HOST}, ["metrics", "missing", "series"]),
    ]
    for body, words in cases:
        assert_error(post(server, body), 400, *words)
    assert rows(server) == []


def test_sample_cap_counts_samples_not_series(server):
    cap = 100000
    half = {"metric_type": "a", "metric_name": "b", "t0": T0, "dt": [0] * (cap // 2 - 1)}
    body = {
        "server_id": HOST,
        "series": [dict(half, values=[1] * (cap // 2)), dict(half, values=[2] * (cap // 2 + 1))],
    }
    assert_error(post(server, body, gz=True), 413, "series[1].values", "more than 100000 samples")
    # The server is fine afterwards, and one value short of the cap is accepted.
    body["series"][1]["values"].pop()
    r = post(server, body, gz=True)
    assert r.status_code == 200 and r.json()["accepted"] == cap, r.text
