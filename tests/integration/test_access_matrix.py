"""Who may call what: every route of ward-server against every kind of caller.

The route table is read from src/server/api/routes.c (as test_openapi.py
does), and each route is tried on a closed server with each caller below.
A route without an entry in EXPECT fails here, so a new route cannot be
added without deciding who may call it; an entry whose access class no
longer matches routes.c fails too.

Callers:
  none          no credential
  wrong_key     a well-formed but unknown agent key in X-Agent-API-Key
  wrong_bearer  a well-formed but unknown admin token in Authorization: Bearer
  forged_key    agent A's lookup with a wrong secret (the hash must decide)
  agent         agent A's valid key (A is claimed into tenant T1's section S1)
  limited       an admin token limited to tenant T2
  admin         the unlimited admin token

Expected, by access class (auth.h, docs/api.md "Access control"):
  PUBLIC        never 401/403, whoever calls;
  AGENT/SIGNED  none/wrong/forged 401, agent allowed (POST /api/v1/servers:
                403), limited 403;
  READ          none/wrong/forged 401, agent 403, limited allowed but blind
                to T1 (T1's host is 404, lists leave A out);
  ADMIN         none/wrong/forged 401, agent 403, limited 403 on tokens and
                tenants, 404 on T1's host, allowed on sections of T2;
  ANYONE        never refused by the access check: the route answers each
                caller for itself (the dashboard's page, its session, the
                live stream), as its entry lists.
Every 401 carries WWW-Authenticate, and every error body is JSON with
"error" and "request_id".

Independence: one server serves the whole module (module-scoped fixture).
Requests that change state are aimed at throwaway objects: every case of
DELETE /api/v1/hosts/{id}, rotate-key and revoke-key targets a victim host
claimed into S1 just for that route (and a fresh one for each unlimited
admin case, which really deletes, rotates or revokes it); the agent caller
there uses the victim's own key. Token revocation targets a fresh unlimited
token; claims, registrations and creations use fresh agents and names. So
agent A, its key and the tokens stay valid whatever order the cases run
in, and a server bug in one case cannot cascade into the others. Claims are
counted per client address (30 per 10 minutes, claims.h), so victims are
shared by the refused callers of a route rather than made per case.
"""

import gzip
import hashlib
import http.cookiejar
import json
import re
import secrets
import time
import uuid
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable, Optional

import pytest
import requests

from conftest import ADMIN, ADMIN_TOKEN, Server

ROOT = Path(__file__).resolve().parents[2]
ROUTE = re.compile(r'\{\s*"([A-Z]+)",\s*"([^"]+)",\s*(ward_api_\w+),\s*([A-Z]+)\s*\}')
CLASSES = {"PUBLIC", "AGENT", "SIGNED", "READ", "ADMIN", "ANYONE"}
CALLERS = ("none", "wrong_key", "wrong_bearer", "forged_key", "agent", "limited", "admin")
UNKNOWN = ("none", "wrong_key", "wrong_bearer", "forged_key")
B32 = "abcdefghijklmnopqrstuvwxyz234567"
GAUGE = "MatrixGauge"


def router_routes():
    """[(METHOD, path, class)] in the order of routes.c."""
    text = (ROOT / "src/server/api/routes.c").read_text()
    routes = [(m, p, c) for m, p, _, c in ROUTE.findall(text)]
    assert len(routes) > 10, "the route table could not be read"
    return routes


def b32(n):
    return "".join(secrets.choice(B32) for _ in range(n))


def uuid7():
    ms = int(time.time() * 1000)
    rand = secrets.token_bytes(10)
    b = ms.to_bytes(6, "big") + bytes([0x70 | (rand[0] & 0x0F), rand[1]]) + \
        bytes([0x80 | (rand[2] & 0x3F)]) + rand[3:10]
    return str(uuid.UUID(bytes=b))


def unique(prefix):
    return f"{prefix}-{secrets.token_hex(6)}"


def now_rfc3339():
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())


def ingest_body(server_id, value=1.0):
    body = {"server_id": server_id,
            "metrics": [{"metric_type": "cpu", "metric_name": "usage_percent", "value": value,
                         "labels": {}, "timestamp": now_rfc3339()}]}
    return gzip.compress(json.dumps(body).encode())


