"""Fixtures that run the real ward binaries on loopback ports.

Every process started here is stopped at teardown, and its stderr is checked
for sanitizer reports, so a test passes only if nothing crashed, leaked or hit
undefined behaviour along the way.
"""

import os
import signal
import socket
import subprocess
import time
from pathlib import Path

import pytest
import requests

ROOT = Path(__file__).resolve().parents[2]
BUILD = Path(os.environ.get("WARD_BUILD", ROOT / "build-test"))
SANITIZER_MARKS = ("ERROR: AddressSanitizer", "ERROR: LeakSanitizer", "runtime error:")


def binary(name):
    path = BUILD / name
    if not path.exists():
        pytest.fail(f"{path} is missing: build first (make test does)")
    return str(path)


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture
def refused_port():
    """A loopback port held bound but not listening, so a connection to it is refused."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        yield s.getsockname()[1]


def wait_for(predicate, timeout=30.0, what="condition"):
    """Polls predicate until it returns a truthy value; fails after timeout."""
    deadline = time.monotonic() + timeout
    while True:
        value = predicate()
        if value:
            return value
        if time.monotonic() > deadline:
            pytest.fail(f"timed out waiting for {what}")
        time.sleep(0.1)


class Process:
    """A ward binary running in the background with its output in files."""

    def __init__(self, args, workdir, name, env=None):
        self.name = name
        self.killed = False
        self.stdout_path = workdir / f"{name}.out"
        self.stderr_path = workdir / f"{name}.err"
        full_env = dict(os.environ)
        full_env.update(env or {})
        self.proc = subprocess.Popen(
            args,
            stdout=open(self.stdout_path, "wb"),
            stderr=open(self.stderr_path, "wb"),
            env=full_env,
            cwd=workdir,
        )

    def stderr(self):
        return self.stderr_path.read_text(errors="replace")

    def stop(self, sig=signal.SIGTERM, timeout=30):
        """Sends sig and waits; a process a test kills with SIGKILL may exit uncleanly."""
        if sig == signal.SIGKILL:
            self.killed = True
        if self.proc.poll() is None:
            self.proc.send_signal(sig)
            try:
                self.proc.wait(timeout=timeout)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
                pytest.fail(f"{self.name} did not stop within {timeout}s of {sig!r}")
        return self.proc.returncode

    def check_clean(self):
        err = self.stderr()
        for mark in SANITIZER_MARKS:
            assert mark not in err, f"{self.name} reported '{mark}':\n{err[-4000:]}"


# The admin token every test server accepts.
ADMIN_TOKEN = "test-admin-token-0123456789"
ADMIN = {"Authorization": f"Bearer {ADMIN_TOKEN}"}
# The enrollment token of test servers: agents presenting it are active at once.
ENROLL_TOKEN = "test-enroll-token-0123456789"

# Tests that are not about access control run the server open, as the seed
# systems' clients expect; secure=True starts it closed, as by default.
OPEN_ARGS = ("--open-ingest", "--public-read")


class Server(Process):
    def __init__(self, workdir, extra_args=(), env=None, port=None, secure=False):
        self.port = port or free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.db = workdir / "ward.db"
        args = [binary("ward-server"), "-a", f"127.0.0.1:{self.port}", "-d", str(self.db),
                "--admin-token", ADMIN_TOKEN, "--enroll-token", ENROLL_TOKEN]
        if not secure:
            args += OPEN_ARGS
        super().__init__(args + list(extra_args), workdir, "ward-server", env)
        wait_for(self._healthy, what="ward-server to answer /health")

    def _healthy(self):
        if self.proc.poll() is not None:
            pytest.fail(f"ward-server exited with {self.proc.returncode}:\n{self.stderr()}")
        try:
            return requests.get(self.url + "/health", timeout=1).status_code == 200
        except requests.ConnectionError:
            return False


@pytest.fixture
def workdir(tmp_path):
    return tmp_path


@pytest.fixture
def server_factory(workdir):
    started = []

    def start(extra_args=(), env=None, port=None, secure=False):
        """Starts a server on workdir/ward.db; port=... restarts one where it was."""
        s = Server(workdir, extra_args, env, port, secure)
        started.append(s)
        return s

    yield start
    for s in started:
        code = s.stop()
        s.check_clean()
        assert code == 0, f"ward-server exited with {code}:\n{s.stderr()[-4000:]}"


@pytest.fixture
def server(server_factory):
    return server_factory()


@pytest.fixture
def agent_factory(workdir):
    started = []

    def start(server_url, extra_args=(), env=None):
        args = [
            binary("ward-agent"),
            "-a",
            server_url,
            "--state-dir",
            str(workdir / "agent"),
            "--listen",
            "127.0.0.1:0",
        ]
        a = Process(args + list(extra_args), workdir, "ward-agent", env)
        started.append(a)
        return a

    yield start
    for a in started:
        code = a.stop()
        a.check_clean()
        assert code == 0 or a.killed, f"ward-agent exited with {code}:\n{a.stderr()[-4000:]}"


def enroll_agent(server, hostname="web-1"):
    """Registers an agent with the enrollment token: active at once. Returns (id, key)."""
    import uuid

    agent_id = str(uuid.uuid4())
    body = {"agentId": agent_id, "hostname": hostname}
    r = requests.post(server.url + "/agent/register", json=body,
                      headers={"X-Ward-Enroll-Token": ENROLL_TOKEN}, timeout=5)
    assert r.status_code == 200, r.text
    return agent_id, r.json()["apiKey"]
