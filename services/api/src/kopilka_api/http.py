"""HTTP plumbing shared by the routes: exact JSON, problem+json, sessions, actors, idempotent
writes, pagination."""

from __future__ import annotations

import functools
import hashlib
import json
import uuid
from collections.abc import Callable
from decimal import Decimal
from inspect import iscoroutinefunction
from typing import Any
from urllib.parse import quote, urlencode

from fastapi import APIRouter, Depends, Header, Query, Request, Response, Security
from fastapi.encoders import jsonable_encoder
from fastapi.responses import JSONResponse
from fastapi.routing import APIRoute
from fastapi.security import APIKeyHeader
from pydantic import BaseModel
from sqlalchemy.orm import Session
from starlette.concurrency import run_in_threadpool

from kopilka import idempotency
from kopilka.auth.service import authenticate
from kopilka.config import get_settings
from kopilka.context import Actor, Ctx
from kopilka.db import session_factory
from kopilka.errors import (
    Conflict,
    IdempotencyMismatch,
    PreconditionFailed,
    ValidationFailed,
)

PROBLEM = "application/problem+json"


def _no_duplicate_keys(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    obj = dict(pairs)
    if len(obj) != len(pairs):
        seen: set[str] = set()
        dup = next(k for k, _ in pairs if k in seen or seen.add(k))  # type: ignore[func-returns-value]
        raise ValidationFailed(f"The JSON body has the key {dup!r} more than once")
    return obj


def _exact_number(text: str) -> Decimal:
    # JSON numbers follow the amount grammar too (SPEC §2): no exponent. (A sign is refused
    # where an amount is read; an integer never reaches here.)
    if "e" in text or "E" in text:
        raise ValidationFailed(
            f"The JSON number {text} has an exponent; write it out in digits (or as a string)"
        )
    return Decimal(text)


def loads_exact(body: bytes | str) -> Any:
    """Parse a request body: numbers exact (Decimal, never float), no exponents, no duplicated
    keys (``{"amount": "1.00", "amount": "2.00"}`` is a 400, not the last one silently)."""
    return json.loads(body, parse_float=_exact_number, object_pairs_hook=_no_duplicate_keys)


class ExactJSONRequest(Request):
    """JSON numbers become Decimal, never float: 500.10 stays exactly 500.10."""

    async def json(self) -> Any:
        if not hasattr(self, "_json"):
            body = await self.body()
            self._json = loads_exact(body)
        return self._json

    async def check_json(self) -> None:
        """Parse a JSON body before FastAPI does, so that what the strict parser refuses is a
        clear 400 (FastAPI would answer any parser exception "error parsing the body")."""
        content_type = self.headers.get("content-type", "")
        if "json" not in content_type.lower():
            return
        if not await self.body():
            return
        try:
            await self.json()
        except ValueError:
            return  # not JSON at all: FastAPI answers its own 400


def one_trip(endpoint: Callable[..., Any]) -> Callable[..., Any]:
    """Run a plain ``def`` route, its caller's authentication and its commit in ONE trip to the
    thread pool.

    FastAPI runs a sync route in the pool, then (separately) validates its answer against the
    response model in the pool again, and a sync dependency (authentication, a database read)
    or our session dependency's commit would be further trips. Every trip is a thread switch
    each way, about as costly as a database round trip. Wrapped, the route is a coroutine to
    FastAPI: authentication (``Caller``), the route and the commit of its ``ctx`` session run in
    one pool call, the answer's validation on the event loop (CPU either way). An ``async``
    route gets its caller authenticated in a pool call of its own before it runs."""
    if iscoroutinefunction(endpoint):

        @functools.wraps(endpoint)
        async def run_async(*args: Any, **kwargs: Any) -> Any:
            if isinstance(kwargs.get("ctx"), Caller):  # no pool trip for a route without one
                await run_in_threadpool(_authenticated, kwargs)
            return await endpoint(*args, **kwargs)

        return run_async

    @functools.wraps(endpoint)
    async def run(*args: Any, **kwargs: Any) -> Any:
        return await run_in_threadpool(_run_and_commit, endpoint, args, kwargs)

    return run


def _authenticated(kwargs: dict[str, Any]) -> None:
    """A route's ``ctx`` argument, a ``Caller`` until now, becomes the authenticated ``Ctx``."""
    caller = kwargs.get("ctx")
    if isinstance(caller, Caller):
        kwargs["ctx"] = caller.ctx()


def _run_and_commit(endpoint: Callable[..., Any], args: Any, kwargs: dict[str, Any]) -> Any:
    _authenticated(kwargs)
    result = endpoint(*args, **kwargs)
    ctx = kwargs.get("ctx")
    if isinstance(ctx, Ctx) and ctx.session.in_transaction():
        ctx.session.commit()
    return result


class ExactRoute(APIRoute):
    def __init__(self, path: str, endpoint: Callable[..., Any], **kwargs: Any) -> None:
        super().__init__(path, one_trip(endpoint), **kwargs)

    def get_route_handler(self) -> Callable[..., Any]:
        handler = super().get_route_handler()

        async def exact(request: Request) -> Response:
            exact_request = ExactJSONRequest(request.scope, request.receive)
            await exact_request.check_json()
            ok = False
            try:
                response = await handler(exact_request)
                ok = True
                return response
            except Exception:
                # Refused before the route ran (a body, parameter or header FastAPI or a
                # dependency turned down): who is calling is said first, as it would have been
                # had authentication run before them (401, then the write budget's 429).
                caller = getattr(exact_request.state, "caller", None)
                if isinstance(caller, Caller) and not caller.done:
                    await run_in_threadpool(caller.ctx)
                raise
            finally:
                # The caller holds the request, whose state held the caller: a reference cycle
                # that only the garbage collector's full passes would free, with the request's
                # session and loaded rows (and pauses of tens of ms). Broken here, and the
                # request's session ends (committed if the route succeeded and left it open).
                caller = exact_request.scope.get("state", {}).pop("caller", None)
                if isinstance(caller, Caller):
                    await end_session(caller.session, ok)

        return exact


def api_router(**kwargs: Any) -> APIRouter:
    """Every router of the API parses JSON numbers exactly."""
    return APIRouter(route_class=ExactRoute, **kwargs)


def problem(status: int, title: str, detail: str, **extra: Any) -> JSONResponse:
    body = {"type": "about:blank", "title": title, "status": status, "detail": detail, **extra}
    return JSONResponse(jsonable_encoder(body), status_code=status, media_type=PROBLEM)


# ---------------------------------------------------------------- sessions and actors
#
# Routes are plain ``def`` functions run in the thread pool, and every sync dependency is one more
# trip to the pool (a thread switch each way). So only what talks to the database is sync
# (authentication, the route itself); the rest is ``async`` and runs on the event loop.


def _finish(session: Session, ok: bool) -> None:
    try:
        if ok:
            session.commit()
        else:
            session.rollback()
    finally:
        session.close()


async def end_session(session: Session, ok: bool) -> None:
    """The end of a request's session (``ExactRoute``), before the answer: committed when the
    route succeeded, rolled back when not. The commit or rollback goes to the thread pool only
    when a transaction is still open (a sync route's own thread commits, see ``one_trip``)."""
    if session.in_transaction():
        await run_in_threadpool(_finish, session, ok)
    else:
        session.close()


# Checks that run in the caller's authentication (in the route's thread-pool trip), right after
# it succeeds: a check may refuse the request by raising. (Admission remembers the credential.)
AFTER_AUTHENTICATION: list[Callable[[Request, Actor], None]] = []


# The two ways in, as OpenAPI security schemes (the "Authorize" button of /docs). Reading a
# header this way costs no per-request validation, unlike a Header() parameter.
API_KEY = APIKeyHeader(
    name="X-API-Key",
    scheme_name="ApiKey",
    description="An admin API key of a community, or the operator key",
    auto_error=False,
)
TELEGRAM = APIKeyHeader(
    name="Authorization",
    scheme_name="TelegramInitData",
    description="`tma <initData>` from the Telegram Mini App (an owner or an admin); with "
    "several communities, name one with the `X-Community-Id` header",
    auto_error=False,
)


class Caller:
    """Who is calling, not yet authenticated: the credentials the request carries and its
    session. Authentication reads the database, so it runs in a worker thread; it runs in the
    route's own trip to the thread pool (``one_trip``) rather than in one of its own. ``ctx()``
    authenticates once, runs ``AFTER_AUTHENTICATION`` and the request's own ``checks`` (the
    write budget), and gives the route's ``Ctx``."""

    __slots__ = (
        "_ctx",
        "api_key",
        "authorization",
        "checks",
        "done",
        "request",
        "session",
    )

    def __init__(
        self, request: Request, session: Session, api_key: str | None, authorization: str | None
    ) -> None:
        self.request = request
        self.session = session
        self.api_key = api_key
        self.authorization = authorization
        self.checks: list[Callable[[Request, Actor], None]] = []
        self.done = False
        self._ctx: Ctx | None = None

    @classmethod
    def for_request(
        cls, request: Request, session: Session, api_key: str | None, authorization: str | None
    ) -> Caller:
        """The request's caller, kept in its state for the route handler's refusals before the
        route ran (``ExactRoute``, which drops it when the request ends)."""
        caller = cls(request, session, api_key, authorization)
        request.state.caller = caller
        return caller

    def authenticate(self) -> Actor:
        return authenticate(
            self.session,
            get_settings(),
            api_key=self.api_key,
            authorization=self.authorization,
            community_header=self.request.headers.get("X-Community-Id"),
        )

    def ctx(self) -> Ctx:
        if self._ctx is None:
            # Set first: a refusal raised here is the request's answer, and the route handler
            # must not authenticate (and count the write) a second time. (The error is not kept:
            # its traceback would hold this object in a reference cycle.)
            self.done = True
            actor = self.authenticate()
            self.request.state.actor = actor
            for check in (*AFTER_AUTHENTICATION, *self.checks):
                check(self.request, actor)
            request_id = getattr(self.request.state, "request_id", None)
            self._ctx = Ctx(session=self.session, actor=actor, request_id=request_id)
        return self._ctx


async def get_caller(
    request: Request,
    x_api_key: str | None = Security(API_KEY),
    authorization: str | None = Security(TELEGRAM),
) -> Caller:
    """The request's ``Caller`` (one per request: FastAPI caches it) with the request's session
    (one transaction; creating it does no I/O: it connects on first use). A route takes it as
    ``ctx: Ctx = CtxDep`` and is handed the authenticated ``Ctx`` (``one_trip``); the route
    handler ends the session (``end_session``)."""
    return Caller.for_request(request, session_factory()(), x_api_key, authorization)


CtxDep = Depends(get_caller)


async def if_match(value: str | None = Header(default=None, alias="If-Match")) -> int | None:
    """``If-Match: "3"`` (the ETag we send) or a bare version number."""
    if value is None:
        return None
    text = value.strip().removeprefix("W/").strip('"')
    try:
        return int(text)
    except ValueError:
        raise PreconditionFailed(f"If-Match: {value!r} is not a version we issued") from None


IfMatchDep = Depends(if_match)


# ---------------------------------------------------------------- pagination


class Page:
    def __init__(self, limit: int, after: int | None) -> None:
        self.limit = limit
        self.after = after


async def _page(
    limit: int = Query(default=100, ge=1, le=500, description="page size (at most 500)"),
    after: int | None = Query(default=None, description="cursor: the last id of the previous page"),
) -> Page:
    return Page(limit, after)


PageDep = Depends(_page)


def next_link(request: Request, **params: Any) -> str:
    """The next page as a relative reference (path and query): never built from the request's
    ``Host`` header, which a client chooses (``Host: evil.example`` must not become a link)."""
    query = dict(request.query_params)
    query.update({k: str(v) for k, v in params.items()})
    return f"{quote(request.scope['path'])}?{urlencode(query)}"


def paged(
    request: Request, response: Response, items: list[Any], page: Page, key: Callable[[Any], int]
) -> list[Any]:
    """Trim the one-extra row the query fetched and set ``Link: <...>; rel="next"``."""
    if len(items) > page.limit:
        items = items[: page.limit]
        nxt = next_link(request, after=key(items[-1]), limit=page.limit)
        response.headers["Link"] = f'<{nxt}>; rel="next"'
    return items


# ---------------------------------------------------------------- idempotent writes


async def raw_body(request: Request) -> bytes:
    return await request.body()


RawBodyDep = Depends(raw_body)


def _request_hash(request: Request, body: bytes, actor: str) -> str:
    try:
        # the body FastAPI already parsed (ExactJSONRequest keeps it), or parse it here
        parsed = getattr(request, "_json", None)
        if parsed is None:
            parsed = json.loads(body, parse_float=Decimal)
        canonical = json.dumps(parsed, sort_keys=True, default=str)
    except ValueError:
        canonical = body.decode("utf-8", "replace")
    # The caller is part of the request: another actor reusing a key is never handed the
    # first one's answer (that would show one owner's contribution to another, unchecked).
    text = f"{actor}\n{request.method} {request.url.path}\n{canonical}"
    return hashlib.sha256(text.encode()).hexdigest()


IN_FLIGHT = "A request with this Idempotency-Key is still in flight; retry later"


def write(
    request: Request,
    ctx: Ctx,
    body: bytes,
    produce: Callable[[], BaseModel | dict[str, Any]],
    *,
    status_code: int = 201,
    location: Callable[[Any], str] | None = None,
    secret: str | None = None,
) -> JSONResponse:
    """Run a money POST once per ``Idempotency-Key``: the same key and body replay the first
    answer; another body is 422; a request with the key still in flight is 409. Keys are scoped
    to the community. The record is stored in the same transaction as the write.

    ``secret`` names a field of the answer that is shown once (an API key): it is never stored
    in the idempotency record, so a replay of such a request is 409 instead of the answer."""
    key = request.headers.get("Idempotency-Key")
    scope = ctx.actor.community_id or 0
    digest = None
    if key is not None:
        key = key.strip()
        if not key or len(key) > 255:
            raise ValidationFailed("Idempotency-Key must be 1 to 255 characters")
        # The key's lock and its record in one round trip. The record is read in the statement's
        # snapshot, taken just before the lock: a first request that commits in between is not
        # seen, and its record then stops this one at the store below (409, as in flight).
        prior = idempotency.claim(ctx.session, scope, key)
        if not prior.got:
            raise Conflict(IN_FLIGHT)
        digest = _request_hash(request, body, ctx.actor.label)
        if prior.request_hash is not None:
            if prior.request_hash != digest:
                raise IdempotencyMismatch(
                    "This Idempotency-Key was used with another request body; use a new key"
                )
            replay = dict(prior.response_headers or {})
            if secret is not None:
                where = f" ({replay['Location']})" if "Location" in replay else ""
                raise Conflict(
                    f"This request already succeeded{where}; the {secret} it issued was shown "
                    "once and is not kept, so the answer cannot be replayed"
                )
            replay["Idempotent-Replayed"] = "true"
            return JSONResponse(
                prior.response_body, status_code=prior.response_status, headers=replay
            )
    result = produce()
    # pydantic's own JSON-mode dump: what jsonable_encoder gives, without its recursive walk
    payload = (
        result.model_dump(mode="json")
        if isinstance(result, BaseModel)
        else (jsonable_encoder(result))
    )
    headers: dict[str, str] = {}
    if location is not None:
        headers["Location"] = location(payload)
    if key is not None and digest is not None:
        stored = payload
        if secret is not None and isinstance(payload, dict) and secret in payload:
            stored = {**payload, secret: None}
        if not idempotency.store(
            ctx.session, ctx.actor.community_id, key, digest, status_code, stored, headers
        ):
            raise Conflict(IN_FLIGHT)  # rolled back: the first request's answer stands
    return JSONResponse(payload, status_code=status_code, headers=headers)


def etag(response: Response, version: int) -> None:
    response.headers["ETag"] = f'"{version}"'


def new_request_id() -> str:
    return uuid.uuid4().hex
