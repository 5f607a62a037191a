"""Budget items: what the period plans to spend per payment type and how that type is shared
(its allocation strategy); the sheet compares them with the actual expenses. No money moves."""

from __future__ import annotations

from typing import Any

from sqlalchemy import func, select

from kopilka.allocation.strategies import Strategy, parse_strategy
from kopilka.context import Ctx
from kopilka.errors import Conflict, ValidationFailed
from kopilka.ledger import posting
from kopilka.ledger import schemas as s
from kopilka.ledger.posting import live, non_negative_amount, not_blank, page
from kopilka.models import BudgetItem, Expense, Period
from kopilka.money import format_minor
from kopilka.periods.service import get_period, open_period_for_write
from kopilka.plots.billing import budget_tariff


def _budget_strategy(strategy: str, meter_type: str | None) -> tuple[str, str | None]:
    parsed = parse_strategy(strategy)
    meter = meter_type.strip().upper() if meter_type and meter_type.strip() else None
    if parsed == Strategy.USAGE_BASED and meter is None:
        raise ValidationFailed("A USAGE_BASED budget item needs a meter_type (e.g. WATER)")
    if parsed in (
        Strategy.SHARES,
        Strategy.PERCENTAGE,
        Strategy.EXACT,
    ):
        raise ValidationFailed(
            f"{parsed.value} needs values per owner: give it as an expense's split, "
            "not as a budget item's strategy"
        )
    if parsed == Strategy.ITEM_BASED:
        raise ValidationFailed(
            "ITEM_BASED needs the items: give it as an expense's split (or finalize a group "
            "purchase), not as a budget item's strategy"
        )
    return parsed.value, meter


def _check_budget_type_free(
    ctx: Ctx, period_id: int, payment_type: str, exclude: int | None
) -> None:
    q = live(BUDGET_ITEM, ctx, period_id).where(
        func.lower(BudgetItem.payment_type) == payment_type.lower()
    )
    if exclude is not None:
        q = q.where(BudgetItem.id != exclude)
    if ctx.session.scalar(q) is not None:
        raise Conflict(f"Period {period_id} already has a budget item for '{payment_type}'")


def budget_actuals(ctx: Ctx, period_id: int) -> dict[str, int]:
    rows = ctx.session.execute(
        select(func.lower(Expense.payment_type), func.sum(Expense.amount_minor))
        .where(Expense.period_id == period_id, Expense.deleted_at.is_(None))
        .group_by(func.lower(Expense.payment_type))
    ).all()
    return {t: int(v) for t, v in rows}


def budget_item_out(
    ctx: Ctx, b: BudgetItem, actuals: dict[str, int] | None = None
) -> s.BudgetItemOut:
    if actuals is None:
        actuals = budget_actuals(ctx, b.period_id)
    actual = actuals.get(b.payment_type.lower(), 0)
    return s.BudgetItemOut(
        id=b.id,
        period_id=b.period_id,
        payment_type=b.payment_type,
        budgeted_amount=format_minor(b.budgeted_amount_minor, ctx.currency),
        allocation_strategy=b.allocation_strategy,
        meter_type=b.meter_type,
        description=b.description,
        actual_amount=format_minor(actual, ctx.currency),
        variance=format_minor(b.budgeted_amount_minor - actual, ctx.currency),
        version=b.version,
        tariffs=b.tariffs,
        loss_strategy=b.loss_strategy,
    )


def record_budget_item(ctx: Ctx, period_id: int, data: s.BudgetItemCreate) -> BudgetItem:
    ctx.require_admin()
    amount = non_negative_amount(ctx, data.budgeted_amount, "budgeted_amount")
    payment_type = not_blank(data.payment_type, "payment_type")
    strategy, meter = _budget_strategy(data.allocation_strategy, data.meter_type)
    # TARIFF: its tariffs per zone and how its loss is shared (kopilka.plots.billing)
    tariffs, loss_strategy = budget_tariff(
        strategy, meter, data.tariffs, data.loss_strategy, ctx.currency
    )
    period = open_period_for_write(ctx, period_id)
    _check_budget_type_free(ctx, period.id, payment_type, None)
    b = posting.document(
        ctx, period, BudgetItem,
        payment_type=payment_type, budgeted_amount_minor=amount, allocation_strategy=strategy,
        meter_type=meter, description=data.description, tariffs=tariffs,
        loss_strategy=loss_strategy,
    )  # fmt: skip
    return posting.insert_document(ctx, period, BUDGET_ITEM, b)


def _apply(
    ctx: Ctx, period: Period, b: BudgetItem, data: s.BudgetItemPatch, changes: dict[str, Any]
) -> None:
    if changes.get("budgeted_amount") is not None:
        b.budgeted_amount_minor = non_negative_amount(
            ctx,
            data.budgeted_amount,  # type: ignore[arg-type]
            "budgeted_amount",
        )
    if changes.get("payment_type") is not None:
        pt = not_blank(data.payment_type, "payment_type")
        _check_budget_type_free(ctx, period.id, pt, b.id)
        b.payment_type = pt
    if {"allocation_strategy", "meter_type", "tariffs", "loss_strategy"} & changes.keys():
        strategy = data.allocation_strategy or b.allocation_strategy
        meter = data.meter_type if "meter_type" in changes else b.meter_type
        b.allocation_strategy, b.meter_type = _budget_strategy(strategy, meter)
        # a TARIFF item keeps its tariffs unless new ones are sent; another strategy drops them
        keep = b.allocation_strategy == Strategy.TARIFF.value
        b.tariffs, b.loss_strategy = budget_tariff(
            b.allocation_strategy,
            b.meter_type,
            changes.get("tariffs", b.tariffs if keep else None),
            changes.get("loss_strategy", b.loss_strategy if keep else None),
            ctx.currency,
        )


BUDGET_ITEM = posting.DocumentKind(
    BudgetItem, "budget_item", "Budget item",
    required=("payment_type", "budgeted_amount", "allocation_strategy"), plain=("description",),
    apply=_apply,
)  # fmt: skip


def list_budget_items(
    ctx: Ctx, period_id: int, *, after: int | None, limit: int
) -> list[BudgetItem]:
    get_period(ctx, period_id)
    return list(
        ctx.session.scalars(page(live(BUDGET_ITEM, ctx, period_id), BUDGET_ITEM, after, limit))
    )
