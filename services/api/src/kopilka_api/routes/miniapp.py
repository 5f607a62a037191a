"""The Telegram Mini App: a small page served at ``/app`` and ``GET /api/payments/me``.

The page (``static/app.html`` with ``app.js`` and ``app.css``, no build step) shows the owner's
balance in the current period, their payments and statement, and records a contribution. It
calls the API with ``Authorization: tma <initData>``. Inside Telegram the initData comes from
Telegram's own ``telegram-web-app.js`` (loaded only there); in a plain browser it is read from
the URL *fragment* (``/app#tma=<initData>``) or pasted in a field. Never from the query string:
a query string lands in access logs and proxies' logs, and initData is a credential for as long
as it is fresh; a fragment never leaves the browser.

Two routers: ``pages`` (public, outside the schema: the page and its assets) and ``router``
(``/api/payments/me``, authenticated).
"""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path

from fastapi import Response
from pydantic import BaseModel

from kopilka.context import Ctx, Role
from kopilka.models import Community, Owner
from kopilka_api.http import CtxDep, api_router

STATIC = Path(__file__).resolve().parent.parent / "static"

pages = api_router(tags=["miniapp"])
router = api_router(prefix="/api/payments", tags=["owners"])

# The page talks only to this API; Telegram's script is its only outside resource, and the
# Telegram clients (web included) are the only sites allowed to frame it.
CSP = "; ".join(
    [
        "default-src 'none'",
        "script-src 'self' https://telegram.org",
        "style-src 'self'",
        "img-src 'self' data:",
        "connect-src 'self'",
        "base-uri 'none'",
        "form-action 'none'",
        "frame-ancestors 'self' https://web.telegram.org https://*.telegram.org",
    ]
)

ASSETS: dict[str, tuple[str, str]] = {
    "app.html": ("app.html", "text/html; charset=utf-8"),
    "app.js": ("app.js", "text/javascript; charset=utf-8"),
    "app.css": ("app.css", "text/css; charset=utf-8"),
}


@lru_cache(maxsize=len(ASSETS))
def _asset(name: str) -> bytes:
    return (STATIC / ASSETS[name][0]).read_bytes()


def _serve(name: str) -> Response:
    return Response(
        content=_asset(name),
        media_type=ASSETS[name][1],
        headers={
            "Content-Security-Policy": CSP,
            "Referrer-Policy": "no-referrer",
            "X-Content-Type-Options": "nosniff",
            "Cache-Control": "no-cache",
        },
    )


@pages.get("/app", include_in_schema=False)
def mini_app_page() -> Response:
    return _serve("app.html")


@pages.get("/app/app.js", include_in_schema=False)
def mini_app_script() -> Response:
    return _serve("app.js")


@pages.get("/app/app.css", include_in_schema=False)
def mini_app_styles() -> Response:
    return _serve("app.css")


class MeOut(BaseModel):
    """Who the caller is: the Mini App's starting point."""

    role: str
    community_id: int | None
    community_name: str | None
    currency: str | None
    owner_id: int | None
    name: str | None
    telegram_id: int | None


@router.get(
    "/me",
    response_model=MeOut,
    summary="Who am I: role, community and (for an owner) owner_id",
    description=(
        "Any authenticated caller. An owner (or a Telegram admin who is also an owner) gets "
        "their `owner_id` and name; an API key has none; the operator has no community."
    ),
)
def me(ctx: Ctx = CtxDep) -> MeOut:
    actor = ctx.actor
    community: Community | None = None
    if actor.community_id is not None:
        community = ctx.community
    owner = ctx.session.get(Owner, actor.owner_pk) if actor.owner_pk is not None else None
    return MeOut(
        role=Role(actor.role).value,
        community_id=community.id if community else None,
        community_name=community.name if community else None,
        currency=community.currency if community else None,
        owner_id=owner.owner_id if owner else None,
        name=owner.name if owner else None,
        telegram_id=actor.telegram_id,
    )