# ---- The world the matrix runs in ----


class World:
    """A closed server with tenants T1 and T2, agents A (T1) and B (T2), and tokens."""

    def __init__(self, server):
        self.server = server
        self.url = server.url
        self.http = requests.Session()
        # Each case is one caller: a session cookie from the login case must not stick.
        self.http.cookies.set_policy(http.cookiejar.DefaultCookiePolicy(allowed_domains=[]))
        self.t1 = self.post("/api/v1/tenants", {"name": "matrix-t1"})["id"]
        self.t2 = self.post("/api/v1/tenants", {"name": "matrix-t2"})["id"]
        self.s1 = self.post("/api/v1/sections", {"name": "s1", "tenantId": self.t1})["id"]
        self.s2 = self.post("/api/v1/sections", {"name": "s2", "tenantId": self.t2})["id"]
        limited = self.post("/api/v1/tokens", {"name": "t2-admin", "tenantId": self.t2})
        self.limited_token = limited["token"]
        self.a, self.a_key = self.claimed_agent("matrix-a", self.s1)
        self.b, self.b_key = self.claimed_agent("matrix-b", self.s2)
        for host, key in ((self.a, self.a_key), (self.b, self.b_key)):
            r = self.http.post(self.url + "/api/v1/ingest", data=ingest_body(host),
                               headers={"Content-Encoding": "gzip", "X-Agent-API-Key": key},
                               timeout=5)
            assert r.status_code == 200, r.text
        r = self.http.post(f"{self.url}/update/gauge/{GAUGE}/1.5", headers=ADMIN, timeout=5)
        assert r.status_code == 200, r.text
        self.victims = {}
        # A command of A's, which T2's token must not see in lists or by id.
        self.a_command = self.post(f"/api/v1/hosts/{self.a}/commands", {"type": "mounts"})["id"]

    def post(self, path, body, headers=ADMIN, status=201):
        r = self.http.post(self.url + path, json=body, headers=headers, timeout=5)
        assert r.status_code == status, f"setup: POST {path}: {r.status_code} {r.text}"
        return r.json()

    def pending_agent(self, hostname=None):
        """Registers an agent that waits for its claim; returns (id, claim token)."""
        agent_id, token = uuid7(), secrets.token_urlsafe(20)
        body = {"agentId": agent_id, "hostname": hostname or unique("matrix-pending"),
                "claimTokenHash": hashlib.sha256(token.encode()).hexdigest(),
                "agentVersion": "1.0.0"}
        r = self.http.post(self.url + "/agent/register", json=body, timeout=5)
        assert r.status_code == 200, f"setup: register: {r.text}"
        return agent_id, token

    def claimed_agent(self, hostname, section):
        """Registers and claims an agent into section; returns (id, key)."""
        agent_id, token = self.pending_agent(hostname)
        self.post("/agents/claim", {"agentId": agent_id, "claimToken": token,
                                    "sectionId": section}, status=200)
        r = self.http.get(f"{self.url}/agents/{agent_id}/claim-status", timeout=5)
        got = r.json()
        assert got["status"] == "claimed", f"setup: claim-status: {got}"
        return agent_id, got["apiKey"]

    def victim(self, route, caller):
        """A host of T1 for a route that changes its host: (id, key).

        Every unlimited admin case gets its own, as it really changes it; the
        callers that should be refused share one per route.
        """
        if caller == "admin":
            return self.claimed_agent(unique("matrix-victim"), self.s1)
        if route not in self.victims:
            self.victims[route] = self.claimed_agent(unique("matrix-victim"), self.s1)
        return self.victims[route]

    def headers(self, caller, agent_key=None):
        key = agent_key or self.a_key
        return {
            "none": {},
            "wrong_key": {"X-Agent-API-Key": f"wk_{b32(12)}_{b32(26)}"},
            "wrong_bearer": {"Authorization": f"Bearer wt_{b32(12)}_{b32(26)}"},
            "forged_key": {"X-Agent-API-Key": key[:16] + b32(26)},
            "agent": {"X-Agent-API-Key": key},
            "limited": {"Authorization": "Bearer " + self.limited_token},
            "admin": {"Authorization": "Bearer " + ADMIN_TOKEN},
        }[caller]


