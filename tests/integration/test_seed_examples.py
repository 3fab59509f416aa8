"""The curl examples of the seed documents, run as written against ward-server.

Each example below is copied from its seed document (shared/seeds/), with
only the address changed to the test server's and the documents'
placeholders (YOUR_SERVER_UUID, YOUR_UUID) filled in with a registered id.
They run through bash exactly as a user would paste them, and the test
checks what comes back. Seed 004's examples query VictoriaMetrics after a
ward agent forwarded to it and ask the agent and the server for their
health. Seed 003's registration and claim examples run against a closed
server (the default), with the claim token hash the document elides
("a3f5...") written out in full and <admin-token> filled in.
"""

import gzip
import hashlib
import json
import subprocess

import pytest
import requests

from conftest import ADMIN_TOKEN, wait_for

SEED = "http://localhost:8080"


def run(server, script, placeholders=None):
    """Runs a seed example in bash against server; returns its stdout."""
    script = script.replace(SEED, server.url)
    for name, value in (placeholders or {}).items():
        script = script.replace(name, value)
    done = subprocess.run(
        ["bash", "-euo", "pipefail", "-c", script],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 0, f"example failed:\n{script}\n{done.stderr}"
    return done.stdout


def register(server):
    out = run(
        server,
        """curl -X POST http://localhost:8080/api/v1/servers \\
  -H "Content-Type: application/json" \\
  -d '{
    "hostname": "server01",
    "ip_address": "192.168.1.10",
    "os": "Ubuntu 22.04",
    "labels": {"env": "prod", "role": "web"},
    "agent_version": "1.0.0"
  }'""",
    )
    return json.loads(out)


# ---- Seed 001: the real-time monitoring backend ----


def test_001_health(server):
    out = run(server, "curl http://localhost:8080/health")
    assert json.loads(out)["status"] == "ok"


def test_001_register_server(server):
    body = register(server)
    assert body["hostname"] == "server01"
    assert body["ip_address"] == "192.168.1.10"
    assert body["os"] == "Ubuntu 22.04"
    assert body["labels"] == {"env": "prod", "role": "web"}
    assert body["agent_version"] == "1.0.0"
    assert len(body["id"]) == 36
    # Registering the same hostname again keeps its id.
    assert register(server)["id"] == body["id"]


def test_001_list_servers(server):
    first = register(server)
    out = run(server, "curl http://localhost:8080/api/v1/servers")
    servers = json.loads(out)
    assert [s["id"] for s in servers] == [first["id"]]
    assert servers[0]["hostname"] == "server01"


INGEST = """curl -X POST http://localhost:8080/api/v1/ingest \\
  -H "Content-Type: application/json" \\
  -d '{
    "server_id": "YOUR_SERVER_UUID",
    "metrics": [
      {
        "metric_type": "cpu",
        "metric_name": "usage",
        "value": 45.2,
        "labels": {"core": "0"},
        "timestamp": "2025-11-20T10:00:00Z"
      },
      {
        "metric_type": "ram",
        "metric_name": "usage_percent",
        "value": 78.5,
        "labels": {},
        "timestamp": "2025-11-20T10:00:00Z"
      }
    ]
  }'"""


def test_001_ingest_and_query(server):
    sid = register(server)["id"]
    out = run(server, INGEST, {"YOUR_SERVER_UUID": sid})
    assert json.loads(out)["accepted"] == 2

    # "Get latest metrics for a server": one row per series, filtered by type.
    out = run(
        server,
        'curl "http://localhost:8080/api/v1/metrics?server_id=YOUR_UUID&metric_type=cpu"',
        {"YOUR_UUID": sid},
    )
    rows = json.loads(out)
    assert [(r["metric_name"], r["value"], r["labels"]) for r in rows] == [
        ("usage", 45.2, {"core": "0"})
    ]
    # ward writes RFC 3339 with milliseconds, which Go's time.Time parses too.
    assert rows[0]["timestamp"] == "2025-11-20T10:00:00.000Z"

    # "With time range".
    out = run(
        server,
        'curl "http://localhost:8080/api/v1/metrics?server_id=YOUR_UUID'
        '&from=2025-11-20T00:00:00Z&to=2025-11-20T23:59:59Z"',
        {"YOUR_UUID": sid},
    )
    rows = json.loads(out)
    assert sorted((r["metric_type"], r["metric_name"], r["value"]) for r in rows) == [
        ("cpu", "usage", 45.2),
        ("ram", "usage_percent", 78.5),
    ]


def test_001_testing_section(server):
    """The seed's "Testing" section: register, send 100 metrics, query them."""
    out = run(
        server,
        """SERVER_ID=$(curl -s -X POST http://localhost:8080/api/v1/servers \\
  -H "Content-Type: application/json" \\
  -d '{
    "hostname": "test-server",
    "ip_address": "10.0.0.1",
    "os": "Linux",
    "labels": {"env": "test"}
  }' | jq -r '.id')

echo "Server ID: $SERVER_ID"

# Send 100 test metrics
curl -X POST http://localhost:8080/api/v1/ingest \\
  -H "Content-Type: application/json" \\
  -d "{
    \\"server_id\\": \\"$SERVER_ID\\",
    \\"metrics\\": $(for i in {1..100}; do
      echo "{\\"metric_type\\":\\"cpu\\",\\"metric_name\\":\\"usage\\",\\"value\\":$((RANDOM % 100)),\\"labels\\":{},\\"timestamp\\":\\"$(date -u +%Y-%m-%dT%H:%M:%SZ)\\"}"
    done | jq -s .)
  }"
echo
curl "http://localhost:8080/api/v1/metrics?server_id=$SERVER_ID&metric_type=cpu" | jq
""",
    )
    lines = out.splitlines()
    assert lines[0].startswith("Server ID: ") and len(lines[0]) == len("Server ID: ") + 36
    assert json.loads(lines[1])["status"] == "ok"
    rows = json.loads("\n".join(lines[2:]))
    # All 100 share one series; with seconds-resolution timestamps some are
    # the same sample, so the latest value is one row.
    assert len(rows) == 1 and rows[0]["metric_name"] == "usage"
    assert 0 <= rows[0]["value"] < 100


# ---- Seed 003: smotra's health and version routes ----


@pytest.mark.parametrize(
    "path, status",
    [("/healthz", "ok"), ("/healthz/ready", "ready"), ("/healthz/live", "alive")],
)
def test_003_health_checks(server, path, status):
    out = run(server, f"curl http://localhost:8080{path}")
    assert json.loads(out)["status"] == status


def test_003_api_info(server):
    info = json.loads(run(server, "curl http://localhost:8080/api/v1"))
    assert info["apiVersion"] == "v1"
    assert info["version"]


SMOTRA_AGENT = "019c1234-5678-7abc-def0-123456789abc"
SMOTRA_CLAIM_TOKEN = "original-token-from-agent"
SMOTRA_HASH = "a3f5b2c8d1e9f4a7b6c5d2e1f8a9b4c7..."


def test_003_register_poll_claim(server_factory):
    server = server_factory(secure=True)
    full_hash = hashlib.sha256(SMOTRA_CLAIM_TOKEN.encode()).hexdigest()
    out = run(
        server,
        """curl -X POST http://localhost:8080/agent/register \
  -H "Content-Type: application/json" \
  -d '{
    "agentId": "019c1234-5678-7abc-def0-123456789abc",
    "claimTokenHash": "a3f5b2c8d1e9f4a7b6c5d2e1f8a9b4c7...",
    "hostname": "prod-web-01",
    "agentVersion": "1.0.0"
  }'""",
        {SMOTRA_HASH: full_hash},
    )
    got = json.loads(out)
    assert got["status"] == "pending_claim"
    assert got["pollUrl"] == f"/agents/{SMOTRA_AGENT}/claim-status"
    assert got["claimUrl"]

    poll = "curl http://localhost:8080/agents/019c1234-5678-7abc-def0-123456789abc/claim-status"
    assert json.loads(run(server, poll)) == {"status": "pending"}

    # The claim example names a section; it is the default section here.
    sections = requests.get(server.url + "/api/v1/sections",
                            headers={"Authorization": "Bearer " + ADMIN_TOKEN}, timeout=5)
    section = sections.json()["sections"][0]["id"]
    out = run(
        server,
        """curl -X POST http://localhost:8080/agents/claim \
  -H "Content-Type: application/json" \
  -H "Authorization: Bearer <admin-token>" \
  -d '{
    "agentId": "019c1234-5678-7abc-def0-123456789abc",
    "claimToken": "original-token-from-agent",
    "sectionId": "019c9876-5432-7fed-cba0-987654321fed",
    "name": "Production Web Server 01"
  }'""",
        {"<admin-token>": ADMIN_TOKEN, "019c9876-5432-7fed-cba0-987654321fed": section},
    )
    assert json.loads(out)["status"] == "claimed"

    claimed = json.loads(run(server, poll))
    assert claimed["status"] == "claimed" and claimed["apiKey"]
    assert json.loads(run(server, poll)) == {"status": "pending"}


# ---- Seed 000: golectra ----


def test_000_json_examples(server):
    out = run(
        server,
        """# Upsert one
curl -X POST http://localhost:8080/update \\
  -H "Content-Type: application/json" \\
  -d '{"id":"Alloc","type":"gauge","value":12345}'
echo
# Read one
curl -X POST http://localhost:8080/value \\
  -H "Content-Type: application/json" \\
  -d '{"id":"Alloc","type":"gauge"}'
echo
# Upsert batch
curl -X POST http://localhost:8080/updates \\
  -H "Content-Type: application/json" \\
  -d '[{"id":"foo","type":"gauge","value":1.23},{"id":"bar","type":"counter","delta":7}]'
echo
# Health
curl http://localhost:8080/ping
""",
    )
    lines = out.splitlines()
    assert json.loads(lines[0]) == {"id": "Alloc", "type": "gauge", "value": 12345}
    assert json.loads(lines[1]) == {"id": "Alloc", "type": "gauge", "value": 12345}
    assert requests.get(server.url + "/value/gauge/foo").text == "1.23"
    assert requests.get(server.url + "/value/counter/bar").text == "7"
    # The dashboard lists what was stored.
    page = requests.get(server.url + "/").text
    assert "Alloc" in page and "foo" in page and "bar" in page


def test_000_text_routes(server):
    run(
        server,
        "curl -fsS -X POST http://localhost:8080/update/gauge/Temp/21.5\n"
        "curl -fsS -X POST http://localhost:8080/update/counter/PollCount/3\n"
        "curl -fsS -X POST http://localhost:8080/update/counter/PollCount/4\n",
    )
    assert requests.get(server.url + "/value/gauge/Temp").text == "21.5"
    assert requests.get(server.url + "/value/counter/PollCount").text == "7"


def test_000_integrity_header(server_factory):
    server = server_factory(["-k", "your-secret"])
    out = run(
        server,
        """BODY='{"id":"temp","type":"gauge","value":42}'
KEY='your-secret'
HASH=$(printf '%s' "$BODY$KEY" | openssl dgst -sha256 -binary | xxd -p -c 256)

curl -X POST http://localhost:8080/update \\
  -H "Content-Type: application/json" \\
  -H "HashSHA256: $HASH" \\
  -d "$BODY" -i
""",
    )
    head, _, body = out.replace("\r\n", "\n").partition("\n\n")
    assert head.startswith("HTTP/1.1 200")
    headers = dict(
        line.split(": ", 1) for line in head.splitlines()[1:] if ": " in line
    )
    sent = {k.lower(): v for k, v in headers.items()}
    expect = hashlib.sha256(body.encode() + b"your-secret").hexdigest()
    assert sent["hashsha256"] == expect
    assert json.loads(body) == {"id": "temp", "type": "gauge", "value": 42}


def test_000_gzip_both_ways(server):
    body = gzip.compress(b'{"id":"Zipped","type":"gauge","value":2.5}')
    r = requests.post(
        server.url + "/update",
        data=body,
        headers={
            "Content-Type": "application/json",
            "Content-Encoding": "gzip",
            "Accept-Encoding": "gzip",
        },
    )
    assert r.status_code == 200
    assert r.json() == {"id": "Zipped", "type": "gauge", "value": 2.5}


# ---- Seed 004: thugshells (agent -> VictoriaMetrics, agent health) ----


def test_004_query_victoria_and_check_health(server, agent_factory, workdir):
    from conftest import free_port
    from victoria import Victoria

    # Without the offset, queries would ignore the last 30 s, which is all there is.
    vm = Victoria(workdir, ["-search.latencyOffset=0s"])
    try:
        listen = free_port()
        agent_factory(
            server.url,
            ["--vm-url", vm.url, "-p", "1", "-r", "1", "--listen", f"127.0.0.1:{listen}"],
        )
        vm.wait_for_series("cpu_usage_percent", timeout=60)
        vm_url = "http://localhost:8428"

        def answered():
            out = run(
                server,
                "curl -s 'http://localhost:8428/api/v1/query?query=cpu_usage_percent' | jq .",
                {vm_url: vm.url},
            )
            result = json.loads(out)
            assert result["status"] == "success"
            return result["data"]["result"]

        # A new series can take a moment to show in instant queries after the flush.
        assert wait_for(answered, 60, "cpu_usage_percent in an instant query")
        out = run(
            server,
            "curl -s 'http://localhost:8428/api/v1/label/__name__/values' | jq .",
            {vm_url: vm.url},
        )
        assert "cpu_usage_percent" in json.loads(out)["data"]
        # "Check Health": the agent's own /health.
        out = run(
            server,
            "curl http://localhost:9100/health | jq .",
            {"http://localhost:9100": f"http://127.0.0.1:{listen}"},
        )
        assert json.loads(out)["status"] in ("ok", "degraded")
        # "Check receiver is accessible": the server the agent uploads to.
        out = run(server, "curl http://localhost:9090/health", {"http://localhost:9090": server.url})
        assert json.loads(out)["status"] == "ok"
    finally:
        assert vm.stop() == 0
