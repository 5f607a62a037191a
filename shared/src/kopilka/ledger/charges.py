"""Service charges: an amount one owner owes the fund (a repair, a fine, a recurring fee)."""

from __future__ import annotations

from kopilka.audit.service import snapshot
from kopilka.context import Ctx
from kopilka.ledger import schemas as s
from kopilka.ledger.posting import (
    DocumentKind,
    Posting,
    apply_changes,
    booking_date,
    finish_edit,
    insert_document,
    load_for_edit,
    not_null,
    owned,
    owner_ids,
    positive_amount,
)
from kopilka.models import ServiceCharge
from kopilka.money import format_minor
from kopilka.owners.service import resolve_owner
from kopilka.periods.service import open_period_for_write


def postings(c: ServiceCharge) -> list[Posting]:
    kind = "OPENING_DEBT" if c.opening_from_period_id else "SERVICE_CHARGE"
    return [(c.owner_pk, kind, c.amount_minor)]


CHARGE = DocumentKind(ServiceCharge, "service_charge", "Service charge", postings)


def charge_out(ctx: Ctx, c: ServiceCharge, owner_id: int | None = None) -> s.ChargeOut:
    if owner_id is None:
        owner_id = owner_ids(ctx.session, [c.owner_pk])[c.owner_pk]
    return s.ChargeOut(
        id=c.id,
        period_id=c.period_id,
        owner_id=owner_id,
        amount=format_minor(c.amount_minor, ctx.currency),
        description=c.description,
        date=c.date,
        is_opening=c.opening_from_period_id is not None,
        recurring_template_id=c.recurring_template_id,
        created_at=c.created_at,
        version=c.version,
    )


def record_charge(ctx: Ctx, period_id: int, data: s.ChargeCreate) -> ServiceCharge:
    ctx.require_admin()
    amount = positive_amount(ctx, data.amount)
    period = open_period_for_write(ctx, period_id)
    day = booking_date(ctx, period, data.date)
    owner = resolve_owner(ctx, data.owner_id)
    c = ServiceCharge(
        community_id=ctx.community_id,
        period_id=period.id,
        owner_pk=owner.id,
        amount_minor=amount,
        description=data.description,
        date=day,
        created_by=ctx.actor.label,
    )
    return insert_document(ctx, period, CHARGE, c)


def patch_charge(
    ctx: Ctx, doc_id: int, data: s.ChargePatch, if_match: int | None = None
) -> ServiceCharge:
    ctx.require_admin()
    c, period = load_for_edit(ctx, CHARGE, doc_id, if_match)
    before = snapshot(c)
    changes = data.model_dump(exclude_unset=True)
    not_null(changes, "owner_id", "amount", "date")
    apply_changes(ctx, period, c, data, changes)
    if "description" in changes:
        c.description = data.description
    finish_edit(ctx, CHARGE, c, period, before)
    return c


def list_charges(
    ctx: Ctx, period_id: int, *, owner_id: int | None, after: int | None, limit: int
) -> list[tuple[ServiceCharge, int | None]]:
    return owned(
        ctx, CHARGE, period_id, ServiceCharge.owner_pk,
        owner_id=owner_id, after=after, limit=limit,
    )  # fmt: skip
