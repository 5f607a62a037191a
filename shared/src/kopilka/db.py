"""Engine and session factory. One commit per request or task, at the edge; services only flush."""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager
from functools import lru_cache
from typing import Any

from psycopg import Cursor
from psycopg.rows import namedtuple_row
from sqlalchemy import ClauseElement, Engine, FromClause, bindparam, create_engine
from sqlalchemy.dialects.postgresql.psycopg import dialect as psycopg_dialect
from sqlalchemy.orm import Session, sessionmaker
from sqlalchemy.sql.elements import BindParameter

from kopilka.config import get_settings


def make_engine(url: str | None = None, **kwargs: object) -> Engine:
    url = url or get_settings().database_url
    # No pre-ping: it costs a round trip on every request. A connection the server dropped fails
    # one request (503, retried by the client); connections are recycled every 30 minutes.
    settings = get_settings()
    opts: dict[str, object] = {
        "pool_recycle": 1800,
        "pool_size": settings.db_pool_size,
        "max_overflow": settings.db_max_overflow,
    }
    opts.update(kwargs)
    return create_engine(url, **opts)  # type: ignore[arg-type]


@lru_cache(maxsize=1)
def get_engine() -> Engine:
    return make_engine()


def session_factory(engine: Engine | None = None) -> sessionmaker[Session]:
    if engine is None:
        return _default_factory()
    return sessionmaker(bind=engine, expire_on_commit=False, autoflush=True)


@lru_cache(maxsize=1)
def _default_factory() -> sessionmaker[Session]:
    return sessionmaker(bind=get_engine(), expire_on_commit=False, autoflush=True)


@contextmanager
def transaction(engine: Engine | None = None) -> Iterator[Session]:
    """A session whose work commits on success and rolls back on any error."""
    with session_factory(engine)() as session, session.begin():
        yield session


def copy_rows(
    session: Session, table: str, columns: Sequence[str], rows: Iterable[Sequence[Any]]
) -> int:
    """Bulk-load rows with COPY inside the session's transaction (far faster than INSERTs)."""
    session.flush()
    conn = session.connection().connection.driver_connection
    assert conn is not None
    count = 0
    with conn.cursor() as cur, cur.copy(f"COPY {table} ({', '.join(columns)}) FROM STDIN") as copy:
        for row in rows:
            copy.write_row(row)
            count += 1
    return count


def bound_values(
    table: FromClause, columns: Iterable[str], prefix: str = ""
) -> dict[str, BindParameter[Any]]:
    """The VALUES of an INSERT built once and run many times: each column a bind parameter
    named ``prefix + column``, with the column's type (JSONB, dates and numerics are sent as
    such)."""
    return {c: bindparam(prefix + c, type_=table.c[c].type) for c in columns}


def run(session: Session, sql: str, params: Sequence[Any] | dict[str, Any]) -> Cursor[Any]:
    """Run SQL (``%s`` or ``%(name)s`` placeholders) on the session's own connection, in its
    transaction, as a prepared statement; rows are named tuples. Statements reach it compiled
    from Core (``Compiled``): the hot path of a recorded payment (the caller's key, the
    Idempotency-Key's claim and record, the period and the owner, the document's statement).

    SQLAlchemy's execution layer (its compiled cache, parameter processing, result and ORM
    loading) cost 0.1-0.25 ms of CPU a statement over psycopg's own, as much as the rest of the
    statement. Pending ORM changes are flushed first (as autoflush would), and a database error
    is raised as SQLAlchemy raises it (a ``DBAPIError``; a lost connection is invalidated in the
    pool)."""
    session.flush()
    connection = session.connection()
    driver = connection.connection.driver_connection
    assert driver is not None
    cursor: Cursor[Any] = driver.cursor(row_factory=namedtuple_row)
    try:
        cursor.execute(sql, params, prepare=True)
    except Exception as exc:
        cursor.close()
        connection._handle_dbapi_exception(exc, sql, params, None, None)
    return cursor


class Compiled:
    """A Core statement compiled once into the SQL text ``run`` takes: the statements of the
    hot path (``run`` says which) stay Core, as every statement is, and skip SQLAlchemy's
    execution layer. What SQLAlchemy would do on each execution is done here once or kept
    small: the statement's own literal values and scalar column defaults are filled in, and
    only the parameters whose type converts its value (JSON) go through their bind
    processor."""

    _dialect: Any = psycopg_dialect()  # type: ignore[no-untyped-call]

    def __init__(self, statement: ClauseElement) -> None:
        compiled: Any = statement.compile(dialect=self._dialect)
        self.sql: str = compiled.string
        fixed = {k: v for k, v in compiled.construct_params(_check=False).items() if v is not None}
        for column in compiled.insert_prefetch:  # Python-side column defaults (constants only)
            default = column.default
            if default is None or not default.is_scalar:
                raise ValueError(f"{column}: only a constant default can be compiled in")
            fixed[column.key] = default.arg
        self.fixed: dict[str, Any] = fixed
        self.processors: dict[str, Any] = {
            k: f for k, f in compiled._bind_processors.items() if f is not None
        }

    def run(self, session: Session, params: dict[str, Any]) -> Cursor[Any]:
        values = {**self.fixed, **params}
        for key, process in self.processors.items():
            if values.get(key) is not None:
                values[key] = process(values[key])
        return run(session, self.sql, values)
