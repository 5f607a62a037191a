"""Per-actor rate limits on writes (POST, PUT, PATCH, DELETE).

Every authenticated actor (an API key, a Telegram user, the operator) has its own budget of
writes, by role (SPEC §7): an admin 6,000 a minute (``KOPILKA_WRITE_RATE_LIMIT_ADMIN``), an owner
120 (``..._OWNER``), the operator 60 (``..._OPERATOR``); ``KOPILKA_WRITE_RATE_LIMIT``, when set,
is one limit for every role. Several limits may be given, separated by ";", e.g.
"30/second;600/hour". The budget is counted in Redis with a moving
window, so the limit holds across every API process and has no burst at a window's edge. An
actor over the budget gets ``429`` problem+json with a ``Retry-After`` header (whole seconds).
Reads are not limited here: they are cheap, paginated (``limit`` <= 500) and change nothing.

Redis down means *fail open*: the write goes through and a warning is logged. The limit protects
the service from a runaway client; it is not part of any money rule. PostgreSQL is the source of
truth and every write there is authenticated, audited and idempotent on its own, so refusing to
record a payment because the rate-limit counter is unreachable would turn a cache outage into an
outage of the books (the treasurer could not record the money the owners just handed over),
which is the worse failure. After a Redis error the limiter skips Redis for a short pause
(``RETRY_REDIS_AFTER``) so that an outage adds no connect timeout to every write.

Wiring (in ``app.py``): ``install(app)`` registers the 429 handler, and every router of
authenticated routes is included with ``dependencies=[WRITE_LIMIT]``. The dependency adds the
budget's check to the request's ``Caller`` (FastAPI gives every dependency the same one), so the
write is counted right after authentication, in the route's own thread-pool trip: authentication
runs once and 401 comes before 429, which comes before any other refusal.
"""

from __future__ import annotations

import math
import threading
import time
from dataclasses import dataclass
from typing import Any

from fastapi import Depends, FastAPI, Request, Response
from limits import RateLimitItem, parse_many
from limits.storage import RedisStorage
from limits.strategies import MovingWindowRateLimiter

from kopilka.config import get_settings
from kopilka.context import Actor, Role
from kopilka.errors import TooManyRequests
from kopilka.logging import get_logger
from kopilka_api.http import Caller, get_caller, problem

log = get_logger("kopilka.api.ratelimit")

WRITE_METHODS = frozenset({"POST", "PUT", "PATCH", "DELETE"})
NAMESPACE = "kopilka:writes"
# How long to leave Redis alone after it failed, in seconds.
RETRY_REDIS_AFTER = 5.0
REDIS_TIMEOUT = 0.5


class RateLimited(TooManyRequests):
    """Over the write budget: 429 with ``Retry-After``."""

    def __init__(self, detail: str, retry_after: int) -> None:
        super().__init__(detail, retry_after=retry_after)
        self.retry_after = retry_after


@dataclass(frozen=True)
class Verdict:
    allowed: bool
    retry_after: int = 0
    limit: str = ""


class WriteRateLimit:
    """A FastAPI dependency: count this request's write against its actor's budget.

    ``limit`` and ``storage_uri`` default to the settings (``KOPILKA_WRITE_RATE_LIMIT``,
    ``REDIS_URL``), read on first use; tests pass their own.
    """

    def __init__(
        self,
        limit: str | None = None,
        storage_uri: str | None = None,
        namespace: str = NAMESPACE,
        per_role: dict[str, str] | None = None,
    ) -> None:
        self._limit_text = limit
        self._per_role_text = per_role
        self._storage_uri = storage_uri
        self.namespace = namespace
        self._lock = threading.Lock()
        self._items: dict[str, list[RateLimitItem]] = {}
        self._limiter: MovingWindowRateLimiter | None = None
        self._redis_down_until = 0.0

    def limit_text(self, role: str) -> str:
        """The limit of a role: ``limit`` when given (one for all), else ``per_role``, else the
        settings."""
        if self._limit_text is not None:
            return self._limit_text
        if self._per_role_text is not None:
            return self._per_role_text[_role_key(role)]
        return _settings_limit(role)

    def items_for(self, role: str = Role.ADMIN) -> list[RateLimitItem]:
        key = _role_key(role)
        if key not in self._items:
            text = self.limit_text(key)
            items = parse_many(text)
            if not items:
                raise ValueError(f"write rate limit {text!r} of role {key} names no limit")
            self._items[key] = items
        return self._items[key]

    @property
    def items(self) -> list[RateLimitItem]:
        return self.items_for(Role.ADMIN)

    def _get_limiter(self) -> MovingWindowRateLimiter:
        with self._lock:
            if self._limiter is None:
                uri = self._storage_uri or get_settings().redis_url
                storage = RedisStorage(
                    uri,
                    wrap_exceptions=True,
                    socket_timeout=REDIS_TIMEOUT,
                    socket_connect_timeout=REDIS_TIMEOUT,
                )
                self._limiter = MovingWindowRateLimiter(storage)
            return self._limiter

    def check(self, key: str, role: str = Role.ADMIN) -> Verdict:
        """Count one write of ``key`` (an actor of ``role``); whether it is allowed. Fails open
        when Redis is down."""
        items = self.items_for(role)
        now = time.monotonic()
        if now < self._redis_down_until:
            return Verdict(True)
        try:
            limiter = self._get_limiter()
            for item in items:
                if not limiter.hit(item, self.namespace, key):
                    stats = limiter.get_window_stats(item, self.namespace, key)
                    wait = max(1, math.ceil(stats.reset_time - time.time()))
                    return Verdict(False, wait, str(item))
        except Exception as exc:  # Redis unreachable, timed out, or answering errors
            self._redis_down_until = now + RETRY_REDIS_AFTER
            log.warning(
                "rate_limit_unavailable",
                error=f"{type(exc).__name__}: {str(exc)[:200]}",
                action="write allowed (fail open)",
            )
            return Verdict(True)
        return Verdict(True)

    def enforce(self, request: Request, actor: Actor) -> None:
        """Count a write of ``actor`` and refuse it (429) over the budget. Runs in the caller's
        authentication, in the route's own thread-pool trip: the Redis call costs no trip of
        its own, and comes after authentication (401 before 429)."""
        verdict = self.check(actor.label, actor.role)
        if not verdict.allowed:
            raise RateLimited(
                f"Too many writes from this client (limit {verdict.limit}); "
                f"retry in {verdict.retry_after} s",
                retry_after=verdict.retry_after,
            )

    async def __call__(self, request: Request, caller: Caller = Depends(get_caller)) -> None:
        if request.method in WRITE_METHODS:
            caller.checks.append(self.enforce)


def _role_key(role: str) -> str:
    """The limit a role counts against: the system acts as an admin."""
    return "admin" if role in (Role.ADMIN, Role.SYSTEM) else str(role)


def _settings_limit(role: str) -> str:
    settings = get_settings()
    if settings.write_rate_limit:
        return settings.write_rate_limit
    return {
        "admin": settings.write_rate_limit_admin,
        "owner": settings.write_rate_limit_owner,
        "operator": settings.write_rate_limit_operator,
    }[_role_key(role)]


write_limit = WriteRateLimit()
WRITE_LIMIT: Any = Depends(write_limit)


async def _rate_limited(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, RateLimited)
    response = problem(exc.status, exc.title, exc.detail, retry_after=exc.retry_after)
    response.headers["Retry-After"] = str(exc.retry_after)
    return response


def install(app: FastAPI) -> None:
    """Register the 429 handler (``Retry-After`` header); call once in ``create_app``."""
    app.add_exception_handler(RateLimited, _rate_limited)
