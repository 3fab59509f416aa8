"""ward-server's storage behaviour over real HTTP: retention, back-pressure,
durability across restarts, a full disk, and the server's own metrics.
"""

import gzip
import json
import shutil
import signal
import subprocess
import time
import uuid

import pytest
import requests

from conftest import OPEN_ARGS, binary, free_port, wait_for
from promtext import parse as parse_prom
from promtext import value

HOST = "0190c1d2-0000-7000-8000-00000000c0de"


def now_ms():
    return int(time.time() * 1000)


def batch(ts_list, name="usage", seq=None, host=HOST):
    body = {
        "server_id": host,
        "metrics": [
            {"metric_type": "cpu", "metric_name": name, "value": float(i), "timestamp": ts}
            for i, ts in enumerate(ts_list)
        ],
    }
    if seq is not None:
        body["batch"] = {"boot": 1, "seq": seq}
    return body


def ingest(server, body):
    return requests.post(
        server.url + "/api/v1/ingest",
        data=gzip.compress(json.dumps(body).encode()),
        headers={"Content-Encoding": "gzip", "Content-Type": "application/json"},
        timeout=30,
    )


def stored(server, host=HOST, **params):
    r = requests.get(
        server.url + "/api/v1/metrics",
        params={"server_id": host, "from": "0", "limit": "100000", **params},
        timeout=10,
    )
    assert r.status_code == 200, r.text
    return r.json()


def test_retention_deletes_old_samples(server_factory):
    server = server_factory(["--retention", "1h", "--retention-check", "1s"])
    old = [now_ms() - 2 * 3600_000 + i for i in range(50)]
    fresh = [now_ms() - 1000 + i for i in range(5)]
    assert ingest(server, batch(old + fresh)).status_code == 200
    wait_for(lambda: len(stored(server)) == 5, 60, "retention to delete the old samples")
    assert sorted(r["value"] for r in stored(server)) == [50.0, 51.0, 52.0, 53.0, 54.0]
    samples, _ = parse_prom(requests.get(server.url + "/metrics", timeout=10).text)
    assert value(samples, "ward_retention_deleted_samples_total") >= 50


def test_batch_larger_than_the_write_queue_is_413(server_factory):
    server = server_factory(["--write-queue", "1000"])
    r = ingest(server, batch([now_ms() - i for i in range(1001)]))
    assert r.status_code == 413, r.text
    assert "write queue" in r.json()["error"]
    assert ingest(server, batch([now_ms() - i for i in range(1000)])).status_code == 200


def test_acknowledged_data_and_latest_values_survive_a_restart(server_factory):
    server = server_factory()
    t0 = now_ms() - 60_000
    for seq in range(20):
        r = ingest(server, batch([t0 + seq * 100 + i for i in range(10)], seq=seq))
        assert r.status_code == 200 and r.json()["accepted"] == 10
    assert server.stop() == 0
    again = server_factory(port=server.port)
    assert len(stored(again)) == 200
    # The latest value was reloaded from the database.
    r = requests.get(again.url + "/api/v1/metrics", params={"server_id": HOST}, timeout=10)
    latest = r.json()
    assert len(latest) == 1 and latest[0]["value"] == 9.0
    # Resending a stored batch after the restart stores nothing twice.
    r = ingest(again, batch([t0 + i for i in range(10)], seq=0))
    assert r.json()["duplicate"] is True
    assert len(stored(again)) == 200


def test_server_metrics(server):
    assert ingest(server, batch([now_ms() - i for i in range(7)])).status_code == 200
    requests.get(server.url + "/nope", timeout=10)
    samples, types = parse_prom(requests.get(server.url + "/metrics", timeout=10).text)
    route = "/api/v1/ingest"
    assert value(samples, "ward_http_requests_total", route=route, method="POST", status="200") == 1
    assert value(samples, "ward_http_requests_total", route="unmatched", method="GET", status="404") == 1
    assert value(samples, "ward_http_request_duration_seconds_count", route=route) == 1
    assert value(samples, "ward_http_request_duration_seconds_bucket", route=route, le="+Inf") == 1
    assert types["ward_http_request_duration_seconds"] == "histogram"
    assert value(samples, "ward_ingest_samples_total") == 7
    assert value(samples, "ward_write_queue_samples") == 0
    assert value(samples, "ward_series") == 1
    assert value(samples, "ward_hosts") == 1
    assert value(samples, "ward_database_bytes") > 0
    assert value(samples, "process_resident_memory_bytes") > 0


