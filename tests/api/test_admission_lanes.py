"""Item 1 of issue 13: ``Prefer: wait`` bypassed the admission limit. No header skips
admission; a burst of requests with unknown credentials queues behind itself, not in front of
an admin; authentication comes before any wait; a wait for a job holds no thread and no
database connection; an exhausted pool is 503 (tests/api/test_hardening_input.py)."""

from __future__ import annotations

import asyncio
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import httpx
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import PlainTextResponse
from starlette.routing import Route

from kopilka_api import middleware
from kopilka_api.middleware import Admission
from tests.api._support import PAYMENTS, make_period, sql
from tests.conftest import new_community


class _Req:
    def __init__(self, headers: dict[str, str]) -> None:
        self.scope = {"headers": [(k.lower().encode(), v.encode()) for k, v in headers.items()]}


def test_unknown_credentials_queue_behind_themselves_not_in_front_of_an_admin() -> None:
    admin_key = {"X-API-Key": "kpk_admin_that_authenticated_before"}
    middleware.remember_credential(_Req(admin_key), None)

    async def scenario() -> None:
        gate = asyncio.Event()

        async def slow(request: Request) -> PlainTextResponse:
            await gate.wait()
            return PlainTextResponse("done")

        app = Admission(
            Starlette(routes=[Route("/slow", slow)]), limit=1, timeout=0.3, unverified_limit=1
        )
        async with httpx.AsyncClient(
            transport=httpx.ASGITransport(app=app), base_url="http://t"
        ) as client:
            garbage = {"X-API-Key": "garbage-1", "Prefer": "wait=1"}
            first = asyncio.create_task(client.get("/slow", headers=garbage))
            await asyncio.sleep(0.05)
            # another unknown credential, asking to wait: it queues, and times out, like any
            busy = await client.get("/slow", headers={**garbage, "X-API-Key": "garbage-2"})
            assert busy.status_code == 503, busy.text
            anonymous = await client.get("/slow", headers={"Prefer": "wait=60"})
            assert anonymous.status_code == 503, anonymous.text
            # the admin's key has a lane of its own: served while the burst holds its lane
            mine = asyncio.create_task(client.get("/slow", headers=admin_key))
            await asyncio.sleep(0.4)  # longer than the queue timeout
            assert not mine.done()  # admitted (not 503), working
            gate.set()
            assert (await mine).text == "done"
            assert (await first).text == "done"

    asyncio.run(scenario())


@contextmanager
def _serve(app: Any) -> Iterator[str]:
    import socket

    import uvicorn

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    server = uvicorn.Server(
        uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning", access_log=False)
    )
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 30
    while not server.started:
        assert thread.is_alive() and time.monotonic() < deadline, "server did not start"
        time.sleep(0.05)
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(10)


def test_a_job_wait_holds_no_thread_and_no_slot(database: str) -> None:
    """The server has ONE worker thread and ONE admission slot: an admin waits 3 s for a job
    that does not end, and meanwhile another request of theirs is answered."""
    import anyio.to_thread
    from starlette.middleware import Middleware

    from kopilka_api.app import create_app

    app = create_app()
    app.user_middleware = [
        Middleware(Admission, limit=1, timeout=5) if m.cls is Admission else m
        for m in app.user_middleware
    ]

    async def one_thread(scope: Any, receive: Any, send: Any) -> None:
        anyio.to_thread.current_default_thread_limiter().total_tokens = 1
        await app(scope, receive, send)

    with _serve(one_thread) as url, httpx.Client(base_url=url, timeout=30) as client:
        community = new_community(client)
        admin = community["headers"]
        make_period(client, admin)
        job_id = sql(
            "INSERT INTO jobs (community_id, kind, status, payload, actor, attempts, "
            "max_attempts) VALUES (:c, 'test_never_ends', 'PENDING', '{}', 'test', 0, 1) "
            "RETURNING id",
            c=community["id"],
        )[0][0]
        done: dict[str, Any] = {}

        def wait() -> None:
            done["wait"] = client.get(f"/api/jobs/{job_id}", headers={**admin, "Prefer": "wait=3"})
            done["wait_at"] = time.monotonic()

        waiter = threading.Thread(target=wait)
        waiter.start()
        time.sleep(0.5)  # the waiter is authenticated and waiting
        r = client.get(f"{PAYMENTS}/periods", headers=admin)
        answered_at = time.monotonic()
        assert r.status_code == 200, r.text
        waiter.join(30)
        assert done["wait"].status_code == 200
        assert done["wait"].json()["status"] == "PENDING"
        assert answered_at < done["wait_at"], "the read waited for the job wait to end"
        sql("DELETE FROM jobs WHERE id = :j", j=job_id)


def test_a_job_wait_is_authenticated_first(client: Any) -> None:
    r = client.get("/api/jobs/1", headers={"X-API-Key": "garbage", "Prefer": "wait=30"})
    assert r.status_code == 401