@pytest.fixture(scope="module")
def world(tmp_path_factory):
    s = Server(tmp_path_factory.mktemp("access-matrix"), secure=True)
    w = None
    try:
        w = World(s)
        yield w
    finally:
        if w:
            w.http.close()
        code = s.stop()
        s.check_clean()
        assert code == 0, f"ward-server exited with {code}:\n{s.stderr()[-4000:]}"


# ---- What each route is sent, and what an allowed caller gets ----


@dataclass
class Req:
    path: str
    params: Optional[dict] = None
    json: object = None
    data: Optional[bytes] = None
    headers: dict = field(default_factory=dict)
    agent_key: Optional[str] = None  # the agent caller's key, when not A's
    after: Optional[Callable] = None  # extra checks: after(world, response, caller)


@dataclass
class Expect:
    access: str
    make: Callable  # make(world, caller) -> Req
    ok: int  # what the unlimited admin (and any allowed caller) gets
    limited: Optional[int] = None  # READ and ADMIN: what the T2 token gets
    agent_ok: Optional[int] = None  # AGENT/SIGNED: what A's key gets, if not ok
    admin_check: Optional[Callable] = None  # admin_check(world, response)
    limited_check: Optional[Callable] = None  # limited_check(world, response)
    anyone: Optional[dict] = None  # ANYONE: what each caller other than admin gets


def simple(path, **kw):
    return lambda w, caller: Req(path, **kw)


def shows_a(w, r):
    assert w.a in r.text, "the unlimited admin does not see agent A"


def blind_to_t1(w, r):
    """A list for T2's token: B is there, A is not."""
    assert w.a not in r.text, "the T2 token sees agent A of tenant T1"
    assert w.b in r.text, "the T2 token does not see its own agent B"


def register_req(path):
    def make(w, caller):
        token = secrets.token_urlsafe(20)
        return Req(path, json={"agentId": uuid7(), "hostname": unique("matrix-reg"),
                               "claimTokenHash": hashlib.sha256(token.encode()).hexdigest(),
                               "agentVersion": "1.0.0"})
    return make


def claim_req(w, caller):
    if caller == "limited":
        # A belongs to T1: for T2's token it does not exist, whatever the token.
        return Req("/agents/claim", json={"agentId": w.a, "claimToken": "not-the-token"},
                   after=limited_cannot_claim_into_t1)
    agent_id, token = w.pending_agent()
    return Req("/agents/claim", json={"agentId": agent_id, "claimToken": token,
                                      "sectionId": w.s1})


def limited_cannot_claim_into_t1(w, r, caller):
    agent_id, token = w.pending_agent()
    got = w.http.post(w.url + "/agents/claim", headers=w.headers("limited"), timeout=5,
                      json={"agentId": agent_id, "claimToken": token, "sectionId": w.s1})
    assert got.status_code == 404, f"T2's token claimed into T1's section: {got.text}"


def victim_req(suffix, route):
    def make(w, caller):
        host, key = w.victim(route, caller)
        return Req(f"/api/v1/hosts/{host}{suffix}", agent_key=key)
    return make


def revoke_token_req(w, caller):
    made = w.post("/api/v1/tokens", {"name": unique("matrix-throwaway")})
    return Req(f"/api/v1/tokens/{made['id']}")


def sections_create_req(w, caller):
    body = {"name": unique("matrix-section")}
    if caller == "admin":
        body["tenantId"] = w.t1
    return Req("/api/v1/sections", json=body,
               after=limited_sections_own_tenant if caller == "limited" else None)


def limited_sections_own_tenant(w, r, caller):
    assert r.json()["tenant_id"] == w.t2, "a section made by T2's token is not in T2"
    got = w.http.post(w.url + "/api/v1/sections", headers=w.headers("limited"), timeout=5,
                      json={"name": unique("matrix-section"), "tenantId": w.t1})
    assert got.status_code == 404, f"T2's token made a section in T1: {got.text}"