def test_full_disk_is_503_and_the_server_keeps_serving(workdir):
    unshare = shutil.which("unshare")
    probe = subprocess.run([unshare or "unshare", "-m", "true"], capture_output=True)
    if not unshare or probe.returncode != 0:
        pytest.skip("cannot make a mount namespace here (unshare -m needs CAP_SYS_ADMIN)")
    data = workdir / "data"
    data.mkdir()
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    script = (
        f"mount -t tmpfs -o size=1m ward-test {data} && exec {binary('ward-server')}"
        f" -a 127.0.0.1:{port} -d {data}/ward.db {' '.join(OPEN_ARGS)}"
    )
    err = open(workdir / "server.err", "wb")
    proc = subprocess.Popen([unshare, "-m", "sh", "-c", script], stderr=err)
    try:
        def up():
            try:
                return requests.get(url + "/health", timeout=2).status_code == 200
            except requests.ConnectionError:
                return False

        wait_for(up, 30, "the server on a small disk")
        first = None
        refused = None
        for i in range(400):
            host = str(uuid.UUID(int=i + 1, version=4))
            body = {
                "server_id": host,
                "metrics": [
                    {"metric_type": "disk", "metric_name": f"m{j}", "value": j,
                     "labels": {"mount": "/" + "x" * 200}, "timestamp": now_ms()}
                    for j in range(200)
                ],
            }
            r = requests.post(url + "/api/v1/ingest", json=body, timeout=30)
            if r.status_code == 200 and first is None:
                first = host
            if r.status_code == 503:
                refused = r
                break
            assert r.status_code == 200, r.text
        assert refused is not None, "a 1 MiB disk never filled up"
        assert refused.headers["Retry-After"]
        assert "retry later" in refused.json()["error"]
        # Still serving, and what was acknowledged is still there.
        assert requests.get(url + "/healthz/live", timeout=10).status_code == 200
        r = requests.get(url + "/api/v1/metrics", params={"server_id": first, "from": "0"}, timeout=10)
        assert r.status_code == 200 and len(r.json()) == 200
    finally:
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(timeout=30) == 0
        err.close()
    log = (workdir / "server.err").read_text()
    assert "runtime error:" not in log and "Sanitizer" not in log, log[-3000:]


def test_registration_refuses_a_field_given_twice(server):
    r = requests.post(
        server.url + "/api/v1/servers",
        data='{"hostname":"evil","labels":{"a":"1"},"labels":{"b":"2"}}',
        timeout=10,
    )
    assert r.status_code == 400 and "labels: given twice" in r.json()["error"]
    r = requests.post(server.url + "/api/v1/servers", data='{"hostname":"a","hostname":"b"}', timeout=10)
    assert r.status_code == 400
    assert requests.get(server.url + "/api/v1/servers", timeout=10).json() == []


def test_a_sample_at_a_stored_time_is_a_no_op_in_latest_values_too(server):
    t = now_ms() - 5000
    for v in (1.0, 2.0, 3.0):
        body = {"server_id": HOST, "metrics": [{"metric_type": "cpu", "metric_name": "usage", "value": v, "timestamp": t}]}
        assert ingest(server, body).status_code == 200
    latest = requests.get(server.url + "/api/v1/metrics", params={"server_id": HOST}, timeout=10).json()
    assert [r["value"] for r in latest] == [1.0]
    assert [r["value"] for r in stored(server)] == [1.0]


def test_sigterm_under_load_answers_every_batch_truthfully(server_factory):
    """Batches answered 200 are stored; batches answered 503 are not."""
    import threading

    server = server_factory(["--shutdown-timeout", "0"])
    answers = {}
    lock = threading.Lock()
    t0 = now_ms() - 600_000

    def client(k):
        session = requests.Session()
        for seq in range(k * 1000, k * 1000 + 1000):
            body = batch([t0 + seq * 10 + i for i in range(5)], name=f"load{k}", seq=seq)
            try:
                r = session.post(
                    server.url + "/api/v1/ingest",
                    data=gzip.compress(json.dumps(body).encode()),
                    headers={"Content-Encoding": "gzip"},
                    timeout=30,
                )
            except requests.RequestException:
                return
            with lock:
                answers[seq] = r.status_code
            if r.status_code != 200:
                return

    threads = [threading.Thread(target=client, args=(k,)) for k in range(8)]
    for t in threads:
        t.start()
    wait_for(lambda: len(answers) >= 200, 60, "some batches stored")
    assert server.stop() == 0
    for t in threads:
        t.join()
    assert set(answers.values()) <= {200, 503}, answers
    again = server_factory(port=server.port)
    for seq, status in sorted(answers.items()):
        k = seq // 1000
        body = batch([t0 + seq * 10 + i for i in range(5)], name=f"load{k}", seq=seq)
        r = ingest(again, body)
        assert r.status_code == 200
        assert r.json()["duplicate"] is (status == 200), (seq, status)
