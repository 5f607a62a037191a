"""The outbox's statements, built once.

Core where Core says it as well; raw SQL (``text``) for the claim and the lease updates, which use
PostgreSQL's ``FOR UPDATE ... SKIP LOCKED``, ``DISTINCT ON`` and ``UPDATE ... FROM`` together
with interval arithmetic on bind parameters: written as SQL they read as the one statement each
is. ``scoped`` variants add ``n.community_id = ANY(:communities)`` (a sender for some
communities only: tests, sharding)."""

from __future__ import annotations

from functools import lru_cache
from typing import Any

from sqlalchemy import (
    ARRAY,
    BigInteger,
    String,
    Text,
    TextClause,
    bindparam,
    cast,
    func,
    literal,
    select,
    text,
    update,
)
from sqlalchemy.dialects.postgresql import JSONB, insert

from kopilka.db import bound_values
from kopilka.models import Notification, Owner
from kopilka.notifications.status import Status

_TABLE: Any = Notification.__table__
_OWNERS: Any = Owner.__table__
COLUMNS = ("community_id", "owner_pk", "kind", "dedupe_key", "payload", "status")


def _reachable(owner: Any) -> Any:
    return owner.telegram_id.is_not(None) & owner.telegram_blocked_at.is_(None)


# ---------------------------------------------------------------- the writer

ENQUEUE = (
    insert(_TABLE)
    .values(bound_values(_TABLE, COLUMNS))
    .on_conflict_do_nothing(index_elements=["dedupe_key"])
)

# A message to a chat rather than an owner (an admin told how their job ended): the row carries
# its chat and its reader's language.
CHAT_COLUMNS = ("community_id", "chat_id", "language", "kind", "dedupe_key", "payload", "status")
ENQUEUE_CHAT = (
    insert(_TABLE)
    .values(bound_values(_TABLE, CHAT_COLUMNS))
    .on_conflict_do_nothing(index_elements=["dedupe_key"])
)

# Many rows of one kind and community, each with its own dedupe key (the receipts of a bank
# statement's contributions: ``receipt:<contribution id>``): the rows as one JSON document
# (owner_pk, dedupe_key, payload); owners not reachable are left out.
ENQUEUE_KEYED = text(
    """
    INSERT INTO notifications (community_id, owner_pk, kind, dedupe_key, payload, status, attempts)
    SELECT :community_id, r.owner_pk, :kind, r.dedupe_key, r.payload, :status, 0
    FROM jsonb_to_recordset(CAST(:rows AS jsonb)) AS r(owner_pk bigint, dedupe_key text,
                                                       payload jsonb)
    JOIN owners AS o ON o.id = r.owner_pk
    WHERE o.telegram_id IS NOT NULL AND o.telegram_blocked_at IS NULL
    ON CONFLICT (dedupe_key) DO NOTHING
    """
)

# Many rows of one kind and community at once: parallel arrays of owners and payloads (JSON
# text), each owner's dedupe key ``:prefix || owner_pk``; owners no longer reachable are left out.
_rows = (
    func.unnest(bindparam("pks", type_=ARRAY(BigInteger)), bindparam("payloads", type_=ARRAY(Text)))
    .table_valued("pk", "payload")
    .render_derived(name="u")
)
ENQUEUE_MANY = (
    insert(_TABLE)
    .from_select(
        COLUMNS,
        select(
            bindparam("community_id", type_=BigInteger),
            _rows.c.pk,
            bindparam("kind", type_=String),
            bindparam("dedupe_prefix", type_=String).op("||")(cast(_rows.c.pk, String)),
            cast(_rows.c.payload, JSONB),
            literal(Status.PENDING.value, String),
        )
        .select_from(_rows)
        .join(_OWNERS, _OWNERS.c.id == _rows.c.pk)
        .where(_reachable(_OWNERS.c)),
    )
    .on_conflict_do_nothing(index_elements=["dedupe_key"])
    .execution_options(preserve_rowcount=True)  # how many were queued
)