def sections_blind(w, r):
    assert w.s2 in r.text, "T2's token does not see its section"
    assert w.s1 not in r.text and w.t1 not in r.text, "T2's token sees T1's section"


def tenants_own(w, r):
    assert [t["id"] for t in r.json()["tenants"]] == [w.t2], "T2's token sees other tenants"


def ingest_req(w, caller):
    return Req("/api/v1/ingest", data=ingest_body(w.a), headers={"Content-Encoding": "gzip"})


CONFIG = {"labels": {"env": "matrix"}}


def agent_reads_only_its_configuration(w, r, caller):
    if caller != "agent":
        return
    got = w.http.get(f"{w.url}/agent/{w.b}/configuration", headers=w.headers("agent"),
                     timeout=5)
    assert got.status_code == 403, f"A's key read B's configuration: {got.status_code}"
    check_error_body(got, "GET /agent/{B}/configuration as A")


def reaches_own(w, kind, own_id, method):
    """T2's token, refused T1's document, gets its own tenant's."""
    got = w.http.request(method, f"{w.url}/api/v1/{kind}/{own_id}/configuration",
                         json=CONFIG if method == "PUT" else None, headers=w.headers("limited"),
                         timeout=5)
    assert got.status_code == 200, \
        f"{method} /api/v1/{kind}/<T2's>/configuration as T2's token: {got.status_code} {got.text}"


def blind_to_commands_of_a(w, r, key):
    assert r.json()[key] == [], f"T2's token sees T1's {key}"


def spectra_req(w, caller):
    body = [{"type": "cpu", "timestamp": now_rfc3339(), "hostname": unique("matrix-spectra"),
             "data": {"usage_percent": 3.5}}]
    return Req("/api/v1/metrics", json=body)


