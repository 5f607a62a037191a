"""ASGI middleware of the API: request ids, logs and metrics; the body size limit; the admission
limit.

They are plain ASGI callables rather than ``@app.middleware("http")`` (Starlette's
BaseHTTPMiddleware), which runs every request through extra tasks and memory streams: about a
millisecond of CPU per request, on the path of every money POST."""

from __future__ import annotations

import asyncio
import gc
import hashlib
import re
import time
import weakref
from typing import Any

import structlog
from prometheus_client import Counter, Histogram
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from kopilka.errors import PayloadTooLarge
from kopilka.logging import get_logger
from kopilka_api.http import AFTER_AUTHENTICATION, new_request_id, problem

log = get_logger("kopilka.api")

REQUESTS = Counter("kopilka_http_requests_total", "HTTP requests", ["method", "route", "status"])
LATENCY = Histogram(
    "kopilka_http_request_seconds",
    "HTTP request latency",
    ["method", "route"],
    buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10),
)
BUSY = Counter("kopilka_http_busy_total", "Requests answered 503 because the API was busy")

REQUEST_ID = re.compile(r"[A-Za-z0-9._:@/+=-]{1,128}")


def _header(scope: Scope, name: bytes) -> str:
    for key, value in scope.get("headers") or ():
        if key == name:
            return str(value.decode("latin-1"))
    return ""


