"""VictoriaMetrics for integration tests: a real single-node server on a
loopback port, with helpers to import JSON lines and export series.

The binary comes from Debian's victoria-metrics package (scripts/deps.sh test
installs it). Each server keeps its data in the test's temporary directory
and is stopped at teardown. Retention is a hundred years, so samples with
fixed timestamps in the past are kept rather than silently dropped, and the
response cache is off, so a query sees every import before it.

Use the `victoria` fixture (import it into the test module), or the
Victoria class directly.
"""

import json
import os
from pathlib import Path

import pytest
import requests

from conftest import Process, free_port, wait_for

VICTORIA = Path(os.environ.get("WARD_VICTORIA", "/usr/bin/victoria-metrics"))


class Victoria(Process):
    """victoria-metrics listening on 127.0.0.1:port, data under workdir."""

    def __init__(self, workdir, extra_args=(), port=None):
        if not VICTORIA.exists():
            pytest.fail(f"{VICTORIA} is missing: run scripts/deps.sh test (package victoria-metrics)")
        self.port = port or free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.data = workdir / "victoria-data"
        args = [
            str(VICTORIA),
            f"-httpListenAddr=127.0.0.1:{self.port}",
            f"-storageDataPath={self.data}",
            "-retentionPeriod=100y",
            "-search.disableCache",
            "-loggerLevel=WARN",
        ]
        super().__init__(args + list(extra_args), workdir, "victoria-metrics")
        wait_for(self._healthy, 60, "victoria-metrics to answer /health")

    def _healthy(self):
        if self.proc.poll() is not None:
            pytest.fail(f"victoria-metrics exited with {self.proc.returncode}:\n{self.stderr()[-4000:]}")
        try:
            return requests.get(self.url + "/health", timeout=1).status_code == 200
        except requests.ConnectionError:
            return False

    def import_lines(self, body):
        """POSTs JSON lines (str or bytes) to /api/v1/import; fails unless accepted."""
        if isinstance(body, str):
            body = body.encode()
        r = requests.post(self.url + "/api/v1/import", data=body, timeout=30)
        assert r.status_code == 204, f"import failed: {r.status_code} {r.text[:2000]}"
        return r

    def flush(self):
        """Makes everything imported so far visible to queries."""
        r = requests.get(self.url + "/internal/force_flush", timeout=30)
        assert r.status_code == 200, f"force_flush failed: {r.status_code} {r.text[:2000]}"

    def export(self, match, **params):
        """Returns the series matching a selector from /api/v1/export: a list of
        {"metric": {...}, "values": [...], "timestamps": [...]}."""
        params = dict(params)
        params["match[]"] = match
        r = requests.get(self.url + "/api/v1/export", params=params, timeout=30)
        assert r.status_code == 200, f"export failed: {r.status_code} {r.text[:2000]}"
        return [json.loads(line) for line in r.text.splitlines() if line.strip()]

    def wait_for_series(self, match, timeout=30.0, **params):
        """Flushes and polls export until the selector matches; returns the series."""

        def found():
            self.flush()
            return self.export(match, **params)

        return wait_for(found, timeout, f"victoria-metrics to return {match}")


@pytest.fixture
def victoria(workdir):
    """A running victoria-metrics, stopped (and checked to stop cleanly) at teardown."""
    v = Victoria(workdir)
    yield v
    code = v.stop()
    assert code == 0, f"victoria-metrics exited with {code}:\n{v.stderr()[-4000:]}"
