"""What-if, not the project's code: the Kopilka API behind an admission limit.

Every Kopilka route is a plain ``def`` run in the thread pool (40 threads), and a request holds
its database connection (pool: 10 + 20 overflow) from the authentication dependency to the
commit, across separate thread-pool calls. Past about 70 concurrent requests per process all
threads wait for a connection while the connections wait for a thread: nothing moves until the
pool's 30 s timeout fails requests with 500. This wrapper lets at most ``BENCH_ADMISSION_LIMIT``
requests (default 20, below both) into the app at once and queues the rest on the event loop,
which holds neither a thread nor a connection, to show what such a limit would change.

``uvicorn bench.limited_app:app``
"""

from __future__ import annotations

import asyncio
import os

from starlette.types import ASGIApp, Receive, Scope, Send

from kopilka_api.main import app as kopilka_app


class AdmissionLimit:
    def __init__(self, app: ASGIApp, limit: int) -> None:
        self.app = app
        self.limit = limit
        self._sem: asyncio.Semaphore | None = None

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        if self._sem is None:
            self._sem = asyncio.Semaphore(self.limit)
        async with self._sem:
            await self.app(scope, receive, send)


app = AdmissionLimit(kopilka_app, int(os.environ.get("BENCH_ADMISSION_LIMIT", "20")))
