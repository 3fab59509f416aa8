"""The query API and discovery over real HTTP: /api/v1/query, /series and /hosts.

Data goes in through POST /api/v1/ingest with explicit timestamps shortly
before now (so retention never touches them), and every expectation below is
worked out by hand from those samples.
"""

import time
from datetime import datetime, timezone

import pytest
import requests

from conftest import wait_for

H1 = "0192a1b2-c3d4-7e5f-8a9b-000000000001"
H2 = "0192a1b2-c3d4-7e5f-8a9b-000000000002"
S = 1000
# A minute boundary an hour ago: every sample lies in [T0, T0 + 2 min).
T0 = (int(time.time() * 1000) // 60000) * 60000 - 3600 * S


def ingest(server, host, metrics):
    r = requests.post(
        server.url + "/api/v1/ingest", json={"server_id": host, "metrics": metrics}, timeout=10
    )
    assert r.status_code == 200, r.text


def sample(category, name, value, ts, labels=None, kind="gauge"):
    return {
        "metric_type": category,
        "metric_name": name,
        "value": value,
        "labels": labels or {},
        "timestamp": ts,
        "kind": kind,
    }


def query(server, path="/api/v1/query", **params):
    return requests.get(server.url + path, params=params, timeout=10)


def ok(r):
    assert r.status_code == 200, r.text
    assert r.headers["Content-Type"].startswith("application/json")
    return r.json()


def assert_error(r, status, *words):
    assert r.status_code == status, r.text
    body = r.json()
    assert set(body) == {"error", "request_id"}
    for w in words:
        assert w in body["error"], body["error"]


def rfc3339(ms):
    return datetime.fromtimestamp(ms / 1000, tz=timezone.utc).strftime("%Y-%m-%dT%H:%M:%S.%f")[:-3] + "Z"


def load(server):
    """Two cpu cores and a counter with a reset on H1; one cpu series on H2."""
    ingest(
        server,
        H1,
        [sample("cpu", "usage", 10 * (i + 1), T0 + i * 10 * S, {"core": "0"}) for i in range(6)]
        + [sample("cpu", "usage", v, T0 + t * S, {"core": "1"}) for t, v in ((5, 1), (35, 3), (45, 5))]
        + [
            sample("net", "rx_bytes", v, T0 + t * S, {"iface": "eth0"}, "counter")
            for t, v in ((0, 200), (10, 300), (20, 50), (30, 150), (40, 250))
        ],
    )
    ingest(server, H2, [sample("cpu", "usage", 7, T0 + 15 * S, {"core": "0"})])


def points(entry):
    return [(t - T0, v) for t, v in entry["points"]]


def test_raw_points_and_response_shape(server):
    load(server)
    body = ok(query(server, host=H1, category="cpu", **{"from": T0, "to": T0 + 40 * S}))
    assert set(body) == {"from", "to", "step", "agg", "series"}
    assert body["from"] == T0 and body["to"] == T0 + 40 * S
    assert body["step"] is None and body["agg"] is None
    assert len(body["series"]) == 2
    first, second = body["series"]
    assert set(first) == {"host_id", "category", "name", "labels", "kind", "points"}
    assert (first["host_id"], first["category"], first["name"]) == (H1, "cpu", "usage")
    assert first["labels"] == {"core": "0"} and first["kind"] == "gauge"
    # from and to are inclusive; points are oldest first.
    assert points(first) == [(0, 10.0), (10 * S, 20.0), (20 * S, 30.0), (30 * S, 40.0), (40 * S, 50.0)]
    assert second["labels"] == {"core": "1"} and points(second) == [(5 * S, 1.0), (35 * S, 3.0)]

    # The seed's names work as aliases, and RFC 3339 times as well as Unix ms.
    body = ok(
        query(server, host=H1, metric_type="net", metric_name="rx_bytes", **{"from": rfc3339(T0), "to": rfc3339(T0 + 60 * S)})
    )
    assert [s["kind"] for s in body["series"]] == ["counter"]
    assert len(body["series"][0]["points"]) == 5


def test_default_range_is_the_last_hour(server):
    now = int(time.time() * 1000)
    ingest(server, H1, [sample("cpu", "usage", 1, now - 10 * 60 * S), sample("cpu", "usage", 2, now - 2 * 3600 * S)])
    body = ok(query(server, host=H1))
    assert body["to"] - body["from"] == 3600 * S
    assert body["to"] >= now
    assert [v for _, v in body["series"][0]["points"]] == [1.0]


def test_aggregations_with_step(server):
    load(server)
    rng = {"from": T0, "to": T0 + 60 * S - 1, "step": "30s"}
    want = {
        "avg": [(0, 20.0), (30 * S, 50.0)],
        "min": [(0, 10.0), (30 * S, 40.0)],
        "max": [(0, 30.0), (30 * S, 60.0)],
        "sum": [(0, 60.0), (30 * S, 150.0)],
        "count": [(0, 3.0), (30 * S, 3.0)],
        "last": [(0, 30.0), (30 * S, 60.0)],
        "rate": [(0, 1.0), (30 * S, 1.0)],
    }
    for agg, expected in want.items():
        body = ok(query(server, host=H1, name="usage", label="core=0", agg=agg, **rng))
        assert body["step"] == 30 * S and body["agg"] == agg
        assert points(body["series"][0]) == expected, agg
    # step alone averages; agg alone is one bucket over the range, at from.
    body = ok(query(server, host=H1, label="core=0", **rng))
    assert body["agg"] == "avg" and points(body["series"][0]) == want["avg"]
    body = ok(query(server, host=H1, label="core=0", agg="sum", **{"from": T0, "to": T0 + 60 * S - 1}))
    assert body["step"] is None and points(body["series"][0]) == [(0, 210.0)]
    # Integer steps are milliseconds; buckets start at from.
    body = ok(query(server, host=H1, label="core=0", agg="count", step="20000", **{"from": T0 + 5 * S, "to": T0 + 44 * S}))
    assert points(body["series"][0]) == [(5 * S, 2.0), (25 * S, 2.0)]


def test_rate_of_a_counter_with_a_reset(server):
    load(server)
    body = ok(query(server, name="rx_bytes", agg="rate", step="30s", **{"from": T0, "to": T0 + 60 * S - 1}))
    # Bucket 0: +100 +50 (the reset from 300 to 50) over 20 s; bucket 1: +100 +100 over 20 s,
    # counting from the sample at 20 s before it.
    assert points(body["series"][0]) == [(0, 7.5), (30 * S, 10.0)]


def test_by_groups_across_series(server):
    load(server)
    rng = {"from": T0, "to": T0 + 60 * S - 1, "step": "30s"}
    body = ok(query(server, host=H1, category="cpu", agg="avg", by="name", **rng))
    assert len(body["series"]) == 1
    g = body["series"][0]
    assert set(g) == {"group", "series_count", "points"}
    assert g["group"] == {"name": "usage"} and g["series_count"] == 2
    # The average over all samples of both series, not the average of their averages.
    assert points(g) == [(0, 61 / 4), (30 * S, 158 / 5)]

    body = ok(query(server, category="cpu", agg="max", by="host,core", **rng))
    groups = [(g["group"]["host"], g["group"]["core"], points(g)) for g in body["series"]]
    assert groups == [
        (H1, "0", [(0, 30.0), (30 * S, 60.0)]),
        (H1, "1", [(0, 1.0), (30 * S, 5.0)]),
        (H2, "0", [(0, 7.0)]),
    ]
    # Series without the label share a null group.
    body = ok(query(server, agg="count", by="core", **{"from": T0, "to": T0 + 60 * S}))
    assert [(g["group"]["core"], g["series_count"]) for g in body["series"]] == [("0", 2), ("1", 1), (None, 1)]


def test_selection_by_regex_and_labels(server):
    load(server)
    rng = {"from": T0, "to": T0 + 60 * S}

    def selected(**params):
        body = ok(query(server, **params, **rng))
        return sorted((s["host_id"][-1], s["name"], s["labels"].get("core", "")) for s in body["series"])

    assert selected(name_re="rx_.*") == [("1", "rx_bytes", "")]
    assert selected(name_re="rx") == []  # anchored
    assert selected(category_re="cpu|net", host=H2) == [("2", "usage", "0")]
    assert selected(label="core=0") == [("1", "usage", "0"), ("2", "usage", "0")]
    assert selected(label="core=~[01],core=~1") == [("1", "usage", "1")]
    assert selected(label="iface=~.*") == [("1", "rx_bytes", "")]  # only series with the label
    assert selected(host=H1.upper(), label="core=1") == [("1", "usage", "1")]
    # Repeated label parameters all apply, like one comma-separated list.
    assert selected(label=["core=~[01]", "core=~1"]) == [("1", "usage", "1")]
    assert selected(label=["core=0", "core=1"]) == []


def test_hostnames_resolve(server):
    r = requests.post(server.url + "/api/v1/servers", json={"hostname": "web-1", "os": "linux"}, timeout=10)
    assert r.status_code in (200, 201), r.text
    web1 = r.json()["id"]
    load(server)
    ingest(server, web1, [sample("cpu", "usage", 42, T0)])
    rng = {"from": T0, "to": T0 + 60 * S}
    body = ok(query(server, host="web-1", **rng))
    assert [(s["host_id"], points(s)) for s in body["series"]] == [(web1, [(0, 42.0)])]
    body = ok(query(server, host_re="web-[0-9]+", **rng))
    assert [s["host_id"] for s in body["series"]] == [web1]
    assert ok(query(server, host="no-such-host", **rng))["series"] == []
    series = ok(query(server, "/api/v1/series", host="web-1"))
    assert series["count"] == 1


def test_series_discovery(server_factory):
    server = server_factory(["--query-max-series", "3"])
    load(server)
    body = ok(query(server, "/api/v1/series", category="cpu"))
    assert body["count"] == 3
    assert body["series"][0] == {"host_id": H1, "category": "cpu", "name": "usage", "labels": {"core": "0"}, "kind": "gauge"}
    assert [s["host_id"] for s in body["series"]] == [H1, H1, H2]
    assert ok(query(server, "/api/v1/series", name="nope")) == {"series": [], "count": 0}
    # Four series exceed the limit of three.
    assert_error(query(server, "/api/v1/series"), 400, "4 series", "limit of 3", "narrow")
    assert_error(query(server, agg="avg"), 400, "4 series", "limit of 3")


def test_point_limits(server_factory):
    server = server_factory(["--query-max-points", "5"])
    load(server)
    rng = {"from": T0, "to": T0 + 60 * S - 1}
    # Known before reading: 2 series x 6 buckets.
    r = query(server, host=H1, category="cpu", step="10s", **rng)
    assert_error(r, 400, "2 series x 6 buckets", "limit of 5 points", "larger step")
    # Counted while reading raw points: series 1 alone has 6.
    r = query(server, host=H1, label="core=0", **rng)
    assert_error(r, 400, "more than 5 points", "shorter range")
    # A huge range at 1 ms is refused at once, not computed.
    r = query(server, step="1", agg="avg", **{"from": 0, "to": T0})
    assert_error(r, 400, "limit of 5 points")
    assert len(ok(query(server, host=H1, label="core=1", **rng))["series"][0]["points"]) == 3


@pytest.mark.parametrize(
    "params, words",
    [
        ({"host_re": "("}, ["host_re:", "regular expression"]),
        ({"category_re": "a)(b"}, ["category_re:", "unmatched )"]),
        ({"name_re": "(a)\\1"}, ["name_re:", "back-references"]),
        ({"name_re": "(a{16}){16}"}, ["name_re:", "too complex"]),
        ({"name_re": "a" * 600}, ["name_re:", "longer than"]),
        ({"label": "core"}, ["label:", "key=value"]),
        ({"label": "=x"}, ["label:", "empty label name"]),
        ({"label": "a=~["}, ["label:", "regular expression"]),
        ({"label": ",".join(f"k{i}=v" for i in range(17))}, ["label:", "more than 16"]),
        ({"category": "cpu", "metric_type": "cpu"}, ["metric_type:", "not both"]),
        ({"from": "yesterday"}, ["from:", "RFC 3339"]),
        ({"to": "2026-13-01T00:00:00Z"}, ["to:", "RFC 3339"]),
        ({"from": "2000", "to": "1000"}, ["from:", "after to"]),
        ({"from": "-999999999999999999", "to": "0"}, ["from:", "out of range"]),
        ({"step": "0"}, ["step:"]),
        ({"step": "-5s"}, ["step:"]),
        ({"step": "5 minutes"}, ["step:"]),
        ({"agg": "median"}, ["agg:", "avg, min, max"]),
        ({"by": "host,,core", "agg": "avg"}, ["by:", "empty label name"]),
        ({"by": "core,core", "agg": "avg"}, ["by:", "twice"]),
        ({"by": "a,b,c,d,e,f,g,h,i", "agg": "avg"}, ["by:", "more than 8"]),
        ({"by": "core"}, ["by:", "needs agg"]),
    ],
    ids=lambda v: str(v)[:40] if isinstance(v, dict) else None,
)
def test_bad_parameters_get_400_naming_them(server, params, words):
    assert_error(query(server, **params), 400, *words)


def test_bad_selection_on_series_route(server):
    assert_error(query(server, "/api/v1/series", host_re="(("), 400, "host_re:")
    assert_error(query(server, "/api/v1/series", label="x"), 400, "label:")


def test_hosts_liveness(server):
    r = requests.post(server.url + "/api/v1/servers", json={"hostname": "quiet", "ip_address": "10.0.0.9"}, timeout=10)
    assert r.status_code in (200, 201), r.text
    quiet = r.json()["id"]
    ingest(server, H1, [sample("cpu", "usage", 1, T0)])
    hosts = {h["id"]: h for h in ok(requests.get(server.url + "/api/v1/hosts", timeout=10))["hosts"]}
    assert set(hosts) == {quiet, H1}
    q = hosts[quiet]
    assert set(q) == {"id", "hostname", "ip_address", "os", "labels", "agent_version", "status",
                      "last_seen", "liveness", "name", "section_id", "tenant_id", "created_at",
                      "updated_at"}
    assert (q["hostname"], q["ip_address"], q["last_seen"], q["liveness"]) == ("quiet", "10.0.0.9", None, "offline")
    h = hosts[H1]
    assert h["liveness"] == "online" and h["labels"] == {}
    seen = datetime.strptime(h["last_seen"], "%Y-%m-%dT%H:%M:%S.%fZ").replace(tzinfo=timezone.utc)
    assert abs(seen.timestamp() - time.time()) < 300


def test_hosts_go_stale(server_factory):
    server = server_factory(["--stale-after", "1s", "--offline-after", "1h"])
    ingest(server, H1, [sample("cpu", "usage", 1, T0)])

    def liveness():
        hosts = ok(requests.get(server.url + "/api/v1/hosts", timeout=10))["hosts"]
        return hosts[0]["liveness"] == "stale"

    wait_for(liveness, timeout=30, what="the host to turn stale")
