"""Command-line behaviour of the three binaries: --help, --version, config, wardctl."""

import subprocess

import requests

from conftest import binary

BINARIES = ["ward-server", "ward-agent", "wardctl"]


def run(*args, env=None):
    return subprocess.run(list(args), capture_output=True, text=True, timeout=30, env=env)


def test_help_and_version():
    for name in BINARIES:
        r = run(binary(name), "--help")
        assert r.returncode == 0, r.stderr
        assert "Usage:" in r.stdout or "usage:" in r.stdout.lower()
        assert "--config" in r.stdout and "--check-config" in r.stdout
        r = run(binary(name), "--version")
        assert r.returncode == 0
        assert r.stdout.strip() == f"{name} 0.1.0"


def test_golectra_flags_are_listed():
    out = run(binary("ward-agent"), "--help").stdout
    for flag in ("-a,", "-p,", "-r,"):
        assert flag in out
    out = run(binary("ward-server"), "--help").stdout
    for flag in ("-a,", "-d,"):
        assert flag in out


def test_unknown_flag_is_a_usage_error():
    for name in BINARIES:
        r = run(binary(name), "--no-such-flag")
        assert r.returncode == 2
        assert "no-such-flag" in r.stderr


def test_check_config(tmp_path):
    good = tmp_path / "server.yaml"
    good.write_text("address: 127.0.0.1:9999\ndatabase: /tmp/x.db\n")
    r = run(binary("ward-server"), "-c", str(good), "--check-config")
    assert r.returncode == 0, r.stderr
    assert "configuration OK" in r.stdout

    bad = tmp_path / "bad.yaml"
    bad.write_text("address: 127.0.0.1:9999\nadress: oops\n")
    r = run(binary("ward-server"), "-c", str(bad), "--check-config")
    assert r.returncode == 1
    assert f"{bad}:2:1" in r.stderr and "adress" in r.stderr

    agent = tmp_path / "agent.yaml"
    agent.write_text("report_interval: 0.01s\n")
    r = run(binary("ward-agent"), "-c", str(agent), "--check-config")
    assert r.returncode == 1
    assert f"{agent}:1:18" in r.stderr and "report_interval" in r.stderr


def test_server_reports_a_busy_port(server):
    r = run(binary("ward-server"), "-a", f"127.0.0.1:{server.port}", "-d", str(server.db) + "2")
    assert r.returncode == 1
    assert "cannot listen" in r.stderr


def test_server_reports_a_bad_database_path(tmp_path):
    r = run(binary("ward-server"), "-a", "127.0.0.1:0", "-d", str(tmp_path / "missing" / "x.db"))
    assert r.returncode == 1
    assert "database" in r.stderr


def test_wardctl_health_and_query(server):
    r = run(binary("wardctl"), "-s", server.url, "health")
    assert r.returncode == 0, r.stderr
    assert '"status":"ok"' in r.stdout

    host = "0192a1b2-c3d4-7e5f-8a9b-0c1d2e3f4a5b"
    body = {
        "server_id": host,
        "metrics": [
            {"metric_type": "ram", "metric_name": "usage_percent", "value": 78.5, "timestamp": "2025-11-20T10:00:00Z"}
        ],
    }
    assert requests.post(server.url + "/api/v1/ingest", json=body, timeout=10).status_code == 200
    r = run(binary("wardctl"), "-s", server.url, "--from", "2025-11-20T00:00:00Z",
            "--to", "2025-11-21T00:00:00Z", "query", host, "ram")
    assert r.returncode == 0, r.stderr
    assert "usage_percent" in r.stdout and "78.5" in r.stdout

    r = run(binary("wardctl"), "-s", server.url, "query", "not-a-uuid")
    assert r.returncode == 1
    assert "UUID" in r.stderr

    r = run(binary("wardctl"), "-s", "http://127.0.0.1:1", "health")
    assert r.returncode == 1
    assert "wardctl:" in r.stderr


def test_log_options_are_checked_with_the_configuration(tmp_path):
    r = run(binary("ward-server"), "--log-level", "loud", "--check-config")
    assert r.returncode == 2
    assert "'loud' is not one of: debug, info, warn, warning, error" in r.stderr
    conf = tmp_path / "agent.yaml"
    conf.write_text("log_format: xml\n")
    r = run(binary("ward-agent"), "-c", str(conf), "--check-config")
    assert r.returncode == 1
    assert f"{conf}:1:13" in r.stderr and "'xml' is not one of: text, json" in r.stderr
