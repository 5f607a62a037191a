"""One exception hierarchy for Kopilka: every domain error carries its HTTP status.

The API turns these into ``application/problem+json``; the worker records ``detail`` on a
failed job. Anything else that escapes is a bug (500).
"""

from __future__ import annotations

from typing import Any


class KopilkaError(Exception):
    status: int = 500
    title: str = "Internal error"

    def __init__(self, detail: str, **extra: Any) -> None:
        super().__init__(detail)
        self.detail = detail
        self.extra = extra


class ValidationFailed(KopilkaError):
    """Invalid input (400): nothing is stored."""

    status = 400
    title = "Invalid input"


class Unauthenticated(KopilkaError):
    status = 401
    title = "Unauthenticated"


class Forbidden(KopilkaError):
    status = 403
    title = "Forbidden"


class NotFound(KopilkaError):
    """Unknown, or not yours (404): never tells which."""

    status = 404
    title = "Not found"


class Conflict(KopilkaError):
    """The state does not allow it (409): closed period, duplicate name, overlap..."""

    status = 409
    title = "Conflict"


class PreconditionFailed(KopilkaError):
    status = 412
    title = "Precondition failed"


class PayloadTooLarge(KopilkaError):
    status = 413
    title = "Payload too large"


class IdempotencyMismatch(KopilkaError):
    """The same Idempotency-Key was sent with another body (422)."""

    status = 422
    title = "Idempotency key reused with another request"


class TooManyRequests(KopilkaError):
    status = 429
    title = "Too many requests"
