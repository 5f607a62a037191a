"""Notification rows: written in the transaction of the event that causes them.

The dedupe key names the event and the owner, and is unique, so an event never reaches a chat twice
however often the code that records it runs (a retried close, a replayed request)."""

from __future__ import annotations

from typing import Any

from sqlalchemy import bindparam
from sqlalchemy.dialects.postgresql import insert

from kopilka.models import Notification, Owner

RECEIPT = "contribution_receipt"
PERIOD_CLOSED = "period_closed"
OPENING_BALANCE = "opening_balance"
DEBT_REMINDER = "debt_reminder"
LINKED = "linked"


# Core, built once: the receipt of every recorded contribution goes through here.
_ENQUEUE = (
    insert(Notification.__table__)  # type: ignore[arg-type]
    .values(
        {
            c: bindparam(c, type_=Notification.__table__.c[c].type)
            for c in ("community_id", "owner_pk", "kind", "dedupe_key", "payload", "status")
        }
    )
    .on_conflict_do_nothing(index_elements=["dedupe_key"])
)


def reachable(owner: Owner) -> bool:
    return owner.telegram_id is not None and owner.telegram_blocked_at is None


def enqueue(
    session: Any, owner: Owner, kind: str, dedupe_key: str, payload: dict[str, Any]
) -> bool:
    """Queue one message for an owner who linked Telegram; False when not queued."""
    if not reachable(owner):
        return False
    row = {
        "community_id": owner.community_id,
        "owner_pk": owner.id,
        "kind": kind,
        "dedupe_key": dedupe_key,
        "payload": payload,
        "status": "PENDING",
    }
    return bool(session.execute(_ENQUEUE, row).rowcount)
