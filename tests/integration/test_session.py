"""Dashboard login: session cookies, the page at /, and the dashboard's files."""

import re

import requests

from conftest import ADMIN, ADMIN_TOKEN


def login(server, token=ADMIN_TOKEN):
    return requests.post(server.url + "/api/v1/session", json={"token": token}, timeout=5)


def test_login_sets_a_strict_http_only_cookie(server_factory):
    server = server_factory(secure=True)
    r = login(server)
    assert r.status_code == 200, r.text
    assert r.json()["authenticated"] is True and r.json()["via"] == "cookie"
    cookie = r.headers["Set-Cookie"]
    assert cookie.startswith("ward_session=ws_")
    for attr in ("HttpOnly", "SameSite=Strict", "Path=/", "Max-Age=43200"):
        assert attr in cookie
    assert ADMIN_TOKEN not in cookie
    jar = {"ward_session": r.cookies["ward_session"]}
    assert requests.get(server.url + "/api/v1/hosts", cookies=jar, timeout=5).status_code == 200
    me = requests.get(server.url + "/api/v1/session", cookies=jar, timeout=5).json()
    assert me == {"authenticated": True, "via": "cookie", "public_read": False, "tenant_id": ""}
    # The token itself never shows up in the server's log.
    assert r.cookies["ward_session"] not in server.stderr()


def test_logout_ends_the_session(server_factory):
    server = server_factory(secure=True)
    jar = {"ward_session": login(server).cookies["ward_session"]}
    r = requests.delete(server.url + "/api/v1/session", cookies=jar, timeout=5)
    assert r.status_code == 200
    assert "Max-Age=0" in r.headers["Set-Cookie"]
    assert requests.get(server.url + "/api/v1/hosts", cookies=jar, timeout=5).status_code == 401
    me = requests.get(server.url + "/api/v1/session", cookies=jar, timeout=5).json()
    assert me["authenticated"] is False and me["via"] is None


def test_bad_logins(server_factory):
    server = server_factory(secure=True)
    assert login(server, "not-the-admin-token-at-all").status_code == 401
    r = requests.post(server.url + "/api/v1/session", data="{", timeout=5)
    assert r.status_code == 400
    r = requests.post(server.url + "/api/v1/session", json={"token": 5}, timeout=5)
    assert r.status_code == 400
    # An agent key is not an admin token.
    reg = requests.post(server.url + "/api/v1/servers", json={"hostname": "h"}, headers=ADMIN,
                        timeout=5).json()
    assert login(server, reg["api_key"]).status_code == 401
    # Failed logins are limited per client address.
    codes = [login(server, f"wrong-token-number-{i:04d}").status_code for i in range(30)]
    assert codes[-1] == 429 and codes.count(401) == 28  # two failed above
    assert login(server).status_code == 429


def test_cookie_cannot_act_from_another_site(server_factory):
    server = server_factory(secure=True)
    jar = {"ward_session": login(server).cookies["ward_session"]}
    body = {"name": "evil"}
    r = requests.post(server.url + "/api/v1/tenants", json=body, cookies=jar,
                      headers={"Origin": "http://evil.example"}, timeout=5)
    assert r.status_code == 403
    r = requests.post(server.url + "/api/v1/tenants", json=body, cookies=jar,
                      headers={"Origin": server.url}, timeout=5)
    assert r.status_code in (200, 201), r.text


def test_revoked_token_ends_its_sessions(server_factory):
    server = server_factory(secure=True)
    made = requests.post(server.url + "/api/v1/tokens", json={"name": "ops"}, headers=ADMIN,
                         timeout=5).json()
    jar = {"ward_session": login(server, made["token"]).cookies["ward_session"]}
    assert requests.get(server.url + "/api/v1/hosts", cookies=jar, timeout=5).status_code == 200
    r = requests.delete(f"{server.url}/api/v1/tokens/{made['id']}", headers=ADMIN, timeout=5)
    assert r.status_code == 200, r.text
    assert requests.get(server.url + "/api/v1/hosts", cookies=jar, timeout=5).status_code == 401


def test_form_login_without_javascript(server_factory):
    server = server_factory(secure=True)
    page = requests.get(server.url + "/", timeout=5)
    assert page.status_code == 401
    assert page.headers["Content-Type"].startswith("text/html")
    assert '<form method="post" action="/api/v1/session"' in page.text
    assert "WWW-Authenticate" not in page.headers
    s = requests.Session()
    r = s.post(server.url + "/api/v1/session", data={"token": "wrong-token-0123456789"},
               allow_redirects=False, timeout=5)
    assert r.status_code == 303 and r.headers["Location"] == "/?login=failed"
    assert "not accepted" in s.get(server.url + r.headers["Location"], timeout=5).text
    # Percent-encoded as a browser may send it; a bad escape is a failed login.
    encoded = "".join(f"%{b:02X}" for b in ADMIN_TOKEN.encode())
    form = {"Content-Type": "application/x-www-form-urlencoded"}
    r = s.post(server.url + "/api/v1/session", data="token=%zz", headers=form,
               allow_redirects=False, timeout=5)
    assert r.status_code == 303 and r.headers["Location"] == "/?login=failed"
    r = s.post(server.url + "/api/v1/session", data=f"x=1&token={encoded}", headers=form,
               allow_redirects=False, timeout=5)
    assert r.status_code == 303 and r.headers["Location"] == "/"
    page = s.get(server.url + "/", timeout=5)
    assert page.status_code == 200
    assert '<main id="golectra">' in page.text and "<h2>Gauges</h2>" in page.text


def test_page_loads_the_dashboard_with_a_strict_policy(server):
    page = requests.get(server.url + "/", timeout=5)
    assert page.status_code == 200
    csp = page.headers["Content-Security-Policy"]
    assert "script-src 'self'" in csp and "frame-ancestors 'none'" in csp
    assert page.headers["X-Frame-Options"] == "DENY"
    srcs = re.findall(r'(?:src|href)="([^"]+)"', page.text)
    assert "/ui/app.js" in srcs and "/ui/uPlot.iife.min.js" in srcs
    for src in srcs:
        assert src.startswith("/ui/"), "everything is served locally"
        r = requests.get(server.url + src, timeout=5)
        assert r.status_code == 200, src
        etag = r.headers["ETag"]
        again = requests.get(server.url + src, headers={"If-None-Match": etag}, timeout=5)
        assert again.status_code == 304
    assert requests.get(server.url + "/ui/app.js", timeout=5).headers["Content-Type"].startswith(
        "text/javascript")
    assert requests.get(server.url + "/ui/nothing.js", timeout=5).status_code == 404
    assert requests.get(server.url + "/ui/..%2fward.db", timeout=5).status_code == 404
