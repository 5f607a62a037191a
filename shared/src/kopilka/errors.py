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


def check_version(what: str, current: int, sent: int | None) -> None:
    """412 unless ``sent`` (the version an ``If-Match`` named, if any) is ``current``."""
    if sent is not None and sent != current:
        raise PreconditionFailed(
            f"{what} has changed (version {current}, you sent {sent}); read it again and retry"
        )


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


# The database constraints whose violation means "the state does not allow it" (a duplicate, or
# a concurrent request that won a race), answered 409 with this text. Any other constraint
# violation (a foreign key, a check, NOT NULL) means our own validation let bad data through:
# a bug, answered 500 and logged. A domain that adds a unique constraint a user can run into
# adds its name here.
CONFLICT_CONSTRAINTS: dict[str, str] = {
    "uq_periods_community_id": "A period with this name already exists in the community",
    "ex_periods_no_overlap": "The period overlaps another period of the community",
    "uq_owners_community_id": "This owner was created by a concurrent request; retry",
    "uq_budget_items_period_type": "The period already has a budget item of this payment type",
    "uq_idempotency_scope_key": "A request with this Idempotency-Key is still in flight; retry",
    "uq_carry_forwards_from_period_id": "The period was carried forward by a concurrent request",
    "uq_jobs_dedupe_active": "The same job was queued by a concurrent request",
}
