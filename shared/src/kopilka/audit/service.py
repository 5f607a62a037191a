"""The audit log: every write, with its actor and what changed."""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import and_, cast, insert, inspect, or_, select
from sqlalchemy.dialects.postgresql import JSONB

from kopilka.audit.schemas import AuditEntryOut
from kopilka.context import Ctx
from kopilka.models import AuditEntry, Owner
from kopilka.outputs import from_row


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


def created(
    ctx: Ctx, row: Any, entity: str, *, entity_id: object = None, refresh: bool = False
) -> None:
    """Store a new row and audit its creation (``entity_id``: the row's id unless named;
    ``refresh``: read back what the database filled in first)."""
    ctx.session.add(row)
    ctx.session.flush()
    if refresh:
        ctx.session.refresh(row)
    key = row.id if entity_id is None else entity_id
    record(ctx, f"{entity}.create", entity, key, after=snapshot(row))


def updated(
    ctx: Ctx,
    row: Any,
    entity: str,
    before: dict[str, Any],
    *,
    entity_id: object = None,
    refresh: bool = False,
) -> None:
    """Flush a changed row and audit the change from ``before`` (its snapshot)."""
    ctx.session.flush()
    if refresh:
        ctx.session.refresh(row)
    key = row.id if entity_id is None else entity_id
    record(ctx, f"{entity}.update", entity, key, before=before, after=snapshot(row))


# ---------------------------------------------------------------- reading the trail (SPEC §6)

# The columns of a document's snapshot that name an owner (by primary key).
OWNER_COLUMNS = ("owner_pk", "paid_by_owner_pk", "from_owner_pk", "to_owner_pk")


def audit_out(e: AuditEntry) -> AuditEntryOut:
    return from_row(AuditEntryOut, e, object_type=e.entity, object_id=e.entity_id)


def list_audit(
    ctx: Ctx,
    *,
    object_type: str | None,
    object_id: str | None,
    owner_id: int | None,
    after: int | None,
    limit: int,
) -> list[AuditEntry]:
    """The community's audit trail, newest first (``after``: the last id of the previous page).
    ``owner_id`` keeps what concerns that owner: the owner's own row and every document whose
    before or after names them."""

    ctx.require_admin()
    q = select(AuditEntry).where(AuditEntry.community_id == ctx.community_id)
    if object_type is not None:
        q = q.where(AuditEntry.entity == object_type)
    if object_id is not None:
        q = q.where(AuditEntry.entity_id == object_id)
    if owner_id is not None:
        pk = ctx.session.scalar(
            select(Owner.id).where(
                Owner.community_id == ctx.community_id, Owner.owner_id == owner_id
            )
        )
        if pk is None:
            return []
        named = [AuditEntry.after.op("@>")(cast({col: pk}, JSONB)) for col in OWNER_COLUMNS] + [
            AuditEntry.before.op("@>")(cast({col: pk}, JSONB)) for col in OWNER_COLUMNS
        ]
        q = q.where(
            or_(
                and_(
                    AuditEntry.entity == "owner", AuditEntry.entity_id.in_([str(owner_id), str(pk)])
                ),
                *named,
            )
        )
    if after is not None:
        q = q.where(AuditEntry.id < after)
    return list(ctx.session.scalars(q.order_by(AuditEntry.id.desc()).limit(limit + 1)))
