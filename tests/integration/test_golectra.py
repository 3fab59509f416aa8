"""The golectra compatibility routes (seed 000) over real HTTP.

Each curl example of the seed is replayed with the equivalent request, and a
golectra client's expectations are checked: text and JSON routes, counters
that add up, gauges that are replaced, the 400/404 paths, HashSHA256 in both
directions with -k (computed here with hashlib, independently of the
server), gzip both ways, the HTML page, /ping, and the snapshot flags.
"""

import gzip
import hashlib
import json
import threading

import requests

KEY = "your-secret"


def golectra_hash(body, key=KEY):
    """The seed's printf '%s' "$BODY$KEY" | openssl dgst -sha256, as hex."""
    if isinstance(body, str):
        body = body.encode()
    return hashlib.sha256(body + key.encode()).hexdigest()


def post(server, path, body=None, headers=None, raw=None):
    data = raw if raw is not None else (json.dumps(body) if body is not None else None)
    h = {"Content-Type": "application/json"} if body is not None else {}
    h.update(headers or {})
    return requests.post(server.url + path, data=data, headers=h, timeout=10)


def signed(server, path, body, extra=None):
    """Posts body (str) with its HashSHA256."""
    h = {"Content-Type": "application/json", "HashSHA256": golectra_hash(body)}
    h.update(extra or {})
    return requests.post(server.url + path, data=body.encode(), headers=h, timeout=10)


def value(server, kind, name):
    return requests.get(f"{server.url}/value/{kind}/{name}", timeout=10)


def assert_error(r, status, *words):
    assert r.status_code == status, r.text
    body = r.json()
    for w in words:
        assert w in body["error"], body["error"]


def test_seed_curl_examples(server):
    # Upsert one
    r = post(server, "/update", {"id": "Alloc", "type": "gauge", "value": 12345})
    assert r.status_code == 200, r.text
    assert r.headers["Content-Type"].startswith("application/json")
    assert r.json() == {"id": "Alloc", "type": "gauge", "value": 12345}
    assert r.text == '{"id":"Alloc","type":"gauge","value":12345}'
    # Read one
    r = post(server, "/value", {"id": "Alloc", "type": "gauge"})
    assert r.status_code == 200, r.text
    assert r.json() == {"id": "Alloc", "type": "gauge", "value": 12345}
    # Upsert batch
    r = post(
        server,
        "/updates",
        [{"id": "foo", "type": "gauge", "value": 1.23}, {"id": "bar", "type": "counter", "delta": 7}],
    )
    assert r.status_code == 200, r.text
    assert post(server, "/value", {"id": "foo", "type": "gauge"}).json()["value"] == 1.23
    assert post(server, "/value", {"id": "bar", "type": "counter"}).json() == {
        "id": "bar",
        "type": "counter",
        "delta": 7,
    }
    # Health
    assert requests.get(server.url + "/ping", timeout=10).status_code == 200


def test_text_routes_counters_add_gauges_replace(server):
    r = requests.post(server.url + "/update/gauge/Alloc/1.5", timeout=10)
    assert r.status_code == 200, r.text
    assert r.headers["Content-Type"].startswith("text/plain")
    r = value(server, "gauge", "Alloc")
    assert (r.status_code, r.text) == (200, "1.5")
    assert r.headers["Content-Type"].startswith("text/plain")
    requests.post(server.url + "/update/gauge/Alloc/2", timeout=10)
    assert value(server, "gauge", "Alloc").text == "2"
    requests.post(server.url + "/update/gauge/Alloc/0.000001", timeout=10)
    assert value(server, "gauge", "Alloc").text == "0.000001"

    for delta in (5, 7, -2):
        r = requests.post(f"{server.url}/update/counter/PollCount/{delta}", timeout=10)
        assert r.status_code == 200, r.text
    assert value(server, "counter", "PollCount").text == "10"
    # JSON deltas add to the same counter; the response carries the total.
    r = post(server, "/update", {"id": "PollCount", "type": "counter", "delta": 5})
    assert r.json() == {"id": "PollCount", "type": "counter", "delta": 15}
    # A gauge and a counter of one name are separate metrics.
    requests.post(server.url + "/update/gauge/PollCount/3.25", timeout=10)
    assert value(server, "gauge", "PollCount").text == "3.25"
    assert value(server, "counter", "PollCount").text == "15"
    # A batch naming one counter twice adds both deltas.
    r = post(
        server,
        "/updates",
        [
            {"id": "PollCount", "type": "counter", "delta": 1},
            {"id": "g", "type": "gauge", "value": 1},
            {"id": "PollCount", "type": "counter", "delta": 2},
            {"id": "g", "type": "gauge", "value": 9},
        ],
    )
    assert r.status_code == 200, r.text
    assert r.json() == [
        {"id": "PollCount", "type": "counter", "delta": 18},
        {"id": "g", "type": "gauge", "value": 9},
    ]