EXPECT = {
    # PUBLIC
    ("GET", "/health"): Expect("PUBLIC", simple("/health"), 200),
    ("GET", "/healthz"): Expect("PUBLIC", simple("/healthz"), 200),
    ("GET", "/healthz/live"): Expect("PUBLIC", simple("/healthz/live"), 200),
    ("GET", "/healthz/ready"): Expect("PUBLIC", simple("/healthz/ready"), 200),
    ("GET", "/metrics"): Expect("PUBLIC", simple("/metrics"), 200),
    ("GET", "/api/v1"): Expect("PUBLIC", simple("/api/v1"), 200),
    ("POST", "/agent/register"): Expect("PUBLIC", register_req("/agent/register"), 200),
    ("POST", "/api/v1/agent/register"):
        Expect("PUBLIC", register_req("/api/v1/agent/register"), 200),
    ("GET", "/agents/{id}/claim-status"):
        Expect("PUBLIC", lambda w, c: Req(f"/agents/{w.a}/claim-status"), 200),
    ("GET", "/ping"): Expect("PUBLIC", simple("/ping"), 200),
    # Claim
    ("POST", "/agents/claim"): Expect("ADMIN", claim_req, 200, limited=404),
    # Central agent configuration
    ("GET", "/agent/{id}/configuration"):
        Expect("AGENT", lambda w, c: Req(f"/agent/{w.a}/configuration",
                                         after=agent_reads_only_its_configuration), 200),
    ("GET", "/api/v1/hosts/{id}/configuration"):
        Expect("ADMIN", lambda w, c: Req(f"/api/v1/hosts/{w.a}/configuration"), 200,
               limited=404, limited_check=lambda w, r: reaches_own(w, "hosts", w.b, "GET")),
    ("PUT", "/api/v1/hosts/{id}/configuration"):
        Expect("ADMIN", lambda w, c: Req(f"/api/v1/hosts/{w.a}/configuration", json=CONFIG),
               200, limited=404, limited_check=lambda w, r: reaches_own(w, "hosts", w.b, "PUT")),
    ("GET", "/api/v1/sections/{id}/configuration"):
        Expect("ADMIN", lambda w, c: Req(f"/api/v1/sections/{w.s1}/configuration"), 200,
               limited=404, limited_check=lambda w, r: reaches_own(w, "sections", w.s2, "GET")),
    ("PUT", "/api/v1/sections/{id}/configuration"):
        Expect("ADMIN", lambda w, c: Req(f"/api/v1/sections/{w.s1}/configuration",
                                         json=CONFIG),
               200, limited=404,
               limited_check=lambda w, r: reaches_own(w, "sections", w.s2, "PUT")),
    # Hosts
    ("POST", "/api/v1/servers"):
        Expect("AGENT", lambda w, c: Req("/api/v1/servers",
                                         json={"hostname": unique("matrix-server")}),
               201, agent_ok=403),
    ("GET", "/api/v1/servers"):
        Expect("READ", simple("/api/v1/servers"), 200, limited=200, admin_check=shows_a,
               limited_check=blind_to_t1),
    ("GET", "/api/v1/hosts"):
        Expect("READ", simple("/api/v1/hosts"), 200, limited=200, admin_check=shows_a,
               limited_check=blind_to_t1),
    ("GET", "/api/v1/hosts/{id}"):
        Expect("READ", lambda w, c: Req(f"/api/v1/hosts/{w.a}"), 200, limited=404,
               admin_check=shows_a),
    ("DELETE", "/api/v1/hosts/{id}"):
        Expect("ADMIN", victim_req("", "delete"), 200, limited=404),
    ("POST", "/api/v1/hosts/{id}/rotate-key"):
        Expect("ADMIN", victim_req("/rotate-key", "rotate"), 200, limited=404),
    ("POST", "/api/v1/hosts/{id}/revoke-key"):
        Expect("ADMIN", victim_req("/revoke-key", "revoke"), 200, limited=404),
    # Diagnostics. A global admin token passes the AGENT check, but only an agent has commands;
    # A's poll gets its command queued when the world was made.
    ("GET", "/api/v1/agent/command"):
        Expect("AGENT", simple("/api/v1/agent/command", params={"wait": "0"}), 403,
               agent_ok=200),
    ("POST", "/api/v1/agent/command_result"):
        Expect("AGENT", simple("/api/v1/agent/command_result",
                               json={"id": str(uuid.uuid4()), "status": "done"}), 403,
               agent_ok=404),
    ("POST", "/api/v1/hosts/{id}/commands"):
        Expect("ADMIN", lambda w, c: Req(f"/api/v1/hosts/{w.a}/commands",
                                         json={"type": "mounts"}), 201, limited=404),
    ("GET", "/api/v1/commands"):
        Expect("ADMIN", simple("/api/v1/commands"), 200, limited=200,
               limited_check=lambda w, r: blind_to_commands_of_a(w, r, "commands")),
    ("GET", "/api/v1/commands/{id}"):
        Expect("ADMIN", lambda w, c: Req(f"/api/v1/commands/{w.a_command}"), 200,
               limited=404),
    ("GET", "/api/v1/audit"):
        Expect("ADMIN", simple("/api/v1/audit"), 200, limited=200,
               limited_check=lambda w, r: blind_to_commands_of_a(w, r, "entries")),
    ("POST", "/admin/trigger_logs"):
        Expect("ADMIN", simple("/admin/trigger_logs", params={"hostname": "matrix-a"}), 202,
               limited=404),
    ("POST", "/admin/trigger_disk"):
        Expect("ADMIN", simple("/admin/trigger_disk",
                               params={"hostname": "matrix-a", "path": "/tmp", "top_n": "3"}),
               202, limited=404),
    ("POST", "/admin/trigger_network"):
        Expect("ADMIN", simple("/admin/trigger_network",
                               params={"hostname": "matrix-a", "action": "netstat"}),
               202, limited=404),
    # Credentials, tenants and sections
    ("GET", "/api/v1/tokens"): Expect("ADMIN", simple("/api/v1/tokens"), 200, limited=403),
    ("POST", "/api/v1/tokens"):
        Expect("ADMIN", lambda w, c: Req("/api/v1/tokens",
                                         json={"name": unique("matrix-token")}),
               201, limited=403),
    ("DELETE", "/api/v1/tokens/{id}"): Expect("ADMIN", revoke_token_req, 200, limited=403),
    # A limited token lists its own tenant only, so it can learn its id.
    ("GET", "/api/v1/tenants"):
        Expect("ADMIN", simple("/api/v1/tenants"), 200, limited=200, limited_check=tenants_own),
    ("POST", "/api/v1/tenants"):
        Expect("ADMIN", lambda w, c: Req("/api/v1/tenants",
                                         json={"name": unique("matrix-tenant")}),
               201, limited=403),
    ("GET", "/api/v1/sections"):
        Expect("ADMIN", simple("/api/v1/sections"), 200, limited=200,
               limited_check=sections_blind),
    ("POST", "/api/v1/sections"): Expect("ADMIN", sections_create_req, 201, limited=201),
    # Data in and out
    ("POST", "/api/v1/ingest"): Expect("SIGNED", ingest_req, 200),
    ("GET", "/api/v1/metrics"):
        Expect("READ", lambda w, c: Req("/api/v1/metrics", params={"server_id": w.a}), 200,
               limited=404),
    ("POST", "/api/v1/metrics"): Expect("AGENT", spectra_req, 200),
    ("GET", "/api/v1/query"):
        Expect("READ", lambda w, c: Req("/api/v1/query", params={"name": "usage_percent"}),
               200, limited=200, admin_check=shows_a, limited_check=blind_to_t1),
    ("GET", "/api/v1/series"):
        Expect("READ", simple("/api/v1/series"), 200, limited=200, admin_check=shows_a,
               limited_check=blind_to_t1),
    # The dashboard. Its page is golectra's tables for a reader, else a login page (401, HTML);
    # golectra's metrics are in the default tenant, so T2's token gets the page without them.
    ("GET", "/"): Expect("ANYONE", simple("/"), 200,
                         anyone={**{c: 401 for c in CALLERS}, "limited": 200}),
    ("POST", "/api/v1/session"):
        Expect("PUBLIC", lambda w, c: Req("/api/v1/session", json={"token": ADMIN_TOKEN}), 200),
    ("GET", "/api/v1/session"):
        Expect("ANYONE", simple("/api/v1/session"), 200, anyone={c: 200 for c in CALLERS}),
    ("DELETE", "/api/v1/session"): Expect("PUBLIC", simple("/api/v1/session"), 200),
    # A plain GET is not a WebSocket handshake, whoever sends it.
    ("GET", "/api/v1/stream"):
        Expect("ANYONE", simple("/api/v1/stream"), 400, anyone={c: 400 for c in CALLERS}),
    ("GET", "/ui/{file}"): Expect("PUBLIC", simple("/ui/app.js"), 200),
    ("POST", "/update"):
        Expect("SIGNED", lambda w, c: Req("/update", json={"id": GAUGE, "type": "gauge",
                                                           "value": 2.5}), 200, agent_ok=403),
    ("POST", "/updates"):
        Expect("SIGNED", lambda w, c: Req("/updates", json=[
            {"id": "MatrixCounter", "type": "counter", "delta": 1}]), 200, agent_ok=403),
    ("POST", "/value"):
        Expect("READ", lambda w, c: Req("/value", json={"id": GAUGE, "type": "gauge"}), 200,
               limited=404),
    ("POST", "/update/{type}/{name}/{value}"):
        Expect("SIGNED", simple(f"/update/gauge/{GAUGE}/3.5"), 200, agent_ok=403),
    ("GET", "/value/{type}/{name}"):
        Expect("READ", simple(f"/value/gauge/{GAUGE}"), 200, limited=404),
}

