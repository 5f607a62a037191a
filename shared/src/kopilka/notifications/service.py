"""Notification rows: written in the transaction of the event that causes them.

The dedupe key names the event and the owner, and is unique, so an event never reaches a chat twice
however often the code that records it runs (a retried close, a replayed request)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlalchemy import BigInteger, String, bindparam, cast, func, literal, select
from sqlalchemy.dialects.postgresql import JSONB, insert

from kopilka.db import bound_values
from kopilka.models import Notification, Owner

RECEIPT = "contribution_receipt"
PERIOD_CLOSED = "period_closed"
OPENING_BALANCE = "opening_balance"
DEBT_REMINDER = "debt_reminder"
LINKED = "linked"


_COLUMNS = ("community_id", "owner_pk", "kind", "dedupe_key", "payload", "status")
_ENQUEUE = (
    insert(Notification.__table__)  # type: ignore[arg-type]
    .values(bound_values(Notification.__table__, _COLUMNS))
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


@dataclass(frozen=True)
class Pending:
    """A message to queue in the same statement that creates its event's row (see ``queued``):
    ``dedupe_prefix`` + the new row's id is the dedupe key, and the payload gets the id as
    ``id_key``."""

    owner: Owner
    kind: str
    dedupe_prefix: str
    id_key: str
    payload: dict[str, Any]

    def params(self) -> dict[str, Any]:
        return {
            "n_community_id": self.owner.community_id,
            "n_owner_pk": self.owner.id,
            "n_kind": self.kind,
            "n_dedupe_prefix": self.dedupe_prefix,
            "n_id_key": self.id_key,
            "n_payload": self.payload,
        }


def queued(new_id: Any) -> Any:
    """``enqueue`` as a data-modifying CTE, for a statement whose row ``new_id`` names: the
    receipt of a contribution costs no round trip of its own. Parameters: ``Pending.params``."""
    payload = cast(bindparam("n_payload", type_=JSONB), JSONB).op("||")(
        func.jsonb_build_object(bindparam("n_id_key", type_=String), new_id)
    )
    rows = select(
        bindparam("n_community_id", type_=BigInteger),
        bindparam("n_owner_pk", type_=BigInteger),
        bindparam("n_kind", type_=String),
        bindparam("n_dedupe_prefix", type_=String).op("||")(cast(new_id, String)),
        payload,
        literal("PENDING", String),
    )
    return (
        insert(Notification.__table__)  # type: ignore[arg-type]
        .from_select(_COLUMNS, rows)
        .on_conflict_do_nothing(index_elements=["dedupe_key"])
        .cte("notified")
    )
