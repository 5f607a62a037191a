"""Idempotency-Key records: the stored answer of a write, replayed when the same request comes
again. The API's ``write`` (``kopilka_api.http``) decides what to replay; these are its two steps
in the database, one statement each."""

from __future__ import annotations

import hashlib
from typing import Any

from sqlalchemy import BigInteger, String, bindparam, text
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.orm import Session

from kopilka.db import Compiled, bound_values
from kopilka.models import IdempotencyRecord

# Both run on the hot path of every recorded payment: compiled once (``db.Compiled``).
# Raw SQL: a transaction-level advisory lock on the key (pg_try_advisory_xact_lock) read together
# with the key's record, in one round trip.
_CLAIM = Compiled(
    text(
        "SELECT pg_try_advisory_xact_lock(:lock) AS got, r.request_hash, "
        "r.response_status, r.response_body, r.response_headers "
        "FROM (SELECT 1) AS one LEFT JOIN idempotency_records AS r "
        "ON coalesce(r.community_id, 0) = :scope AND r.key = :key"
    ).bindparams(
        bindparam("lock", type_=BigInteger),
        bindparam("scope", type_=BigInteger),
        bindparam("key", type_=String),
    )
)
_TABLE: Any = IdempotencyRecord.__table__
_STORE = Compiled(
    insert(_TABLE)
    .values(
        bound_values(
            _TABLE,
            (
                "community_id",
                "key",
                "request_hash",
                "response_status",
                "response_body",
                "response_headers",
            ),
        )
    )
    .on_conflict_do_nothing()
    .returning(_TABLE.c.id)
)


def lock_id(scope: int, key: str) -> int:
    """The advisory lock of (community, Idempotency-Key): a 64-bit hash of both. (PostgreSQL's
    ``hashtext`` is 32 bits: in 400,000 keys 14 pairs collided, and a colliding key was answered
    409 "still in flight" while the other one ran.)"""
    digest = hashlib.blake2b(f"{scope}\x00{key}".encode(), digest_size=8).digest()
    return int.from_bytes(digest, "big", signed=True)


def claim(session: Session, scope: int, key: str) -> Any:
    """Lock the key for this transaction and read its record: ``got`` (False: another request
    with the key holds it) and the stored ``request_hash``, ``response_status``,
    ``response_body``, ``response_headers`` (None when there is no record). The record is read in
    the statement's snapshot, taken just before the lock."""
    return _CLAIM.run(session, {"lock": lock_id(scope, key), "scope": scope, "key": key}).fetchone()


def store(
    session: Session,
    community_id: int | None,
    key: str,
    request_hash: str,
    status: int,
    body: Any,
    headers: dict[str, str],
) -> bool:
    """Keep the answer in the write's own transaction; False when a record of the key appeared
    meanwhile (the first request's answer stands: roll back)."""
    params = {
        "community_id": community_id,
        "key": key,
        "request_hash": request_hash,
        "response_status": status,
        "response_body": body,
        "response_headers": headers,
    }
    return _STORE.run(session, params).fetchone() is not None
