"""``kopilka.db.run``: the hot path's statements on the session's own psycopg connection behave
as SQLAlchemy's do — same transaction, pending ORM changes flushed first, errors raised as
SQLAlchemy's ``DBAPIError`` and a lost connection dropped from the pool."""

from __future__ import annotations

import uuid
from typing import Any

import psycopg
import pytest
from sqlalchemy import exc, text
from sqlalchemy.orm import Session

from kopilka.db import get_engine, run
from kopilka.models import ApiKey, Community


def _community() -> Community:
    return Community(name=f"Run {uuid.uuid4().hex[:8]}", currency="RUB", timezone="Europe/Moscow")


def test_rows_are_named_tuples_in_the_sessions_transaction(db_session: Any) -> None:
    c = _community()
    db_session.add(c)  # pending, not flushed: run flushes first, as autoflush would
    row = run(db_session, "SELECT id, name FROM communities WHERE name = %s", (c.name,)).fetchone()
    assert row is not None and row.name == c.name and row.id == c.id
    # the same transaction: what run wrote, the ORM reads, and a rollback takes both away
    run(db_session, "UPDATE communities SET currency = %s WHERE id = %s", ("USD", c.id))
    assert (
        db_session.scalar(text("SELECT currency FROM communities WHERE id = :i"), {"i": c.id})
        == "USD"
    )


def test_a_database_error_is_sqlalchemys_and_the_session_recovers(database: str) -> None:
    with Session(get_engine()) as s:
        with pytest.raises(exc.ProgrammingError) as caught:
            run(s, "SELECT no_such_column FROM communities WHERE id = %s", (1,))
        assert caught.value.orig is not None and "no_such_column" in str(caught.value.orig)
        s.rollback()
        assert run(s, "SELECT %s::int AS one", (1,)).fetchone().one == 1
    key_hash = uuid.uuid4().hex * 2
    with Session(get_engine()) as s:
        c = _community()
        s.add(c)
        s.flush()
        s.add(ApiKey(community_id=c.id, key_hash=key_hash, prefix="kpk_", created_by="test"))
        s.flush()
        with pytest.raises(exc.IntegrityError) as dup:
            run(
                s,
                "INSERT INTO api_keys (community_id, name, key_hash, prefix, created_by) "
                "VALUES (%s, 'admin', %s, 'kpk_', 'test')",
                (c.id, key_hash),
            )
        assert isinstance(dup.value.orig, psycopg.errors.UniqueViolation)
        s.rollback()


def test_a_lost_connection_is_invalidated_and_the_next_session_works(database: str) -> None:
    engine = get_engine()
    with Session(engine) as s:
        pid = run(s, "SELECT pg_backend_pid() AS pid", ()).fetchone().pid
        with engine.connect() as other:
            other.execute(text("SELECT pg_terminate_backend(:p)"), {"p": pid})
        with pytest.raises(exc.OperationalError) as caught:
            run(s, "SELECT 1 AS one", ())
        assert caught.value.connection_invalidated
        s.rollback()
    with Session(engine) as s:  # the pool handed out a live connection, not the dead one
        assert run(s, "SELECT pg_backend_pid() AS pid", ()).fetchone().pid != pid
