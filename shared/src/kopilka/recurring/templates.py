"""What both kinds of recurring template share (charges: ``service``, expenses: ``expenses``):
their dates, their list, and their creation and deactivation with the audit entry."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import date
from typing import Any, TypeVar

from sqlalchemy import select

from kopilka.audit.service import created, record, snapshot, updated
from kopilka.context import Ctx
from kopilka.errors import ValidationFailed
from kopilka.ledger.posting import not_null

Template = TypeVar("Template")


def check_dates(start: date, end: date | None) -> None:
    if end is not None and end < start:
        raise ValidationFailed(f"end_date ({end}) must not be before start_date ({start})")


def add(ctx: Ctx, t: Template, entity: str) -> Template:
    """Store a new template (admins checked) and audit it."""
    created(ctx, t, entity, refresh=True)
    return t


def list_templates(
    ctx: Ctx, model: type[Template], *, active: bool | None, after: int | None, limit: int
) -> list[Template]:
    """A page of the community's templates by id (one more than the limit), active or not."""
    ctx.require_admin()
    m: Any = model
    stmt = select(m).where(m.community_id == ctx.community_id)
    if active is not None:
        stmt = stmt.where(m.active.is_(active))
    if after is not None:
        stmt = stmt.where(m.id > after)
    return list(ctx.session.scalars(stmt.order_by(m.id).limit(limit + 1)))


def edit(
    ctx: Ctx,
    t: Template,
    data: Any,
    entity: str,
    *,
    required: Sequence[str],
    plain: Sequence[str],
    apply: Callable[[dict[str, Any]], None],
    check: Callable[[], None] | None = None,
) -> Template:
    """A PATCH of a (locked) template: the ``required`` fields may be left out but not nulled,
    the ``plain`` ones are copied as sent, ``apply(changes)`` sets the others; then its dates
    and ``check`` hold, its version (where it has one) moves on, and the change is audited."""
    row: Any = t
    before = snapshot(row)
    changes = data.model_dump(exclude_unset=True)
    not_null(changes, *required)
    for key in plain:
        if key in changes:
            setattr(row, key, changes[key])
    apply(changes)
    check_dates(row.start_date, row.end_date)
    if check is not None:
        check()
    if hasattr(row, "version"):  # an expense template has one (its ETag)
        row.version += 1
    updated(ctx, row, entity, before)
    return t


def deactivate(ctx: Ctx, t: Any, entity: str) -> None:
    """DELETE: the template (locked) stops generating; it and what it generated stay (money is
    never deleted silently). An inactive template is left as it is."""
    if not t.active:
        return
    before = snapshot(t)
    t.active = False
    if hasattr(t, "version"):  # an expense template has one (its ETag)
        t.version += 1
    ctx.session.flush()
    record(ctx, f"{entity}.deactivate", entity, t.id, before=before, after=snapshot(t))
