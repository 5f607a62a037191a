"""Settlements: a transfer between two owners that evens out their balances (the suggestion of
which transfers to make is ``kopilka.settlements``)."""

from __future__ import annotations

from typing import Any

from kopilka.context import Ctx, Role
from kopilka.errors import ValidationFailed
from kopilka.ledger import posting
from kopilka.ledger import schemas as s
from kopilka.ledger.posting import Posting, booking_date, live, page, positive_amount
from kopilka.models import Period, Settlement
from kopilka.money import format_minor
from kopilka.owners.service import resolve_owner
from kopilka.periods.service import get_period, open_period_for_write


def postings(t: Settlement) -> list[Posting]:
    return [
        (t.from_owner_pk, "SETTLEMENT_PAID", t.amount_minor),
        (t.to_owner_pk, "SETTLEMENT_RECEIVED", t.amount_minor),
    ]


def settlement_out(ctx: Ctx, t: Settlement) -> s.SettlementOut:
    ids = posting.owner_ids(ctx.session, [t.from_owner_pk, t.to_owner_pk])
    return s.SettlementOut(
        **posting.out_fields(ctx, t),
        from_owner_id=ids[t.from_owner_pk],
        to_owner_id=ids[t.to_owner_pk],
        amount=format_minor(t.amount_minor, ctx.currency),
        comment=t.comment,
    )


def _apply(
    ctx: Ctx, period: Period, t: Settlement, data: s.SettlementPatch, changes: dict[str, Any]
) -> None:
    """A PATCH corrects a transfer (amount, either owner, date, comment) in an OPEN period: the
    ledger gets a reversal and the new postings, the audit log the before and after (issue 13)."""
    before_amount, before_owners = t.amount_minor, (t.from_owner_pk, t.to_owner_pk)
    if changes.get("amount") is not None:
        t.amount_minor = positive_amount(ctx, data.amount)  # type: ignore[arg-type]
    # no autoflush between the two: swapping the owners must not flush a half-swapped row
    with ctx.session.no_autoflush:
        if changes.get("from_owner_id") is not None:
            t.from_owner_pk = resolve_owner(ctx, changes["from_owner_id"], field="from_owner_id").id
        if changes.get("to_owner_id") is not None:
            t.to_owner_pk = resolve_owner(ctx, changes["to_owner_id"], field="to_owner_id").id
    if t.from_owner_pk == t.to_owner_pk:
        raise ValidationFailed("A settlement is a transfer between two different owners")
    if changes.get("date") is not None:
        t.date = booking_date(ctx, period, data.date)
    from kopilka.ledger.shares import check_settlement_edit  # shares builds on this module

    check_settlement_edit(ctx, t, period, before_amount=before_amount, before_owners=before_owners)


SETTLEMENT = posting.DocumentKind(
    Settlement, "settlement", "Settlement", postings,
    required=("from_owner_id", "to_owner_id", "amount", "date"), plain=("comment",), apply=_apply,
)  # fmt: skip


def record_settlement(ctx: Ctx, period_id: int, data: s.SettlementCreate) -> Settlement:
    ctx.require_admin()
    amount = positive_amount(ctx, data.amount)
    if data.from_owner_id == data.to_owner_id:
        raise ValidationFailed("A settlement is a transfer between two different owners")
    period = open_period_for_write(ctx, period_id)
    day = booking_date(ctx, period, data.date)
    first, second = sorted([data.from_owner_id, data.to_owner_id])
    owners = {
        o: resolve_owner(
            ctx, o, field="from_owner_id" if o == data.from_owner_id else "to_owner_id"
        )
        for o in (first, second)
    }
    t = posting.document(
        ctx, period, Settlement,
        from_owner_pk=owners[data.from_owner_id].id, to_owner_pk=owners[data.to_owner_id].id,
        amount_minor=amount, date=day, comment=data.comment,
    )  # fmt: skip
    return posting.insert_document(ctx, period, SETTLEMENT, t)


def list_settlements(
    ctx: Ctx, period_id: int, *, after: int | None, limit: int
) -> list[Settlement]:
    get_period(ctx, period_id)
    q = live(SETTLEMENT, ctx, period_id)
    if ctx.actor.role == Role.OWNER:  # an owner sees the transfers they paid or received
        q = q.where(
            (Settlement.from_owner_pk == ctx.actor.owner_pk)
            | (Settlement.to_owner_pk == ctx.actor.owner_pk)
        )
    return list(ctx.session.scalars(page(q, SETTLEMENT, after, limit)))
