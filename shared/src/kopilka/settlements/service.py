"""Suggested settlements of a period: the fewest transfers between owners that settle them."""

from __future__ import annotations

from kopilka.balances.sheet import sheet_for
from kopilka.context import Ctx
from kopilka.errors import ValidationFailed
from kopilka.money import format_minor
from kopilka.periods.service import get_period
from kopilka.settlements.fewest import suggest_settlements
from kopilka.settlements.schemas import SuggestedSettlementsOut, TransferOut


def suggest(ctx: Ctx, period_id: int, *, via: int | None = None) -> SuggestedSettlementsOut:
    ctx.require_admin()  # the plan shows every owner's balance
    period = get_period(ctx, period_id)
    sheet = sheet_for(ctx.session, ctx.community, period)
    balances = {r.owner_id: r.balance for r in sheet.rows}
    if via is not None and via not in balances:
        raise ValidationFailed(f"via: owner {via} has no balance in period {period.id}")
    transfers = suggest_settlements(balances, via=via)
    c = ctx.currency
    moved: dict[int, int] = {}
    for t in transfers:
        moved[t.from_owner_id] = moved.get(t.from_owner_id, 0) + t.amount_minor
        moved[t.to_owner_id] = moved.get(t.to_owner_id, 0) - t.amount_minor
    residual = sum(abs(b + moved.get(o, 0)) for o, b in balances.items() if o != via)
    return SuggestedSettlementsOut(
        period_id=period.id,
        currency=c,
        via=via,
        transfers=[
            TransferOut(
                from_owner_id=t.from_owner_id,
                to_owner_id=t.to_owner_id,
                amount=format_minor(t.amount_minor, c),
            )
            for t in transfers
        ],
        unsettled_by_owners=format_minor(residual, c),
    )