def expected(e, method, path, caller):
    """The status the caller should get: an int."""
    if e.access == "PUBLIC" or (e.access == "ANYONE" and caller == "admin"):
        return e.ok
    if e.access == "ANYONE":
        return e.anyone[caller]
    if caller in UNKNOWN:
        return 401
    if caller == "admin":
        return e.ok
    if e.access in ("AGENT", "SIGNED"):
        if caller == "agent":
            return e.agent_ok if e.agent_ok is not None else e.ok
        return 403  # limited
    if caller == "agent":
        return 403  # READ, ADMIN
    assert e.limited is not None, f"{method} {path}: no expectation for a limited token"
    return e.limited


def check_error_body(r, what):
    assert r.headers.get("Content-Type", "").startswith("application/json"), \
        f"{what}: error answered as {r.headers.get('Content-Type')}: {r.text[:200]}"
    body = r.json()
    assert isinstance(body, dict) and body.get("error") and body.get("request_id"), \
        f"{what}: error body lacks error or request_id: {r.text[:200]}"


def cases():
    for method, path, _ in router_routes():
        for caller in CALLERS:
            yield pytest.param(method, path, caller, id=f"{method} {path} {caller}")


def test_every_route_has_an_expectation():
    routes = {(m, p): c for m, p, c in router_routes()}
    missing = sorted(set(routes) - set(EXPECT))
    assert not missing, f"routes of routes.c without an entry in EXPECT: {missing}"
    stale = sorted(set(EXPECT) - set(routes))
    assert not stale, f"EXPECT has routes that routes.c lacks: {stale}"
    for key, access in routes.items():
        assert access in CLASSES, f"{key}: unknown access class {access}"
        assert EXPECT[key].access == access, \
            f"{key} is {access} in routes.c but {EXPECT[key].access} in EXPECT"


