"""Service charges: an amount one owner owes the fund (a repair, a fine, a recurring fee)."""

from __future__ import annotations

from kopilka.context import Ctx
from kopilka.ledger import posting
from kopilka.ledger import schemas as s
from kopilka.models import ServiceCharge
from kopilka.money import format_minor
from kopilka.owners.service import resolve_owner
from kopilka.periods.service import open_period_for_write

CHARGE = posting.DocumentKind(
    ServiceCharge, "service_charge", "Service charge",
    posting.one_owner("SERVICE_CHARGE", opening="OPENING_DEBT"),
    required=("owner_id", "amount", "date"), plain=("description",), apply=posting.apply_changes,
)  # fmt: skip


def charge_out(ctx: Ctx, c: ServiceCharge, owner_id: int | None = None) -> s.ChargeOut:
    return s.ChargeOut(
        **posting.out_fields(ctx, c, owner_id),
        amount=format_minor(c.amount_minor, ctx.currency),
        description=c.description,
        is_opening=c.opening_from_period_id is not None,
        recurring_template_id=c.recurring_template_id,
    )


def record_charge(ctx: Ctx, period_id: int, data: s.ChargeCreate) -> ServiceCharge:
    ctx.require_admin()
    amount = posting.positive_amount(ctx, data.amount)
    period = open_period_for_write(ctx, period_id)
    day = posting.booking_date(ctx, period, data.date)
    owner = resolve_owner(ctx, data.owner_id)
    c = posting.document(
        ctx, period, ServiceCharge,
        owner_pk=owner.id, amount_minor=amount, description=data.description, date=day,
    )  # fmt: skip
    return posting.insert_document(ctx, period, CHARGE, c)


def list_charges(
    ctx: Ctx, period_id: int, *, owner_id: int | None, after: int | None, limit: int
) -> list[tuple[ServiceCharge, int | None]]:
    return posting.owned(ctx, CHARGE, period_id, owner_id=owner_id, after=after, limit=limit)
