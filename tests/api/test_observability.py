"""Health, readiness, metrics, request ids, OpenAPI and docs (SPEC §6, DESIGN observability)."""

from __future__ import annotations

import re

from tests.api._support import PAYMENTS, audit


def test_health_and_ready(client):
    r = client.get("/health")
    assert r.status_code == 200 and r.json() == {"status": "ok"}
    r = client.get("/ready")
    assert r.status_code == 200, r.text
    assert r.json() == {"status": "ready", "checks": {"database": "ok", "redis": "ok"}}


def test_metrics_count_requests_by_route(client, admin, period):
    client.get(f"{PAYMENTS}/periods/{period['id']}", headers=admin)
    r = client.get("/metrics")
    assert r.status_code == 200
    assert r.headers["content-type"].startswith("text/plain")
    lines = [
        line
        for line in r.text.splitlines()
        if line.startswith("kopilka_http_requests_total{")
        and 'route="/api/payments/periods/{period_id}"' in line
        and 'method="GET"' in line
        and 'status="200"' in line
    ]
    assert lines and float(lines[0].rsplit(" ", 1)[1]) >= 1
    assert "kopilka_http_request_seconds_bucket" in r.text


def test_every_answer_carries_a_request_id(client, admin):
    generated = client.get("/health").headers["X-Request-ID"]
    assert re.fullmatch(r"[0-9a-f]{32}", generated)
    assert client.get("/health").headers["X-Request-ID"] != generated
    r = client.get(f"{PAYMENTS}/periods", headers={**admin, "X-Request-ID": "trace-abc.123"})
    assert r.headers["X-Request-ID"] == "trace-abc.123"
    assert client.get(f"{PAYMENTS}/periods").headers["X-Request-ID"]  # on a 401 too
    assert client.get("/nowhere").headers["X-Request-ID"]  # and on a 404
    # an unusable id is replaced, not echoed
    r = client.get("/health", headers={"X-Request-ID": "x" * 500})
    assert re.fullmatch(r"[0-9a-f]{32}", r.headers["X-Request-ID"])


def test_the_audit_log_records_the_request_id(client, community, admin, period):
    r = client.post(
        f"{PAYMENTS}/periods/{period['id']}/contributions",
        json={"owner_id": 1, "amount": "1"},
        headers={**admin, "X-Request-ID": "req-contribution-1"},
    )
    assert r.status_code == 201
    (entry,) = audit(community["id"], "contribution.create")
    assert entry.request_id == "req-contribution-1"
    (owner,) = audit(community["id"], "owner.auto_create")
    assert owner.request_id == "req-contribution-1"


def test_openapi_and_docs(client):
    r = client.get("/openapi.json")
    assert r.status_code == 200
    spec = r.json()
    paths = spec["paths"]
    for path, method in [
        ("/api/payments/periods", "post"),
        ("/api/payments/periods", "get"),
        ("/api/payments/periods/{period_id}", "patch"),
        ("/api/payments/periods/{period_id}/contributions", "post"),
        ("/api/payments/contributions/{doc_id}", "patch"),
        ("/api/payments/contributions/{doc_id}", "delete"),
        ("/api/payments/periods/{period_id}/expenses", "get"),
        ("/api/payments/expenses/{doc_id}", "delete"),
        ("/api/payments/periods/{period_id}/charges", "post"),
        ("/api/payments/periods/{period_id}/meter-readings", "post"),
        ("/api/payments/periods/{period_id}/budget-items", "post"),
        ("/api/payments/periods/{period_id}/balance-sheet", "get"),
        ("/api/payments/periods/{period_id}/balances/{owner_id}", "get"),
        ("/api/payments/periods/{period_id}/owner-balance/{owner_id}", "get"),
        ("/api/payments/periods/{period_id}/settlements", "post"),
        ("/api/payments/periods/{period_id}/settlements/suggested", "get"),
        ("/api/payments/owners", "post"),
        ("/api/payments/owners/{owner_id}", "patch"),
        ("/api/communities", "post"),
        ("/api/communities/{community_id}/api-keys", "post"),
        ("/api/communities/{community_id}/api-keys/{key_id}", "delete"),
    ]:
        assert method in paths.get(path, {}), (method, path)
    assert "/metrics" not in paths
    schemas = spec["components"]["schemas"]
    assert schemas["ContributionOut"]["properties"]["amount"]["type"] == "string"

    r = client.get("/docs")
    assert r.status_code == 200
    assert "text/html" in r.headers["content-type"]
    assert "/openapi.json" in r.text