def test_bad_requests(server):
    for path in ("/update/histogram/x/1", "/update/gauge/x/abc", "/update/counter/x/1.5",
                 "/update/gauge/x/NaN", "/update/counter/x/99999999999999999999"):
        r = requests.post(server.url + path, timeout=10)
        assert r.status_code == 400, (path, r.text)
    assert_error(requests.post(server.url + "/update/histogram/x/1", timeout=10), 400, "type")
    assert_error(requests.post(server.url + "/update/counter/x/1.5", timeout=10), 400, "integer")
    # A missing name or value matches no route: 404, as in golectra.
    for path in ("/update/gauge", "/update/gauge/", "/update/gauge/x", "/update/gauge/x/",
                 "/update/counter//1"):
        r = requests.post(server.url + path, timeout=10)
        assert r.status_code == 404, (path, r.status_code, r.text)
    assert value(server, "gauge", "unknown").status_code == 404
    assert value(server, "counter", "unknown").status_code == 404
    assert value(server, "summary", "x").status_code == 400
    assert_error(post(server, "/value", {"id": "unknown", "type": "gauge"}), 404, "unknown")

    assert_error(post(server, "/update", raw="{"), 400, "invalid JSON")
    assert_error(post(server, "/update", raw=""), 400)
    assert_error(post(server, "/update", {"id": "a", "type": "gauge"}), 400, "value: missing")
    assert_error(post(server, "/update", {"id": "a", "type": "counter", "delta": 1.5}), 400,
                 "delta")
    assert_error(post(server, "/update", {"type": "gauge", "value": 1}), 400, "id: missing")
    assert_error(post(server, "/update", {"id": "a", "type": "x", "value": 1}), 400, "type")
    assert_error(post(server, "/value", {"id": "a"}), 400, "type: missing")
    assert_error(
        post(server, "/updates", [{"id": "a", "type": "gauge", "value": 1}, {"id": "b", "type": 1}]),
        400, "[1].type")
    assert_error(post(server, "/updates", {"id": "a"}), 400, "array")
    too_many = [{"id": f"m{i}", "type": "gauge", "value": i} for i in range(10001)]
    assert_error(post(server, "/updates", too_many), 413, "more than 10000")
    # Nothing of a refused batch was stored.
    assert value(server, "gauge", "a").status_code == 404
    # A total beyond 2^53 would not be exact.
    post(server, "/update", {"id": "big", "type": "counter", "delta": 2**53})
    assert_error(post(server, "/update", {"id": "big", "type": "counter", "delta": 1}), 400,
                 "counter big")
    assert value(server, "counter", "big").text == str(2**53)
    assert requests.get(server.url + "/nothing-here", timeout=10).status_code == 404


