"""Limits that keep one client from hurting the others: per-actor write rate limits (429 with
Retry-After, failing open when Redis is down), the request body limit (413, also for a body sent
without Content-Length), the page size bound and the ``Prefer: wait`` bound."""

from __future__ import annotations

import time
import uuid
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from fastapi import Depends, FastAPI, Request
from fastapi.routing import APIRoute, iter_route_contexts
from fastapi.testclient import TestClient
from structlog.testing import capture_logs

from kopilka.context import Actor, Ctx, Role
from kopilka.db import session_factory
from kopilka_api import ratelimit
from kopilka_api.http import Caller, CtxDep, ExactRoute, api_router, get_caller
from tests.api._support import PAYMENTS, make_period
from tests.conftest import new_community, unique_id

# ---------------------------------------------------------------- the limiter on its own


def _tiny_app(limiter: ratelimit.WriteRateLimit, actor: dict[str, Actor]) -> FastAPI:
    """The limiter on routes of the API's own kind (``api_router``, ``ctx: Ctx = CtxDep``), the
    caller being whoever ``actor["now"]`` is."""

    class Known(Caller):
        __slots__ = ()

        def authenticate(self) -> Actor:
            return actor["now"]

    async def known(request: Request) -> Caller:
        return Known.for_request(request, session_factory()(), None, None)

    app = FastAPI()
    ratelimit.install(app)
    router = api_router(dependencies=[Depends(limiter)])

    @router.post("/write")
    def write(ctx: Ctx = CtxDep) -> dict[str, str]:
        return {"ok": ctx.actor.label}

    @router.get("/write")
    def read(ctx: Ctx = CtxDep) -> dict[str, str]:
        return {"ok": ctx.actor.label}

    app.include_router(router)
    app.dependency_overrides[get_caller] = known
    return app


def _actor() -> Actor:
    return Actor(Role.ADMIN, f"api_key:{unique_id()}", community_id=1)


def test_each_actor_has_its_own_write_budget() -> None:
    limiter = ratelimit.WriteRateLimit("3/minute", namespace=f"test:{uuid.uuid4().hex}")
    current = {"now": _actor()}
    with TestClient(_tiny_app(limiter, current)) as client:
        assert [client.post("/write").status_code for _ in range(3)] == [200, 200, 200]
        r = client.post("/write")
        assert r.status_code == 429, r.text
        assert r.headers["content-type"].startswith("application/problem+json")
        retry = int(r.headers["Retry-After"])
        assert 1 <= retry <= 60
        assert r.json()["retry_after"] == retry
        assert "3 per 1 minute" in r.json()["detail"]
        # reads are not counted
        assert client.get("/write").status_code == 200
        # another actor has a budget of their own
        current["now"] = _actor()
        assert client.post("/write").status_code == 200


def test_redis_down_fails_open_and_says_so() -> None:
    limiter = ratelimit.WriteRateLimit(
        "1/minute", storage_uri="redis://127.0.0.1:1/0", namespace=f"test:{uuid.uuid4().hex}"
    )
    with TestClient(_tiny_app(limiter, {"now": _actor()})) as client, capture_logs() as logs:
        started = time.monotonic()
        assert [client.post("/write").status_code for _ in range(5)] == [200] * 5
        elapsed = time.monotonic() - started
    warnings = [e for e in logs if e["event"] == "rate_limit_unavailable"]
    # one warning, then Redis is left alone for a while: no timeout on every write
    assert len(warnings) == 1 and warnings[0]["log_level"] == "warning", logs
    assert elapsed < 3


def test_the_limit_setting_accepts_several_limits() -> None:
    limiter = ratelimit.WriteRateLimit("2/second;5/hour")
    assert [str(i) for i in limiter.items] == ["2 per 1 second", "5 per 1 hour"]


# ---------------------------------------------------------------- wired into the app


WRITES = {"POST", "PUT", "PATCH", "DELETE"}


