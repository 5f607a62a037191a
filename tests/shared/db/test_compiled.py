"""``kopilka.db.Compiled``: a Core statement compiled once and run as SQL on the session's own
connection gives what SQLAlchemy's execution gives — literal values, constant column defaults
and JSON parameters included."""

from __future__ import annotations

import uuid
from decimal import Decimal
from typing import Any

import pytest
from sqlalchemy import Column, Integer, MetaData, String, Table, bindparam, insert, literal, select
from sqlalchemy.dialects.postgresql import JSONB

from kopilka.db import Compiled
from kopilka.models import Community, Owner


def test_literals_and_json_parameters(db_session: Any) -> None:
    stmt = select(
        literal("contribution", String).label("kind"),
        bindparam("payload", type_=JSONB).label("payload"),
        bindparam("n", type_=Integer).label("n"),
    )
    row = Compiled(stmt).run(db_session, {"payload": {"amount": "1.10", "list": [1]}, "n": 7})
    assert row.fetchone() == ("contribution", {"amount": "1.10", "list": [1]}, 7)


def test_constant_column_defaults_are_filled_in(db_session: Any) -> None:
    c = Community(name=f"Compiled {uuid.uuid4().hex[:8]}", currency="RUB", timezone="UTC")
    db_session.add(c)
    db_session.flush()
    table: Any = Owner.__table__
    stmt = (
        insert(table)
        .values(community_id=bindparam("c"), owner_id=bindparam("o"))
        .returning(table.c.share_weight, table.c.is_active, table.c.version)
    )
    # share_weight, is_active and version have Python-side defaults (not the server's)
    assert Compiled(stmt).run(db_session, {"c": c.id, "o": 5}).fetchone() == (Decimal(1), True, 1)


def test_a_default_computed_per_row_is_refused() -> None:
    table = Table(
        "t",
        MetaData(),
        Column("id", Integer, primary_key=True),
        Column("x", Integer, default=lambda: 1),
    )
    with pytest.raises(ValueError, match="only a constant default"):
        Compiled(insert(table).values(id=bindparam("id")))