def test_concurrent_deltas_are_never_lost(server):
    def worker():
        with requests.Session() as s:
            for _ in range(25):
                r = s.post(server.url + "/update/counter/hits/1", timeout=30)
                assert r.status_code == 200, r.text

    threads = [threading.Thread(target=worker) for _ in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert value(server, "counter", "hits").text == "200"


def test_every_update_is_a_sample(server):
    for i in range(20):
        requests.post(f"{server.url}/update/gauge/fast/{i}", timeout=10)
    hosts = requests.get(server.url + "/api/v1/servers", timeout=10).json()
    host = next(h["id"] for h in hosts if h["hostname"] == "golectra")
    r = requests.get(
        server.url + "/api/v1/metrics",
        params={"server_id": host, "metric_type": "gauge", "metric_name": "fast", "from": 0},
        timeout=10,
    )
    rows = r.json()
    assert sorted(row["value"] for row in rows) == [float(i) for i in range(20)]
    assert len({row["timestamp"] for row in rows}) == 20
    assert all(row["labels"] == {} and row["kind"] == "gauge" for row in rows)


def test_html_page(server):
    post(server, "/updates", [
        {"id": "zeta", "type": "gauge", "value": 2.5},
        {"id": "<b>&", "type": "gauge", "value": 1},
        {"id": "PollCount", "type": "counter", "delta": 3},
        {"id": "Alloc", "type": "gauge", "value": 1e21},
    ])
    r = requests.get(server.url + "/", timeout=10)
    assert r.status_code == 200, r.text
    assert r.headers["Content-Type"].startswith("text/html")
    page = r.text
    assert "<b>&" not in page
    esc = page.index("<td>&lt;b&gt;&amp;</td><td>1</td>")
    alloc = page.index("<td>Alloc</td><td>1000000000000000000000</td>")
    zeta = page.index("<td>zeta</td><td>2.5</td>")
    counters = page.index("Counters")
    poll = page.index("<td>PollCount</td><td>3</td>")
    assert esc < alloc < zeta < counters < poll
    # "/" is the root only.
    assert requests.get(server.url + "/index.html", timeout=10).status_code == 404


def test_hash_both_directions(server_factory):
    server = server_factory(["-k", KEY])
    body = '{"id":"temp","type":"gauge","value":42}'
    # The seed's curl example, with the hash computed as it documents.
    assert golectra_hash(body) == (
        "9a9fefd1f179a23f2e78d89082c144f3c36fba3efe2f7da56c7adc300eae13bd")
    r = signed(server, "/update", body)
    assert r.status_code == 200, r.text
    assert r.headers["HashSHA256"] == golectra_hash(r.content)
    # Upper-case hex is the same hash.
    r = requests.post(server.url + "/update", data=body,
                      headers={"HashSHA256": golectra_hash(body).upper()}, timeout=10)
    assert r.status_code == 200, r.text

    assert_error(post(server, "/update", raw=body), 400, "missing HashSHA256")
    bad = golectra_hash(body, "other-key")
    assert_error(post(server, "/update", raw=body, headers={"HashSHA256": bad}), 400, "mismatch")
    assert_error(post(server, "/update", raw=body, headers={"HashSHA256": "xyz"}), 400, "malformed")
    assert_error(post(server, "/updates", raw="[" + body + "]",
                      headers={"HashSHA256": golectra_hash(body)}), 400, "mismatch")
    assert value(server, "gauge", "temp").text == "42"

    # Every response carries the hash of its body: text, JSON, HTML, errors, other routes.
    r = requests.post(server.url + "/update/counter/c/2", headers={"HashSHA256": golectra_hash("")},
                      timeout=10)
    assert r.status_code == 200, r.text
    for r in (value(server, "counter", "c"), value(server, "gauge", "nope"),
              signed(server, "/value", '{"id":"temp","type":"gauge"}'),
              requests.get(server.url + "/", timeout=10),
              requests.get(server.url + "/ping", timeout=10),
              requests.get(server.url + "/health", timeout=10)):
        assert r.headers["HashSHA256"] == golectra_hash(r.content), r.url
    assert value(server, "counter", "c").text == "2"


def test_no_hash_without_key(server):
    r = post(server, "/update", {"id": "x", "type": "gauge", "value": 1},
             headers={"HashSHA256": "not checked without a key"})
    assert r.status_code == 200, r.text
    assert "HashSHA256" not in r.headers


def test_gzip_both_directions(server_factory):
    server = server_factory(["-k", KEY])
    metrics = [{"id": f"Metric{i:03d}", "type": "gauge", "value": i + 0.5} for i in range(60)]
    body = json.dumps(metrics)
    # The hash covers the body as decoded, as golectra agents compute it.
    r = requests.post(server.url + "/updates", data=gzip.compress(body.encode()), timeout=10,
                      headers={"Content-Type": "application/json", "Content-Encoding": "gzip",
                               "HashSHA256": golectra_hash(body)})
    assert r.status_code == 200, r.text
    assert value(server, "gauge", "Metric059").text == "59.5"
    r = requests.get(server.url + "/", headers={"Accept-Encoding": "gzip"}, timeout=10)
    assert r.status_code == 200
    assert r.headers.get("Content-Encoding") == "gzip"
    assert "Metric059" in r.text
    assert r.headers["HashSHA256"] == golectra_hash(r.content)


def test_ping(server):
    r = requests.get(server.url + "/ping", timeout=10)
    assert r.status_code == 200


def test_no_snapshot_unless_asked(server, workdir):
    post(server, "/update", {"id": "Alloc", "type": "gauge", "value": 1})
    assert not (workdir / "metrics-db.json").exists()


def forget_database(workdir):
    for suffix in ("", "-wal", "-shm"):
        (workdir / f"ward.db{suffix}").unlink(missing_ok=True)


def test_snapshot_written_after_each_update_and_restored(server_factory, workdir):
    path = workdir / "metrics-db.json"
    server = server_factory(["-f", str(path), "-i", "0"])
    post(server, "/update", {"id": "Alloc", "type": "gauge", "value": 12345.5})
    post(server, "/update", {"id": "PollCount", "type": "counter", "delta": 7})
    snap = json.loads(path.read_text())
    assert {"id": "Alloc", "type": "gauge", "value": 12345.5} in snap
    assert {"id": "PollCount", "type": "counter", "delta": 7} in snap
    requests.post(server.url + "/update/counter/PollCount/3", timeout=10)
    assert {"id": "PollCount", "type": "counter", "delta": 10} in json.loads(path.read_text())
    assert server.stop() == 0

    # Restore into an empty database: the values come back from the file.
    forget_database(workdir)
    server = server_factory(["-f", str(path), "-r"], port=server.port)
    assert value(server, "gauge", "Alloc").text == "12345.5"
    assert value(server, "counter", "PollCount").text == "10"
    # A restored counter goes on from its total.
    requests.post(server.url + "/update/counter/PollCount/1", timeout=10)
    assert value(server, "counter", "PollCount").text == "11"
    assert server.stop() == 0

    # Without -r the file is not read.
    forget_database(workdir)
    server = server_factory(["-f", str(path)], port=server.port)
    assert value(server, "gauge", "Alloc").status_code == 404


def test_snapshot_written_at_shutdown(server_factory, workdir):
    path = workdir / "snap.json"
    server = server_factory(["-f", str(path), "-i", "300"])
    post(server, "/update", {"id": "Alloc", "type": "gauge", "value": 3})
    assert server.stop() == 0
    assert json.loads(path.read_text()) == [{"id": "Alloc", "type": "gauge", "value": 3}]


def test_bad_snapshot_is_reported_and_skipped(server_factory, workdir):
    path = workdir / "metrics-db.json"
    path.write_text('[{"id":"Alloc","type":"gauge","value":1},{"id":')
    server = server_factory(["-f", str(path), "-r"])
    assert "cannot restore the golectra snapshot" in server.stderr()
    assert value(server, "gauge", "Alloc").status_code == 404
    assert post(server, "/update", {"id": "x", "type": "gauge", "value": 1}).status_code == 200


def test_values_survive_a_restart_without_snapshot(server_factory):
    server = server_factory()
    requests.post(server.url + "/update/counter/PollCount/4", timeout=10)
    requests.post(server.url + "/update/gauge/Alloc/2.5", timeout=10)
    assert server.stop() == 0
    server = server_factory(port=server.port)
    assert value(server, "gauge", "Alloc").text == "2.5"
    requests.post(server.url + "/update/counter/PollCount/1", timeout=10)
    assert value(server, "counter", "PollCount").text == "5"


def test_golectra_host_appears_with_the_first_write(server):
    def hostnames():
        return [h["hostname"] for h in requests.get(server.url + "/api/v1/servers",
                                                    timeout=10).json()]

    assert value(server, "gauge", "Alloc").status_code == 404
    assert requests.get(server.url + "/", timeout=10).status_code == 200
    assert "golectra" not in hostnames()
    requests.post(server.url + "/update/gauge/Alloc/1", timeout=10)
    assert hostnames().count("golectra") == 1