def test_every_write_route_is_rate_limited(app: Any) -> None:
    unlimited = []
    for rc in iter_route_contexts(app.routes):
        if not isinstance(rc.original_route, APIRoute) or not (set(rc.methods or ()) & WRITES):
            continue
        if not any(d.dependency is ratelimit.write_limit for d in rc.dependencies):
            unlimited.append(f"{sorted(rc.methods or ())} {rc.path}")
    assert not unlimited, f"write routes without the per-actor rate limit: {unlimited}"


def test_every_authenticated_route_takes_its_authenticated_ctx(app: Any) -> None:
    """Authentication runs when a route is handed its ``ctx`` (``http.one_trip``, which only
    ``ExactRoute`` applies): a route of the authenticated routers that did not take
    ``ctx: Ctx = CtxDep``, or was not an ``ExactRoute``, would run for anyone."""
    unauthenticated = []
    for rc in iter_route_contexts(app.routes):
        route = rc.original_route
        if not isinstance(route, APIRoute):
            continue
        if not any(d.dependency is ratelimit.write_limit for d in rc.dependencies):
            continue
        takes_ctx = any(
            d.call is get_caller and d.name == "ctx" for d in route.dependant.dependencies
        )
        if not (isinstance(route, ExactRoute) and takes_ctx):
            unauthenticated.append(f"{sorted(rc.methods or ())} {rc.path}")
    assert not unauthenticated, f"routes that never authenticate: {unauthenticated}"


@pytest.fixture(scope="module")
def limited_server(database: str) -> Iterator[str]:
    """A server with small limits, counting in a Redis of its own (so no other test's writes
    spend its budget)."""
    from tests.support.processes import PrivateRedis, base_env, start_api

    redis = PrivateRedis()
    redis.start()
    proc, url = start_api(
        base_env(
            REDIS_URL=redis.url,
            KOPILKA_WRITE_RATE_LIMIT="4/minute",
            KOPILKA_MAX_BODY_BYTES="4000",
            KOPILKA_MAX_PREFER_WAIT="1",
        )
    )
    try:
        yield url
    finally:
        proc.stop()
        redis.stop()


def test_a_live_server_refuses_the_fifth_write_of_a_minute(limited_server: str) -> None:
    with httpx.Client(base_url=limited_server, timeout=30) as client:
        a = new_community(client)  # the operator's write: one of the operator's four
        b = new_community(client)
        h = a["headers"]
        pid = make_period(client, h)["id"]
        url = f"{PAYMENTS}/periods/{pid}/contributions"
        owner = unique_id()
        codes = [
            client.post(url, json={"owner_id": owner, "amount": "1"}, headers=h).status_code
            for _ in range(4)
        ]
        assert codes == [201, 201, 201, 429]
        r = client.post(url, json={"owner_id": owner, "amount": "1"}, headers=h)
        assert r.status_code == 429 and int(r.headers["Retry-After"]) >= 1
        assert r.headers["content-type"].startswith("application/problem+json")
        # the refused writes stored nothing; reads go on; other keys are not affected
        rows = client.get(url, headers=h).json()
        assert len(rows) == 3
        assert make_period(client, b["headers"])["id"]
        # unauthenticated writes are 401, not 429 (no budget to spend)
        assert client.post(url, json={}).status_code == 401
        # Who is calling is said before what is wrong with the request: authentication runs in
        # the route's own trip, and a request refused before the route ran (its body, its path,
        # its If-Match) is authenticated first. Unknown key: 401; over the budget: 429; an
        # in-budget key (b's): the request's own 400 / 412.
        bad = [
            ("post", url, {"json": {"owner_id": "x", "amount": "-1"}}),
            ("post", f"{PAYMENTS}/periods/not-a-number/contributions", {"json": {}}),
            ("patch", f"{PAYMENTS}/contributions/1", {"json": {}, "headers": {"If-Match": "zz"}}),
        ]
        for method, where, kw in bad:
            headers = kw.pop("headers", {})
            wrong = {**headers, "X-API-Key": "kpk_not-a-key"}
            assert client.request(method, where, headers=wrong, **kw).status_code == 401
            assert client.request(method, where, headers={**headers, **h}, **kw).status_code == 429
        hb = b["headers"]
        bad_body = client.post(url, json={"owner_id": "x", "amount": "-1"}, headers=hb)
        assert bad_body.status_code == 400, bad_body.text
        if_match = client.patch(
            f"{PAYMENTS}/contributions/1", json={}, headers={**hb, "If-Match": "zz"}
        )
        assert if_match.status_code == 412, if_match.text


