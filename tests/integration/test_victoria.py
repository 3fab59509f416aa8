"""The agent's VictoriaMetrics import lines, taken by a real VictoriaMetrics.

`ward-agent --once --format vm` prints one collection converted the way the
VictoriaMetrics output converts a spooled batch (src/agent/vm-import.c).
The lines are posted to /api/v1/import of a victoria-metrics started by the
harness in victoria.py, and read back through /api/v1/export: the series
must be there under their Prometheus names, with the agent's id as the
instance label, and with the values and timestamps the agent printed.
"""

import json
import re
import subprocess

import pytest

from conftest import binary
from victoria import victoria  # noqa: F401,F811 (a fixture)

ONCE_ID = "00000000-0000-0000-0000-000000000000"  # the id --once reports under
NAME = re.compile(r"^[a-zA-Z_:][a-zA-Z0-9_:]*$")


def once(fmt):
    r = subprocess.run(
        [binary("ward-agent"), "--once", "--format", fmt], capture_output=True, text=True, timeout=60
    )
    assert r.returncode == 0, r.stderr
    assert "runtime error:" not in r.stderr and "Sanitizer" not in r.stderr, r.stderr
    return r.stdout


@pytest.fixture(scope="module")
def vm_lines():
    """One collection as import lines, parsed: {(name, labels): line}."""
    text = once("vm")
    assert text.endswith("\n")
    series = {}
    for line in text.splitlines():
        doc = json.loads(line)
        assert set(doc) == {"metric", "values", "timestamps"}
        metric = doc["metric"]
        assert NAME.match(metric["__name__"]), metric
        assert metric["instance"] == ONCE_ID
        assert len(doc["values"]) == len(doc["timestamps"]) >= 1
        assert all(isinstance(t, int) for t in doc["timestamps"])
        key = (metric["__name__"], frozenset(metric.items()))
        assert key not in series, f"series twice: {metric}"
        series[key] = doc
    return text, series


def find(series, name, **labels):
    want = {"__name__": name, "instance": ONCE_ID, **labels}
    for doc in series.values():
        if doc["metric"] == want:
            return doc
    pytest.fail(f"no series {want}")


def same(got, want):
    """VictoriaMetrics keeps about 12 significant digits of a value (it stores
    decimals), so values match to 1e-10; everything else exactly."""
    assert got["metric"] == want["metric"]
    assert got["timestamps"] == want["timestamps"], want["metric"]
    assert got["values"] == pytest.approx(want["values"], rel=1e-10, abs=0), want["metric"]


def test_harness_round_trip(victoria):
    """The harness itself: a line imported comes back as it went in."""
    line = {
        "metric": {"__name__": "harness_check", "instance": "h", "k": 'a"b'},
        "values": [1.5, 2.0],
        "timestamps": [1700000000000, 1700000001000],
    }
    victoria.import_lines(json.dumps(line) + "\n")
    got = victoria.wait_for_series('harness_check{instance="h"}')
    assert got == [line]
    assert victoria.export('{__name__="no_such_series"}') == []


def test_names_match_the_exposition(vm_lines):
    _, series = vm_lines
    names = {name for name, _ in series}
    prom = once("prom")
    families = dict(
        line.split(" ", 3)[2:4] for line in prom.splitlines() if line.startswith("# TYPE ")
    )
    # Families every run of the agent has, whatever the host: the same name both ways.
    for name, kind in [
        ("cpu_usage_percent", "gauge"),
        ("cpu_seconds_total", "counter"),
        ("ram_total_bytes", "gauge"),
        ("agent_poll_count_total", "counter"),  # PollCount, a counter, on the wire
        ("agent_random_value", "gauge"),  # RandomValue on the wire
        ("agent_samples_total", "counter"),
    ]:
        assert name in names, name
        assert families.get(name) == kind, (name, families.get(name))
    # Both are the whole collector table on one host a second apart: the same families,
    # but for the top-CPU list, which is empty in a second when no process ran.
    assert names ^ set(families) <= {"processes_top_cpu_percent"}, (names ^ set(families))


def test_agent_lines_import_into_victoria(victoria, vm_lines):
    text, series = vm_lines
    victoria.import_lines(text)

    # A gauge without labels.
    usage = find(series, "cpu_usage_percent")
    got = victoria.wait_for_series(f'cpu_usage_percent{{instance="{ONCE_ID}",core=""}}')
    assert len(got) == 1
    same(got[0], usage)

    # A counter with labels, named with _total.
    core0 = find(series, "cpu_seconds_total", core="0", mode="user")
    got = victoria.wait_for_series(f'cpu_seconds_total{{instance="{ONCE_ID}",core="0",mode="user"}}')
    assert len(got) == 1
    same(got[0], core0)

    # The golectra counter, renamed the Prometheus way.
    polls = find(series, "agent_poll_count_total")
    got = victoria.wait_for_series(f'agent_poll_count_total{{instance="{ONCE_ID}"}}')
    assert len(got) == 1
    same(got[0], polls)

    # Every series the agent printed is there, each exactly once, under its instance.
    everything = victoria.wait_for_series(f'{{instance="{ONCE_ID}"}}')
    got = {(d["metric"]["__name__"], frozenset(d["metric"].items())): d for d in everything}
    assert len(got) == len(everything)
    assert got.keys() == series.keys()
    for key, doc in series.items():
        same(got[key], doc)