class Observe:
    """Give every request an id (``X-Request-ID``: the client's when it is a plain token), log one
    JSON line per request, count it in Prometheus, and answer an unhandled error with a 500
    problem+json (logged with its traceback) instead of a bare text page."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        given = _header(scope, b"x-request-id")
        rid = given if REQUEST_ID.fullmatch(given) else new_request_id()
        state: dict[str, Any] = scope.setdefault("state", {})
        state["request_id"] = rid
        structlog.contextvars.clear_contextvars()
        structlog.contextvars.bind_contextvars(request_id=rid)
        start = time.perf_counter()
        status = 500
        started = False

        async def send_with_id(message: Message) -> None:
            nonlocal status, started
            if message["type"] == "http.response.start":
                started = True
                status = message["status"]
                headers = list(message.get("headers") or [])
                headers.append((b"x-request-id", rid.encode()))
                message = {**message, "headers": headers}
            await send(message)

        try:
            await self.app(scope, receive, send_with_id)
        except Exception:
            log.exception("unhandled", path=scope.get("path"), method=scope.get("method"))
            if started:
                raise
            response = problem(
                500,
                "Internal error",
                f"An unexpected error happened; it is logged (request id {rid})",
                request_id=rid,
            )
            await response(scope, receive, send_with_id)
        finally:
            elapsed = time.perf_counter() - start
            route = getattr(scope.get("route"), "path", "unmatched")
            method = scope.get("method", "")
            REQUESTS.labels(method, route, str(status)).inc()
            LATENCY.labels(method, route).observe(elapsed)
            actor = state.get("actor")
            log.info(
                "request",
                method=method,
                path=scope.get("path"),
                status=status,
                ms=round(elapsed * 1000, 2),
                actor=getattr(actor, "label", None),
            )


class FreezeWhenWarm:
    """Move what the first requests built to last out of the garbage collector's full passes.

    The process starts with its imports frozen (``gc.freeze()`` in ``main``), but its first
    requests build long-lived objects too: SQLAlchemy's compiled statements, psycopg's prepared
    ones, the connection pool, pydantic's and our own caches. A full collection walks all of
    them while every request in flight waits: about one pass every few thousand requests, of
    ~50 ms in an API process under load (measured with ``gc.callbacks``); with them frozen the
    same pass took under 1 ms. They are frozen after ``AT`` requests. Objects frozen are still
    freed by reference counting; a reference cycle that happened to be pending garbage at that
    instant would stay (a request builds none: ``tests/api/test_no_reference_cycles.py``)."""

    AT = (1_000, 10_000)

    def __init__(self, app: ASGIApp) -> None:
        self.app = app
        self.requests = 0

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http":
            self.requests += 1
            if self.requests in self.AT:
                gc.freeze()
        await self.app(scope, receive, send)


class BodyLimit:
    """Refuse request bodies over the limit (413) before the app reads them."""

    def __init__(self, app: ASGIApp, max_bytes: int, larger: dict[str, int] | None = None) -> None:
        self.app = app
        self.default_max = max_bytes
        self.larger = larger or {}  # path -> its own limit (a bank statement upload)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        max_bytes = self.larger.get(scope.get("path", ""), self.default_max)
        length = _header(scope, b"content-length")
        if length.isdigit() and int(length) > max_bytes:
            await self._refuse(scope, receive, send)
            return
        seen = 0
        too_large = False
        started = False

        async def limited() -> Any:
            # Over the limit the app is told the client went away (an exception raised here
            # would be turned into FastAPI's 400 "error parsing the body"); whatever it answers
            # then is dropped below and 413 is sent instead.
            nonlocal seen, too_large
            if too_large:
                return {"type": "http.disconnect"}
            message = await receive()
            if message["type"] == "http.request":
                seen += len(message.get("body", b""))
                if seen > max_bytes:
                    too_large = True
                    return {"type": "http.disconnect"}
            return message

        async def guarded(message: Any) -> None:
            nonlocal started
            if too_large and not started:
                return
            started = True
            await send(message)

        try:
            await self.app(scope, limited, guarded)
        except Exception:
            if not too_large or started:
                raise
        if too_large and not started:
            await self._refuse(scope, receive, send)

    async def _refuse(self, scope: Scope, receive: Receive, send: Send) -> None:
        limit = self.larger.get(scope.get("path", ""), self.default_max)
        err = PayloadTooLarge(f"Request body over {limit} bytes")
        await problem(err.status, err.title, err.detail)(scope, receive, send)


# Credentials that authenticated recently in this process (a fingerprint of the X-API-Key or
# Authorization header -> until when, monotonic): only a scheduling hint for ``Admission``;
# every request is still authenticated by the route. Filled right after authentication.
KNOWN_CREDENTIALS: dict[bytes, float] = {}
KNOWN_FOR_SECONDS = 300.0
KNOWN_MAX = 10_000


def _fingerprint(scope: Scope) -> bytes | None:
    credential = _header(scope, b"x-api-key") or _header(scope, b"authorization")
    if not credential:
        return None
    return hashlib.blake2b(credential.encode("latin-1"), digest_size=16).digest()


def remember_credential(request: Any, actor: Any) -> None:
    """After a successful authentication: this credential's next requests take the admitted
    lane (registered in ``AFTER_AUTHENTICATION``)."""
    fingerprint = _fingerprint(request.scope)
    if fingerprint is None:
        return
    if len(KNOWN_CREDENTIALS) >= KNOWN_MAX:
        now = time.monotonic()
        for key in [k for k, until in KNOWN_CREDENTIALS.items() if until < now]:
            del KNOWN_CREDENTIALS[key]
        if len(KNOWN_CREDENTIALS) >= KNOWN_MAX:
            KNOWN_CREDENTIALS.clear()
    KNOWN_CREDENTIALS[fingerprint] = time.monotonic() + KNOWN_FOR_SECONDS


AFTER_AUTHENTICATION.append(remember_credential)


def release_admission(request: Any) -> None:
    """Give the request's admission slot back before it waits on purpose (``Prefer: wait``
    for a job): the wait holds no thread and no connection, and must not keep a slot from the
    requests that need the CPU. Idempotent."""
    release = request.scope.get("state", {}).get("admission_release")
    if release is not None:
        release()


class Admission:
    """At most ``limit`` requests of this process are worked on at once; the others wait here,
    on the event loop, holding neither a worker thread nor a database connection.

    Without it, a burst of more concurrent requests than there are connections in the pool
    stalls the process: every thread waits for a connection while every connection's request
    waits for a thread to run its next step, until the pool's 30-s timeout fails them all (seen
    in the recording benchmark: 100 clients gave 1.8 requests/s and 40 % 500s). A request that
    waited ``timeout`` seconds is answered 503 with ``Retry-After`` (nothing was done). Only
    liveness and metrics (``exempt``) never wait; no header skips admission.

    Two lanes: a request whose credential authenticated recently in this process
    (``KNOWN_CREDENTIALS``) queues for the ``limit`` slots; any other request (no credential,
    an unknown or a garbage one) queues for ``unverified_limit`` slots of its own. So a burst of
    anonymous requests queues behind itself and cannot push an admin's requests back (SPEC §7:
    not slower than 2x). The route still authenticates every request.

    A request that waits for a job on purpose (``Prefer: wait=N``) is authenticated and admitted
    first; then it gives its slot back (``release_admission``) and sleeps on the event loop.

    The API is CPU-bound and Python runs one thread at a time, so a few requests per process at
    once is enough to overlap the database's waits; more only share the CPU ever more finely and
    every answer comes later (at 300 contributions/s on 2 cores, p99 ~20-100 ms with 2-4 in
    flight per process against ~100-300 ms with 16; bench/FINDINGS.md)."""

    def __init__(
        self,
        app: ASGIApp,
        limit: int,
        timeout: float,
        exempt: frozenset[str] = frozenset({"/health", "/metrics"}),
        unverified_limit: int | None = None,
    ) -> None:
        self.app = app
        self.limit = limit
        self.unverified_limit = unverified_limit or max(1, limit // 2)
        self.timeout = timeout
        self.exempt = exempt
        # one semaphore per lane per event loop (tests run the same app on several loops)
        self._gates: weakref.WeakKeyDictionary[
            asyncio.AbstractEventLoop, tuple[asyncio.Semaphore, asyncio.Semaphore]
        ] = weakref.WeakKeyDictionary()

    def _gate(self, known: bool) -> asyncio.Semaphore:
        loop = asyncio.get_running_loop()
        gates = self._gates.get(loop)
        if gates is None:
            gates = self._gates[loop] = (
                asyncio.Semaphore(self.limit),
                asyncio.Semaphore(self.unverified_limit),
            )
        return gates[0] if known else gates[1]

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope.get("path") in self.exempt:
            await self.app(scope, receive, send)
            return
        fingerprint = _fingerprint(scope)
        known = (
            fingerprint is not None and KNOWN_CREDENTIALS.get(fingerprint, 0.0) > time.monotonic()
        )
        gate = self._gate(known)
        try:
            await asyncio.wait_for(gate.acquire(), self.timeout)
        except TimeoutError:
            BUSY.inc()
            retry = max(1, round(self.timeout / 2))
            response = problem(
                503,
                "Service busy",
                f"The server is busy; nothing was done, retry in {retry} s",
                retry_after=retry,
            )
            response.headers["Retry-After"] = str(retry)
            await response(scope, receive, send)
            return
        held = True

        def release() -> None:
            nonlocal held
            if held:
                held = False
                gate.release()

        scope.setdefault("state", {})["admission_release"] = release
        try:
            await self.app(scope, receive, send)
        finally:
            release()
