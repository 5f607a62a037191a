"""The Telegram Mini App: the page served at ``/app`` and ``GET /api/payments/me``.

The page is built from ``services/api/miniapp/`` (TypeScript + Preact, bundled by esbuild with
``make miniapp``) into ``static/app/app.js`` and ``app.css``; ``static/app.html`` loads them. It is
the owner's and the treasurer's workplace (SPEC §8) and calls the API with
``Authorization: tma <initData>``. Inside Telegram the initData comes from the launch parameters
(read by the bundled @tma.js/sdk: nothing is loaded from Telegram's servers); in a plain browser
from the URL *fragment* (``/app#tma=<initData>``) or a field. Never from the query string: a query
string lands in access logs and proxies' logs, and initData is a credential for as long as it is
fresh; a fragment never leaves the browser.

Two routers: ``pages`` (public, outside the schema: the page and its assets) and ``router``
(``/api/payments/me``, authenticated).
"""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path

from fastapi import Response
from pydantic import BaseModel

from kopilka.context import Ctx, Role
from kopilka.owners.service import acting_owner
from kopilka_api.http import CtxDep, api_router

STATIC = Path(__file__).resolve().parent.parent / "static"

pages = api_router(tags=["miniapp"])
router = api_router(prefix="/api/payments", tags=["owners"])

# The page loads nothing from elsewhere and talks only to this API; the Telegram clients (web
# included) are the only sites allowed to frame it. No inline script or style: the QR code is a
# data: image, downloads are blob: URLs made by the page.
CSP = "; ".join(
    [
        "default-src 'none'",
        "script-src 'self'",
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
    "app.js": ("app/app.js", "text/javascript; charset=utf-8"),
    "app.css": ("app/app.css", "text/css; charset=utf-8"),
}


class MiniAppNotBuilt(RuntimeError):
    """The Mini App is not built: run ``make miniapp`` (``make run`` and ``make test`` do)."""


@lru_cache(maxsize=len(ASSETS))
def _asset(name: str) -> bytes:
    path = STATIC / ASSETS[name][0]
    if not path.exists():
        raise MiniAppNotBuilt(f"{path} is missing: build the Mini App with `make miniapp`")
    return path.read_bytes()


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
    is_admin: bool
    language: str | None  # the community's default language
    owner_language: str | None  # the owner's own language, when they chose one


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
    community = ctx.community if actor.community_id is not None else None
    owner = acting_owner(ctx)
    return MeOut(
        role=Role(actor.role).value,
        community_id=community.id if community else None,
        community_name=community.name if community else None,
        currency=community.currency if community else None,
        owner_id=owner.owner_id if owner else None,
        name=owner.name if owner else None,
        telegram_id=actor.telegram_id,
        is_admin=actor.role == Role.ADMIN,
        language=community.language if community else None,
        owner_language=owner.language if owner else None,
    )
