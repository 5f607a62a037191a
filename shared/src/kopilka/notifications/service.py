"""The outbox's one writer: notification rows are written in the transaction of the event that
causes them, only through the functions here (``enqueue``, ``enqueue_many``, ``enqueue_select``,
``broadcast``, and ``Pending`` for a message queued in the very statement that creates its event's
row; and ``enqueue_chat`` for a message to a chat that is not an owner's, an admin's).

The dedupe key names the event and the owner, and is unique, so an event never reaches a chat twice
however often the code that records it runs (a retried close, a replayed request). What happens to
a row afterwards (claimed, sent, retried, failed, skipped) is ``kopilka.notifications.outbox``."""

from __future__ import annotations

import json
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Select
from sqlalchemy.orm import Session

from kopilka.models import Owner, OwnerFacts
from kopilka.notifications import queries as q
from kopilka.notifications.status import Kind, Status

# The kinds by their old names (``notifications.RECEIPT``): Kind is the list of them.
RECEIPT = Kind.RECEIPT
PERIOD_CLOSED = Kind.PERIOD_CLOSED
OPENING_BALANCE = Kind.OPENING_BALANCE
DEBT_REMINDER = Kind.DEBT_REMINDER
LINKED = Kind.LINKED


def reachable(owner: OwnerFacts) -> bool:
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
        "kind": str(kind),
        "dedupe_key": dedupe_key,
        "payload": payload,
        "status": Status.PENDING.value,
    }
    return bool(session.execute(q.ENQUEUE, row).rowcount)


def enqueue_chat(
    session: Any,
    community_id: int,
    chat_id: int,
    language: str | None,
    kind: str,
    dedupe_key: str,
    payload: dict[str, Any],
) -> bool:
    """Queue one message for a Telegram chat rather than an owner: an admin's private chat (chat
    id = their user id), whether or not they own anything in the community; ``language`` is its
    reader's (None: the community's). False when not queued (the key was used)."""
    row = {
        "community_id": community_id,
        "chat_id": chat_id,
        "language": language,
        "kind": str(kind),
        "dedupe_key": dedupe_key,
        "payload": payload,
        "status": Status.PENDING.value,
    }
    return bool(session.execute(q.ENQUEUE_CHAT, row).rowcount)


def reachable_owners(session: Session, community_id: int) -> set[int]:
    """The owner_pks of the community a message can reach now."""
    return set(session.scalars(q.REACHABLE_OWNERS, {"community_id": community_id}))


def enqueue_many(
    session: Session,
    kind: str,
    dedupe_prefix: str,
    messages: Iterable[tuple[int, dict[str, Any]]],
) -> int:
    """Queue one message per (owner_pk, payload) in one statement, each keyed
    ``dedupe_prefix + owner_pk``; owners not reachable are left out (each row's community is its
    owner's). How many were queued."""
    pks, payloads = [], []
    for owner_pk, payload in messages:
        pks.append(owner_pk)
        payloads.append(json.dumps(payload))
    if not pks:
        return 0
    params = {
        "kind": str(kind),
        "dedupe_prefix": dedupe_prefix,
        "pks": pks,
        "payloads": payloads,
    }
    result: Any = session.execute(q.ENQUEUE_MANY, params)
    return int(result.rowcount or 0)


def enqueue_select(
    session: Session, kind: str, rows: Select[Any], params: dict[str, Any] | None = None
) -> int:
    """Queue one message per row of ``rows`` (a SELECT of ``owner_pk``, ``dedupe_key`` and the
    ``payload`` as jsonb, with its bind ``params``) in one INSERT ... SELECT; owners not
    reachable are left out. How many were queued."""
    result: Any = session.execute(q.enqueue_from(rows), {**(params or {}), "kind": str(kind)})
    return int(result.rowcount or 0)


def broadcast(
    session: Session, community_id: int, kind: str, dedupe_prefix: str, payload: dict[str, Any]
) -> int:
    """Queue the same message to every active owner of the community a message can reach, in
    one statement, keyed ``dedupe_prefix + owner_pk``. How many were queued."""
    params = {
        "community_id": community_id,
        "kind": str(kind),
        "dedupe_prefix": dedupe_prefix,
        "payload": payload,
    }
    result: Any = session.execute(q.BROADCAST, params)
    return int(result.rowcount or 0)


@dataclass(frozen=True)
class Pending:
    """A message to queue in the same statement that creates its event's row (``queued``):
    ``dedupe_prefix`` + the new row's id is the dedupe key, and the payload gets the id as
    ``id_key``."""

    owner: OwnerFacts
    kind: str
    dedupe_prefix: str
    id_key: str
    payload: dict[str, Any]

    def params(self) -> dict[str, Any]:
        return {
            "n_community_id": self.owner.community_id,
            "n_owner_pk": self.owner.id,
            "n_kind": str(self.kind),
            "n_dedupe_prefix": self.dedupe_prefix,
            "n_id_key": self.id_key,
            "n_payload": self.payload,
        }


def queued(new_id: Any) -> Any:
    """``enqueue`` as a data-modifying CTE, for a statement whose row ``new_id`` names: the
    receipt of a contribution costs no round trip of its own. Parameters: ``Pending.params``."""
    return q.queued(new_id)