# The same message to every active owner of the community a message can reach (a new purchase
# list): one statement however many owners; the dedupe key is ``:prefix || owner_pk``.
BROADCAST = (
    insert(_TABLE)
    .from_select(
        COLUMNS,
        select(
            _OWNERS.c.community_id,
            _OWNERS.c.id,
            bindparam("kind", type_=String),
            bindparam("dedupe_prefix", type_=String).op("||")(cast(_OWNERS.c.id, String)),
            cast(bindparam("payload", type_=JSONB), JSONB),
            literal(Status.PENDING.value, String),
        ).where(
            _OWNERS.c.community_id == bindparam("community_id", type_=BigInteger),
            _OWNERS.c.is_active.is_(True),
            _reachable(_OWNERS.c),
        ),
    )
    .on_conflict_do_nothing(index_elements=["dedupe_key"])
    .execution_options(preserve_rowcount=True)
)

REACHABLE_OWNERS = select(_OWNERS.c.id).where(
    _OWNERS.c.community_id == bindparam("community_id"), _reachable(_OWNERS.c)
)


def queued(new_id: Any) -> Any:
    """``ENQUEUE`` as a data-modifying CTE, for a statement whose row ``new_id`` names (see
    ``service.Pending``)."""
    payload = cast(bindparam("n_payload", type_=JSONB), JSONB).op("||")(
        func.jsonb_build_object(bindparam("n_id_key", type_=String), new_id)
    )
    rows = select(
        bindparam("n_community_id", type_=BigInteger),
        bindparam("n_owner_pk", type_=BigInteger),
        bindparam("n_kind", type_=String),
        bindparam("n_dedupe_prefix", type_=String).op("||")(cast(new_id, String)),
        payload,
        literal(Status.PENDING.value, String),
    )
    return (
        insert(_TABLE)
        .from_select(COLUMNS, rows)
        .on_conflict_do_nothing(index_elements=["dedupe_key"])
        .cte("notified")
    )


# ---------------------------------------------------------------- the lifecycle

_SCOPE = " AND n.community_id = ANY(:communities)"


@lru_cache(maxsize=2)
def skip_unreachable(scoped: bool) -> TextClause:
    """Due rows whose owner can no longer be reached become SKIPPED, with the reason."""
    return text(
        f"""
        UPDATE notifications n
        SET status = 'SKIPPED',
            error = CASE WHEN o.telegram_id IS NULL
                         THEN 'owner has no linked Telegram chat'
                         ELSE 'owner blocked the bot' END
        FROM owners o
        WHERE o.id = n.owner_pk AND n.status = 'PENDING'
          AND n.next_attempt_at <= now()
          AND (o.telegram_id IS NULL OR o.telegram_blocked_at IS NOT NULL){_SCOPE if scoped else ""}
        """
    )


# A row's chat: its owner's, or, for a row that addresses a chat (no owner), its own ``chat_id``;
# it can be reached when the owner linked a chat and did not block the bot (a chat's row always:
# a blocked chat answers so, and the row is skipped then).
_CHAT = "CASE WHEN n.owner_pk IS NULL THEN n.chat_id ELSE o.telegram_id END"
_REACHABLE = "(n.owner_pk IS NULL OR (o.telegram_id IS NOT NULL AND o.telegram_blocked_at IS NULL))"


@lru_cache(maxsize=2)
def claim(scoped: bool) -> TextClause:
    """Lease up to ``:limit`` due rows, only the oldest PENDING row of each chat (in order, one
    at a time per chat), SKIP LOCKED so that senders never wait for each other."""
    scope = _SCOPE if scoped else ""
    return text(
        f"""
        WITH heads AS (
            SELECT DISTINCT ON ({_CHAT}) n.id, n.next_attempt_at
            FROM notifications n LEFT JOIN owners o ON o.id = n.owner_pk
            WHERE n.status = 'PENDING' AND {_REACHABLE}{scope}
            ORDER BY {_CHAT}, n.id
        ), picked AS (
            SELECT n.id, n.owner_pk FROM notifications n
            WHERE n.id IN (
                SELECT id FROM heads WHERE next_attempt_at <= now()
                ORDER BY id LIMIT :limit
            )
              AND n.status = 'PENDING' AND n.next_attempt_at <= now()
            FOR UPDATE OF n SKIP LOCKED
        )
        UPDATE notifications n
        SET next_attempt_at = now() + :lease * interval '1 second',
            attempts = n.attempts + 1,
            chat_id = {_CHAT}
        FROM picked CROSS JOIN communities c LEFT JOIN owners o ON o.id = picked.owner_pk
        WHERE n.id = picked.id AND c.id = n.community_id AND {_REACHABLE}
        RETURNING n.id, n.kind, n.payload, n.attempts, {_CHAT},
                  COALESCE(n.language, o.language, c.language),
                  c.name, n.error
        """
    )