def test_a_live_server_bounds_bodies_pages_and_waits(limited_server: str) -> None:
    with httpx.Client(base_url=limited_server, timeout=30) as client:
        a = new_community(client)
        h = a["headers"]
        pid = make_period(client, h)["id"]
        url = f"{PAYMENTS}/periods/{pid}/contributions"
        big = b'{"owner_id": 1, "amount": "1", "comment": "' + b"x" * 5000 + b'"}'
        r = client.post(url, content=big, headers={**h, "Content-Type": "application/json"})
        assert r.status_code == 413, r.text

        def chunks() -> Iterator[bytes]:  # no Content-Length: the limit counts what arrives
            yield big[:3000]
            yield big[3000:]

        r = client.post(url, content=chunks(), headers={**h, "Content-Type": "application/json"})
        assert r.status_code == 413, r.text
        assert r.headers["content-type"].startswith("application/problem+json")
        assert client.get(url, headers=h).json() == []

        for limit in ("0", "501"):
            assert client.get(url, params={"limit": limit}, headers=h).status_code == 400
        assert client.get(url, params={"limit": "500"}, headers=h).status_code == 200

        job = client.post(f"{PAYMENTS}/periods/{pid}/close", headers=h)
        assert job.status_code in (200, 202), job.text
        started = time.monotonic()
        r = client.get(
            f"/api/jobs/{job.json()['id']}", headers={**h, "Prefer": "wait=600"}, timeout=30
        )
        assert r.status_code == 200, r.text
        assert time.monotonic() - started < 10  # KOPILKA_MAX_PREFER_WAIT=1, not 600


# ---------------------------------------------------------------- per-role limits (SPEC §7)


def _defaults() -> dict[str, str]:
    from kopilka.config import Settings

    fields = Settings.model_fields
    return {
        "admin": str(fields["write_rate_limit_admin"].default),
        "owner": str(fields["write_rate_limit_owner"].default),
        "operator": str(fields["write_rate_limit_operator"].default),
    }


def test_the_per_role_write_limits_default_to_the_spec() -> None:
    assert _defaults() == {
        "admin": "6000/minute",
        "owner": "120/minute",
        "operator": "60/minute",
    }


@pytest.mark.parametrize(
    ("role", "allowed"), [(Role.ADMIN, 6000), (Role.OWNER, 120), (Role.OPERATOR, 60)]
)
def test_each_role_gets_exactly_its_write_limit(role: Role, allowed: int) -> None:
    """At the real limits: an admin's key may write 6,000 times a minute (a treasurer's script
    posting 300 payments is normal work), an owner 120, the operator 60; one more is refused
    with a Retry-After within the minute."""
    limiter = ratelimit.WriteRateLimit(per_role=_defaults(), namespace=f"test:{uuid.uuid4().hex}")
    key = f"{role}:{unique_id()}"
    verdicts = [limiter.check(key, role) for _ in range(allowed)]
    assert all(v.allowed for v in verdicts)
    refused = limiter.check(key, role)
    assert not refused.allowed and 1 <= refused.retry_after <= 60


def test_the_role_of_the_actor_picks_its_limit_over_http() -> None:
    limiter = ratelimit.WriteRateLimit(
        per_role={"admin": "5/minute", "owner": "2/minute", "operator": "1/minute"},
        namespace=f"test:{uuid.uuid4().hex}",
    )
    current = {"now": Actor(Role.OWNER, f"telegram:{unique_id()}", community_id=1)}
    with TestClient(_tiny_app(limiter, current)) as client:
        assert [client.post("/write").status_code for _ in range(3)] == [200, 200, 429]
        current["now"] = _actor()  # an admin's key
        assert [client.post("/write").status_code for _ in range(6)] == [200] * 5 + [429]
        current["now"] = Actor(Role.OPERATOR, "operator")
        assert [client.post("/write").status_code for _ in range(2)] == [200, 429]