@pytest.mark.parametrize("method,path,caller", list(cases()))
def test_access(world, method, path, caller):
    e = EXPECT.get((method, path))
    if e is None:
        pytest.fail(f"{method} {path} has no entry in EXPECT: decide who may call it")
    req = e.make(world, caller)
    headers = dict(req.headers)
    headers.update(world.headers(caller, req.agent_key))
    r = world.http.request(method, world.url + req.path, params=req.params, json=req.json,
                           data=req.data, headers=headers, timeout=10)
    what = f"{method} {path} as {caller}"
    want = expected(e, method, path, caller)
    assert r.status_code == want, f"{what}: got {r.status_code}, expected {want}: {r.text[:300]}"
    if e.access == "PUBLIC":
        assert r.status_code not in (401, 403)
    login_page = (method, path) == ("GET", "/") and r.status_code == 401
    if login_page:
        assert r.headers["Content-Type"].startswith("text/html") and "<form" in r.text
    elif r.status_code == 401:
        assert r.headers.get("WWW-Authenticate") == 'Bearer realm="ward"', \
            f"{what}: 401 without WWW-Authenticate"
    if r.status_code >= 400 and not login_page:
        check_error_body(r, what)
    if caller == "admin" and e.admin_check:
        e.admin_check(world, r)
    if caller == "limited" and e.limited_check:
        e.limited_check(world, r)
    if req.after:
        req.after(world, r, caller)


def body_routes():
    for method, path, access in router_routes():
        if method in ("POST", "PUT") and access != "PUBLIC":
            yield pytest.param(method, path, access, id=f"{method} {path}")


@pytest.mark.parametrize("method,path,access", list(body_routes()))
def test_access_is_checked_before_the_body(world, method, path, access):
    """A refused caller learns 401 or 403, never what is wrong with its body."""
    e = EXPECT.get((method, path))
    if e is None:
        pytest.fail(f"{method} {path} has no entry in EXPECT")
    req = e.make(world, "none")
    garbage = b"{not json"
    r = world.http.request(method, world.url + req.path, data=garbage, timeout=10)
    assert r.status_code == 401, f"{method} {path} without credential: {r.status_code} {r.text}"
    assert r.headers.get("WWW-Authenticate") == 'Bearer realm="ward"'
    check_error_body(r, f"{method} {path}")
    if access in ("READ", "ADMIN") or (method, path) == ("POST", "/api/v1/servers"):
        r = world.http.request(method, world.url + req.path, data=garbage,
                               headers=world.headers("agent", req.agent_key), timeout=10)
        assert r.status_code == 403, f"{method} {path} with an agent key: {r.status_code}"
        check_error_body(r, f"{method} {path}")
    if access in ("AGENT", "SIGNED") or "/tokens" in path or (method, path) == (
            "POST", "/api/v1/tenants"):
        r = world.http.request(method, world.url + req.path, data=garbage,
                               headers=world.headers("limited"), timeout=10)
        assert r.status_code == 403, f"{method} {path} with T2's token: {r.status_code}"
        check_error_body(r, f"{method} {path}")
