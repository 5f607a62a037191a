"""The outbox's statements, built once.

Core, except the claim: one statement that picks the oldest PENDING row of each chat (``DISTINCT
ON``), locks it ``FOR UPDATE OF n SKIP LOCKED`` in a CTE and leases it with ``UPDATE ... FROM
... RETURNING`` — raw SQL, where Core would hide the one statement it is. ``scoped`` variants add
``community_id = ANY(:communities)`` (a sender for some communities only: tests, sharding).
Bind parameters never share a name with a column of the table they update (Core would take them
for SET values): ``row_id``, ``reason``."""

from __future__ import annotations

from functools import lru_cache
from typing import Any

from sqlalchemy import (
    ARRAY,
    BigInteger,
    Boolean,
    Float,
    Select,
    String,
    Text,
    TextClause,
    bindparam,
    case,
    cast,
    func,
    literal,
    or_,
    select,
    text,
    update,
)
from sqlalchemy.dialects.postgresql import JSONB, insert

from kopilka.db import bound_values
from kopilka.models import Community, Notification, Owner
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


@lru_cache(maxsize=8)
def enqueue_from(rows: Select[Any]) -> Any:
    """``ENQUEUE`` for every row of ``rows`` (a SELECT of ``owner_pk``, ``dedupe_key`` and
    ``payload`` jsonb) in one INSERT ... SELECT: the messages of thousands of events whose words
    are in the database already (a bank statement's receipts) never travel through Python.
    Owners not reachable are left out. Built once per source statement."""
    src = rows.subquery("r")
    return (
        insert(_TABLE)
        .from_select(
            COLUMNS,
            select(
                _OWNERS.c.community_id,
                src.c.owner_pk,
                bindparam("kind", type_=String),
                src.c.dedupe_key,
                src.c.payload,
                literal(Status.PENDING.value, String),
            )
            .select_from(src)
            .join(_OWNERS, _OWNERS.c.id == src.c.owner_pk)
            .where(_reachable(_OWNERS.c)),
        )
        .on_conflict_do_nothing(index_elements=["dedupe_key"])
        .execution_options(preserve_rowcount=True)  # how many were queued
    )


