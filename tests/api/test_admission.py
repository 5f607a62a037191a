"""The admission limit: an API process works on at most KOPILKA_MAX_IN_FLIGHT requests at once;
the rest wait on the event loop, holding neither a thread nor a database connection, and are
answered 503 + Retry-After when they waited too long."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor

import httpx
import pytest
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import PlainTextResponse
from starlette.routing import Route

from kopilka_api.middleware import Admission
from tests.api._support import PAYMENTS, make_period, scalar
from tests.conftest import new_community


def _gated_app(gate: asyncio.Event) -> Admission:
    async def slow(request: Request) -> PlainTextResponse:
        await gate.wait()
        return PlainTextResponse("done")

    async def health(request: Request) -> PlainTextResponse:
        return PlainTextResponse("ok")

    inner = Starlette(routes=[Route("/slow", slow), Route("/health", health)])
    return Admission(inner, limit=1, timeout=0.3)


def test_requests_over_the_limit_wait_then_get_503_with_retry_after() -> None:
    async def scenario() -> None:
        gate = asyncio.Event()
        app = _gated_app(gate)
        async with httpx.AsyncClient(
            transport=httpx.ASGITransport(app=app), base_url="http://t"
        ) as client:
            first = asyncio.create_task(client.get("/slow"))
            await asyncio.sleep(0.05)  # the first request holds the only slot
            busy = await client.get("/slow")
            assert busy.status_code == 503
            assert busy.headers["content-type"].startswith("application/problem+json")
            assert int(busy.headers["Retry-After"]) >= 1
            assert "nothing was done" in busy.json()["detail"]
            # liveness never waits for a slot; no header lets a request skip the queue
            assert (await client.get("/health")).text == "ok"
            waiter = await asyncio.wait_for(client.get("/slow", headers={"Prefer": "wait=5"}), 5)
            assert waiter.status_code == 503, waiter.text
            # a request that arrives while the slot is taken, and gets it in time, is served
            second = asyncio.create_task(client.get("/slow"))
            await asyncio.sleep(0.05)
            gate.set()
            assert (await first).text == "done"
            assert (await second).text == "done"
            assert (await client.get("/slow")).status_code == 200

    asyncio.run(scenario())


@pytest.fixture(scope="module")
def small_pool_server(database: str) -> Iterator[str]:
    """A server whose pool has 2 connections (and 40 threads): without the admission limit, a
    burst of 60 requests stalls it (threads wait for connections whose requests wait for a
    thread) until the pool's timeout fails them with 500."""
    from tests.support.processes import base_env, start_api

    proc, url = start_api(
        base_env(
            KOPILKA_DB_POOL_SIZE="2",
            KOPILKA_DB_MAX_OVERFLOW="0",
            KOPILKA_MAX_IN_FLIGHT="2",
            KOPILKA_QUEUE_TIMEOUT="60",
            KOPILKA_WRITE_RATE_LIMIT="100000/minute",
        )
    )
    try:
        yield url
    finally:
        proc.stop()


def test_a_burst_larger_than_the_pool_is_served_in_full(small_pool_server: str) -> None:
    with httpx.Client(base_url=small_pool_server, timeout=120) as client:
        community = new_community(client)
        h = community["headers"]
        pid = make_period(client, h)["id"]
        url = f"{PAYMENTS}/periods/{pid}/contributions"

        def post(i: int) -> int:
            r = client.post(
                url,
                json={"owner_id": 1 + i % 7, "amount": "1.00", "date": "2025-11-05"},
                headers={**h, "Idempotency-Key": uuid.uuid4().hex},
            )
            return r.status_code

        with ThreadPoolExecutor(max_workers=60) as pool:
            codes = list(pool.map(post, range(60)))
        assert codes == [201] * 60, codes
        assert scalar("SELECT count(*) FROM contributions WHERE period_id = :p", p=pid) == 60
