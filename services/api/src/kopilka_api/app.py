"""The Kopilka API: records money synchronously, queues jobs. ``create_app`` is the factory."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from http import HTTPStatus
from typing import Any

from fastapi import FastAPI, Request, Response
from fastapi.exceptions import RequestValidationError
from fastapi_offline import FastAPIOffline
from sqlalchemy import text
from sqlalchemy.exc import DataError, DBAPIError, IntegrityError, OperationalError
from sqlalchemy.exc import TimeoutError as PoolTimeout
from starlette.exceptions import HTTPException as StarletteHTTPException

from kopilka.config import get_settings
from kopilka.db import get_engine
from kopilka.errors import CONFLICT_CONSTRAINTS, KopilkaError
from kopilka.logging import configure_logging, get_logger
from kopilka.redis_client import get_redis
from kopilka_api import ratelimit
from kopilka_api.challenges import Challenges, allowed_methods
from kopilka_api.http import ExactRoute, problem
from kopilka_api.metrics import CONTENT_TYPE_LATEST, mark_dead, render_metrics
from kopilka_api.middleware import Admission, BodyLimit, Observe
from kopilka_api.problems import PROBLEM_RESPONSES
from kopilka_api.routes import (
    audit,
    balances,
    communities,
    imports,
    jobs,
    ledger,
    miniapp,
    owners,
    period_jobs,
    periods,
    plots,
    purchases,
    recurring,
    shares,
    statements,
    telegram,
)

log = get_logger("kopilka.api")

TAGS = [
    {"name": "periods", "description": "Accounting periods, closing, carry-forward"},
    {"name": "ledger", "description": "Contributions, expenses, charges, readings, budget items"},
    {"name": "balances", "description": "Balance sheets, owner balances, settlements"},
    {"name": "owners", "description": "Owners and their statements"},
    {"name": "jobs", "description": "Asynchronous jobs"},
    {"name": "communities", "description": "Operator: communities; admins: API keys"},
]


def _describe_validation(exc: RequestValidationError) -> str:
    parts = []
    for err in exc.errors()[:10]:
        loc = ".".join(str(p) for p in err.get("loc", ()) if p not in ("body",))
        parts.append(f"{loc or 'body'}: {err.get('msg', 'invalid')}")
    return "; ".join(parts) or "Invalid request"


@asynccontextmanager
async def _lifespan(app: FastAPI) -> AsyncIterator[None]:
    yield
    mark_dead()


def create_app() -> FastAPI:
    settings = get_settings()
    configure_logging(settings.log_level, settings.log_json)
    # /docs and /redoc with Swagger UI and ReDoc served by the app itself (fastapi-offline
    # bundles them), so the docs work without the internet and no CDN sees who reads them
    app = FastAPIOffline(
        title="Kopilka API",
        version="0.1.0",
        description=(
            "The money engine of a shared-property community: contributions, expenses, "
            "exact allocation, periods, balances. Amounts are decimal strings."
        ),
        openapi_tags=TAGS,
        # every operation documents its problem+json errors (and not FastAPI's unused 422)
        responses=PROBLEM_RESPONSES,
        lifespan=_lifespan,
    )
    app.router.route_class = ExactRoute

    @app.exception_handler(KopilkaError)
    async def kopilka_error(request: Request, exc: KopilkaError) -> Response:
        return problem(exc.status, exc.title, exc.detail, **exc.extra)

    @app.exception_handler(RequestValidationError)
    async def invalid(request: Request, exc: RequestValidationError) -> Response:
        return problem(400, "Invalid input", _describe_validation(exc))

    @app.exception_handler(StarletteHTTPException)
    async def http_error(request: Request, exc: StarletteHTTPException) -> Response:
        detail = exc.detail if isinstance(exc.detail, str) else "HTTP error"
        try:
            title = HTTPStatus(exc.status_code).phrase
        except ValueError:
            title = "Error"
        response = problem(exc.status_code, title, detail)
        response.headers.update(exc.headers or {})
        if exc.status_code == 405:
            response.headers["Allow"] = allowed_methods(request)
        return response

    @app.exception_handler(IntegrityError)
    async def integrity(request: Request, exc: IntegrityError) -> Response:
        name = getattr(getattr(exc.orig, "diag", None), "constraint_name", None)
        if name in CONFLICT_CONSTRAINTS:
            log.info("integrity_conflict", constraint=name)
            return problem(409, "Conflict", CONFLICT_CONSTRAINTS[name], constraint=name)
        return _bug(request, exc)

    @app.exception_handler(DataError)
    async def data_error(request: Request, exc: DataError) -> Response:
        # A value the database cannot hold (an id beyond BIGINT, a NUL in a text): invalid input.
        reason = str(exc.orig).strip().splitlines()[0] if str(exc.orig).strip() else "invalid value"
        log.info("data_error", error=reason[:300])
        return problem(400, "Invalid input", f"A value cannot be stored: {reason[:200]}")

    @app.exception_handler(DBAPIError)
    async def db_error(request: Request, exc: DBAPIError) -> Response:
        code = getattr(exc.orig, "sqlstate", None)
        if code in ("40001", "40P01"):
            return problem(409, "Conflict", "A concurrent change won; retry the request")
        if _unavailable(exc, code):
            log.warning("database_unavailable", sqlstate=code, error=str(exc.orig)[:300])
            return _retry_later("The database is not answering; nothing was done, retry later")
        return _bug(request, exc)

    @app.exception_handler(PoolTimeout)
    async def pool_exhausted(request: Request, exc: PoolTimeout) -> Response:
        log.warning("database_pool_exhausted", error=str(exc)[:300])
        return _retry_later("Every database connection is busy; nothing was done, retry later")

    # outermost last: Observe (ids, logs, metrics) -> BodyLimit (413) -> Admission -> routes
    app.add_middleware(
        Admission, limit=settings.max_in_flight, timeout=settings.queue_timeout_seconds
    )
    app.add_middleware(
        BodyLimit,
        max_bytes=settings.max_body_bytes,
        larger={"/api/payments/imports": settings.max_import_bytes},
    )
    app.add_middleware(Observe)
    app.add_middleware(Challenges)  # 401 -> WWW-Authenticate, whoever answered it
    ratelimit.install(app)  # 429 problem+json with Retry-After

    @app.get("/health", tags=["jobs"], summary="The process is up")
    def health() -> dict[str, str]:
        return {"status": "ok"}

    @app.get("/ready", tags=["jobs"], summary="The database and Redis are reachable")
    def ready() -> Response:
        checks: dict[str, Any] = {}
        try:
            with get_engine().connect() as conn:
                conn.execute(text("SELECT 1"))
            checks["database"] = "ok"
        except Exception as exc:
            checks["database"] = f"unreachable: {type(exc).__name__}"
        try:
            get_redis().ping()
            checks["redis"] = "ok"
        except Exception as exc:
            checks["redis"] = f"unreachable: {type(exc).__name__}"
        ok = all(v == "ok" for v in checks.values())
        if ok:
            return Response(
                content='{"status":"ready","checks":' + _j(checks) + "}",
                media_type="application/json",
            )
        return problem(503, "Not ready", "A dependency is unreachable", checks=checks)

    @app.get("/metrics", include_in_schema=False)
    def metrics() -> Response:
        return Response(render_metrics(), media_type=CONTENT_TYPE_LATEST)

    for module in (
        communities,
        period_jobs,
        periods,
        ledger,
        plots,
        balances,
        owners,
        statements,
        telegram,
        recurring,
        purchases,
        shares,
        imports,
        miniapp,
        jobs,
        audit,
    ):
        # per-actor write budget (POST/PUT/PATCH/DELETE); reads pass through
        app.include_router(module.router, dependencies=[ratelimit.WRITE_LIMIT])
    app.include_router(miniapp.pages)
    return app


# SQLSTATEs that say the database (not our SQL) is unavailable: connection exceptions (class
# 08), shutting down, too many connections, a lock or statement timeout.
_UNAVAILABLE = frozenset({"57P01", "57P02", "57P03", "53300", "55P03", "57014"})
RETRY_AFTER_SECONDS = 5


def _unavailable(exc: DBAPIError, code: str | None) -> bool:
    """Only a lost connection or a database that cannot take the work is 503; a
    ProgrammingError (our SQL) or any other database error is a bug."""
    if exc.connection_invalidated:
        return True
    if code is not None and (code.startswith("08") or code in _UNAVAILABLE):
        return True
    # no SQLSTATE: the driver could not talk to the server at all (refused, reset, timed out)
    return isinstance(exc, OperationalError) and code is None


def _retry_later(detail: str) -> Response:
    response = problem(503, "Service unavailable", detail, retry_after=RETRY_AFTER_SECONDS)
    response.headers["Retry-After"] = str(RETRY_AFTER_SECONDS)
    return response


def _bug(request: Request, exc: Exception) -> Response:
    """A 500 is always a bug: logged with its traceback and the request id, which the answer
    names so that a treasurer's report leads to the log line."""
    request_id = getattr(request.state, "request_id", None)
    log.error("unhandled_database_error", request_id=request_id, exc_info=exc)
    return problem(
        500,
        "Internal error",
        f"An unexpected error happened; it is logged (request id {request_id})",
        request_id=request_id,
    )


def _j(obj: Any) -> str:
    return json.dumps(obj)