# Many rows of one kind and community at once: parallel arrays of owners and payloads (JSON
# text), each owner's dedupe key ``:prefix || owner_pk``; owners no longer reachable are left out.
_rows = (
    func.unnest(bindparam("pks", type_=ARRAY(BigInteger)), bindparam("payloads", type_=ARRAY(Text)))
    .table_valued("pk", "payload")
    .render_derived(name="u")
)
ENQUEUE_MANY = enqueue_from(
    select(
        _rows.c.pk.label("owner_pk"),
        bindparam("dedupe_prefix", type_=String)
        .op("||")(cast(_rows.c.pk, String))
        .label("dedupe_key"),
        cast(_rows.c.payload, JSONB).label("payload"),
    )
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


_n, _o = _TABLE.c, _OWNERS.c
_PENDING = Status.PENDING.value


def _in_scope(stmt: Any, scoped: bool) -> Any:
    if not scoped:
        return stmt
    return stmt.where(
        _n.community_id == func.any(bindparam("communities", type_=ARRAY(BigInteger)))
    )


def _seconds_from_now(name: str) -> Any:
    """now() + the bind parameter ``name`` in seconds."""
    return func.now() + func.make_interval(0, 0, 0, 0, 0, 0, cast(bindparam(name), Float))


@lru_cache(maxsize=2)
def skip_unreachable(scoped: bool) -> Any:
    """Due rows whose owner can no longer be reached become SKIPPED, with the reason."""
    return _in_scope(
        update(_TABLE)
        .where(
            _o.id == _n.owner_pk,
            _n.status == _PENDING,
            _n.next_attempt_at <= func.now(),
            or_(_o.telegram_id.is_(None), _o.telegram_blocked_at.is_not(None)),
        )
        .values(
            status=Status.SKIPPED.value,
            error=case(
                (_o.telegram_id.is_(None), "owner has no linked Telegram chat"),
                else_="owner blocked the bot",
            ),
        ),
        scoped,
    )


# A row's chat: its owner's, or, for a row that addresses a chat (no owner), its own ``chat_id``;
# it can be reached when the owner linked a chat and did not block the bot (a chat's row always:
# a blocked chat answers so, and the row is skipped then).
_CHAT = "CASE WHEN n.owner_pk IS NULL THEN n.chat_id ELSE o.telegram_id END"
_REACHABLE = "(n.owner_pk IS NULL OR (o.telegram_id IS NOT NULL AND o.telegram_blocked_at IS NULL))"


# Raw SQL: DISTINCT ON per chat, FOR UPDATE OF n SKIP LOCKED in a CTE and UPDATE ... FROM ...
# RETURNING, one statement (a claim is one round trip however many senders compete).
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
                  c.name, n.error, n.owner_pk
        """
    )


@lru_cache(maxsize=2)
def due_count(scoped: bool) -> Any:
    return _in_scope(
        select(func.count())
        .select_from(_TABLE)
        .where(_n.status == _PENDING, _n.next_attempt_at <= _seconds_from_now("horizon")),
        scoped,
    )


# Every update of a leased row is fenced on its attempt number (the lease's token) and PENDING.
_leased = update(_TABLE).where(
    _n.id == bindparam("row_id"),
    _n.attempts == bindparam("attempt"),
    _n.status == _PENDING,
)
MARK_IN_FLIGHT = _leased.values(
    error=bindparam("marker"), next_attempt_at=_seconds_from_now("lease")
)
RELEASE = _leased.values(
    next_attempt_at=_seconds_from_now("delay"),
    attempts=_n.attempts - 1,
    error=bindparam("reason", type_=String),
)
RETRY = _leased.values(
    status=case((bindparam("final", type_=Boolean), Status.FAILED.value), else_=_PENDING),
    next_attempt_at=_seconds_from_now("delay"),
    error=bindparam("reason"),
)
FAIL = _leased.values(status=Status.FAILED.value, error=bindparam("reason"))
SKIP = _leased.values(status=Status.SKIPPED.value, error=bindparam("reason"))

# Not fenced: whoever sent the message records it.
SENT = (
    update(_TABLE)
    .where(_n.id == bindparam("row_id"), _n.status != Status.SENT.value)
    .values(
        status=Status.SENT.value,
        sent_at=func.now(),
        chat_id=bindparam("chat"),
        telegram_message_id=bindparam("mid"),
        error=None,
    )
)

# The user blocked the bot: every owner with that chat becomes unreachable (``RETURNING`` feeds
# the audit rows), and all their PENDING rows are skipped.
BLOCK_OWNERS = (
    update(_OWNERS)
    .where(_OWNERS.c.telegram_id == bindparam("chat"), _OWNERS.c.telegram_blocked_at.is_(None))
    .values(telegram_blocked_at=func.now(), version=_OWNERS.c.version + 1)
    .returning(_OWNERS.c.community_id, _OWNERS.c.owner_id, _OWNERS.c.telegram_blocked_at)
)
SKIP_CHAT = (
    update(_TABLE)
    .where(
        _n.status == _PENDING,
        or_(
            _n.owner_pk.in_(select(_o.id).where(_o.telegram_id == bindparam("chat"))),
            _n.owner_pk.is_(None) & (_n.chat_id == bindparam("chat")),
        ),
    )
    .values(status=Status.SKIPPED.value, error=bindparam("reason"))
)
SKIP_ROW = (
    update(_TABLE)
    .where(_TABLE.c.id == bindparam("row_id"), _TABLE.c.status == Status.PENDING.value)
    .values(status=Status.SKIPPED.value, error=bindparam("reason"))
)

# The dry run: what would be sent, oldest first, after the last row it saw.
_COMMUNITIES: Any = Community.__table__
WAITING = (
    select(
        _n.id,
        _n.kind,
        _n.payload,
        case((_n.owner_pk.is_(None), _n.chat_id), else_=_o.telegram_id),
        func.coalesce(_n.language, _o.language, _COMMUNITIES.c.language),
        _COMMUNITIES.c.name,
    )
    .select_from(
        _TABLE.outerjoin(_OWNERS, _o.id == _n.owner_pk).join(
            _COMMUNITIES, _COMMUNITIES.c.id == _n.community_id
        )
    )
    .where(_n.status == _PENDING, _n.id > bindparam("after"))
    .order_by(_n.id)
    .limit(bindparam("limit"))
)
