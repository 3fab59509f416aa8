"""docs/openapi.yaml documents exactly the routes that ward-server serves.

The route table in src/server/api/routes.c is the one place the router
learns its routes from, so it is read here and compared with the OpenAPI
document both ways: every route must be documented, with an example
response, and the document must not describe a route that does not exist.
The document is also checked against the running server: every documented
GET route without path parameters answers with a documented status.
"""

import re
from pathlib import Path

import requests
import yaml

ROOT = Path(__file__).resolve().parents[2]
ROUTE = re.compile(r'\{\s*"([A-Z]+)",\s*"([^"]+)",\s*(ward_api_\w+),\s*([A-Z]+)\s*\}')


def router_routes():
    text = (ROOT / "src/server/api/routes.c").read_text()
    routes = {(m.lower(), p) for m, p, _, _ in ROUTE.findall(text)}
    assert len(routes) > 10, "the route table could not be read"
    return routes


def document():
    return yaml.safe_load((ROOT / "docs/openapi.yaml").read_text())


def documented_routes(doc):
    methods = {"get", "post", "put", "delete", "patch", "head", "options"}
    return {
        (m, path)
        for path, item in doc["paths"].items()
        for m in item
        if m in methods
    }


def test_every_route_is_documented():
    missing = router_routes() - documented_routes(document())
    assert not missing, f"routes missing from docs/openapi.yaml: {sorted(missing)}"


def test_document_has_no_unknown_routes():
    extra = documented_routes(document()) - router_routes()
    assert not extra, f"docs/openapi.yaml describes routes the server lacks: {sorted(extra)}"


def test_document_is_openapi_3_with_examples():
    doc = document()
    assert str(doc["openapi"]).startswith("3.")
    assert doc["info"]["title"] and doc["info"]["version"]
    for path, item in doc["paths"].items():
        for method, op in item.items():
            if method == "parameters":
                continue
            assert op.get("summary"), f"{method} {path}: no summary"
            assert op.get("responses"), f"{method} {path}: no responses"
            has_example = any(
                "example" in media or "examples" in media
                for resp in op["responses"].values()
                for media in resp.get("content", {}).values()
            ) or any(
                "example" in media or "examples" in media
                for media in op.get("requestBody", {}).get("content", {}).values()
            )
            assert has_example, f"{method} {path}: no example"


def test_documented_statuses_match_the_server(server):
    doc = document()
    for path, item in doc["paths"].items():
        op = item.get("get")
        if not op or "{" in path:
            continue
        r = requests.get(server.url + path, timeout=10)
        assert str(r.status_code) in op["responses"], (
            f"GET {path} answered {r.status_code}, documented: {list(op['responses'])}"
        )