@lru_cache(maxsize=2)
def due_count(scoped: bool) -> TextClause:
    return text(
        "SELECT count(*) FROM notifications n WHERE n.status = 'PENDING' "
        "AND n.next_attempt_at <= now() + :horizon * interval '1 second'"
        f"{_SCOPE if scoped else ''}"
    )


# Every update of a leased row is fenced on its attempt number (the lease's token) and PENDING.
MARK_IN_FLIGHT = text(
    """
    UPDATE notifications
    SET error = :marker, next_attempt_at = now() + :lease * interval '1 second'
    WHERE id = :id AND attempts = :attempt AND status = 'PENDING'
    """
)

# Not fenced: whoever sent the message records it.
SENT = text(
    """
    UPDATE notifications
    SET status = 'SENT', sent_at = now(), chat_id = :chat,
        telegram_message_id = :mid, error = NULL
    WHERE id = :id AND status <> 'SENT'
    """
)

RELEASE = text(
    """
    UPDATE notifications
    SET next_attempt_at = now() + :delay * interval '1 second',
        attempts = attempts - 1,
        error = CAST(:error AS text)
    WHERE id = :id AND attempts = :attempt AND status = 'PENDING'
    """
)

RETRY = text(
    """
    UPDATE notifications
    SET status = CASE WHEN :final THEN 'FAILED' ELSE 'PENDING' END,
        next_attempt_at = now() + :delay * interval '1 second',
        error = :error
    WHERE id = :id AND attempts = :attempt AND status = 'PENDING'
    """
)

# (Core's bind parameters may not share a name with a column they SET: row_id, reason.)
_leased = update(_TABLE).where(
    _TABLE.c.id == bindparam("row_id"),
    _TABLE.c.attempts == bindparam("attempt"),
    _TABLE.c.status == Status.PENDING.value,
)
FAIL = _leased.values(status=Status.FAILED.value, error=bindparam("reason"))
SKIP = _leased.values(status=Status.SKIPPED.value, error=bindparam("reason"))

# The user blocked the bot: every owner with that chat becomes unreachable (``RETURNING`` feeds
# the audit rows), and all their PENDING rows are skipped.
BLOCK_OWNERS = (
    update(_OWNERS)
    .where(_OWNERS.c.telegram_id == bindparam("chat"), _OWNERS.c.telegram_blocked_at.is_(None))
    .values(telegram_blocked_at=func.now(), version=_OWNERS.c.version + 1)
    .returning(_OWNERS.c.community_id, _OWNERS.c.owner_id, _OWNERS.c.telegram_blocked_at)
)
SKIP_CHAT = text(
    """
    UPDATE notifications n SET status = 'SKIPPED', error = :error
    WHERE n.status = 'PENDING'
      AND (n.owner_pk IN (SELECT id FROM owners WHERE telegram_id = :chat)
           OR (n.owner_pk IS NULL AND n.chat_id = :chat))
    """
)
SKIP_ROW = (
    update(_TABLE)
    .where(_TABLE.c.id == bindparam("row_id"), _TABLE.c.status == Status.PENDING.value)
    .values(status=Status.SKIPPED.value, error=bindparam("reason"))
)

# The dry run: what would be sent, oldest first, after the last row it saw.
WAITING = text(
    f"""
    SELECT n.id, n.kind, n.payload, {_CHAT}, COALESCE(n.language, o.language, c.language), c.name
    FROM notifications n
    LEFT JOIN owners o ON o.id = n.owner_pk
    JOIN communities c ON c.id = n.community_id
    WHERE n.status = 'PENDING' AND n.id > :after
    ORDER BY n.id LIMIT :limit
    """
)
