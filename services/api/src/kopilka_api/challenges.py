"""Answers that say what to do next. Every 405 lists every method the path has (``Allow``,
RFC 9110 §15.5.6: Starlette names only the methods of the first route that matched the path).
Every 401 says how to authenticate (RFC 9110 §11.6.1): ``WWW-Authenticate`` with the two
schemes the API accepts, an API key in ``X-API-Key`` and Telegram Mini App initData in
``Authorization: tma <initData>``. A plain ASGI middleware, so a 401 from any layer (a route, a
dependency, the rate limiter) carries it."""

from __future__ import annotations

from starlette.requests import Request
from starlette.routing import Match
from starlette.types import ASGIApp, Message, Receive, Scope, Send

CHALLENGE = b'ApiKey realm="kopilka", header="X-API-Key", tma realm="kopilka"'


METHODS = ("GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS")


def allowed_methods(request: Request) -> str:
    """The methods some route of the app answers on the request's path, e.g. ``GET, HEAD, POST``
    (asked of the routes themselves, included routers too)."""
    routes = request.app.router.routes
    allowed = [
        method
        for method in METHODS
        if any(r.matches({**request.scope, "method": method})[0] == Match.FULL for r in routes)
    ]
    return ", ".join(allowed)


class Challenges:
    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return

        async def send_challenge(message: Message) -> None:
            if message["type"] == "http.response.start" and message["status"] == 401:
                headers = list(message.get("headers") or [])
                if not any(k.lower() == b"www-authenticate" for k, _ in headers):
                    headers.append((b"www-authenticate", CHALLENGE))
                    message = {**message, "headers": headers}
            await send(message)

        await self.app(scope, receive, send_challenge)
