"""The audit log: every write, with its actor and what changed."""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import insert, inspect

from kopilka.context import Ctx
from kopilka.models import AuditEntry


def _plain(value: Any) -> Any:
    if isinstance(value, datetime | date):
        return value.isoformat()
    if isinstance(value, Decimal):
        return str(value)
    return value


def snapshot(obj: Any) -> dict[str, Any]:
    """The column values of an ORM row as JSON-safe data."""
    mapper = inspect(obj).mapper
    return {c.key: _plain(getattr(obj, c.key)) for c in mapper.column_attrs}


def record(
    ctx: Ctx,
    action: str,
    entity: str,
    entity_id: object | None,
    *,
    before: dict[str, Any] | None = None,
    after: dict[str, Any] | None = None,
    community_id: int | None = None,
) -> None:
    # A Core INSERT: no unit-of-work bookkeeping on the hot path of every write.
    ctx.session.execute(
        insert(AuditEntry).values(
            community_id=community_id if community_id is not None else ctx.actor.community_id,
            actor=ctx.actor.label,
            action=action,
            entity=entity,
            entity_id=None if entity_id is None else str(entity_id),
            before=before,
            after=after,
            request_id=ctx.request_id,
        )
    )
