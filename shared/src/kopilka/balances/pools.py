"""The allocation's inputs, loaded: the period's pools (one per payment type of the pooled
expenses, one per expense with its own split), the budget items, the owners' share weights."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from kopilka.models import BudgetItem, Community, Expense, Owner, Period, PeriodExpenseTotal
from kopilka.plots.billing import TariffDetail


@dataclass
class Pool:
    key: str
    payment_type: str
    strategy: str
    amount: int
    expense_id: int | None = None
    meter_type: str | None = None
    split: dict[str, Any] | None = None
    shares: dict[int, int] = field(default_factory=dict)  # owner_pk -> minor
    reason: str | None = None  # set when (partly) unallocated
    item: BudgetItem | None = None  # the budget item of the payment type, if any
    tariff: TariffDetail | None = None  # TARIFF: the tariff charges, the loss, its shares


def share_weights(community_id: int) -> Any:
    """The active owners of a community with their own share weight: (owner_pk, owner_id,
    weight); an owner with plots shares by the weight derived from them instead."""
    return select(Owner.id, Owner.owner_id, Owner.share_weight.label("weight")).where(
        Owner.community_id == community_id, Owner.is_active.is_(True)
    )


def budget_of(session: Session, period: Period) -> dict[str, BudgetItem]:
    return {
        b.payment_type.lower(): b
        for b in session.scalars(
            select(BudgetItem).where(
                BudgetItem.period_id == period.id, BudgetItem.deleted_at.is_(None)
            )
        )
    }


def pools_of(
    session: Session, community: Community, period: Period, *, from_rows: bool = False
) -> list[Pool]:
    """The period's allocation pools, unshared: one per payment type of the expenses without a
    split of their own (their sums from the maintained ``period_expense_totals``, or from the
    expense rows when ``from_rows``: the close), then one per expense with a split (found
    through a partial index)."""
    budget = budget_of(session, period)
    pools: list[Pool] = []
    if from_rows:
        pooled = session.execute(
            select(
                func.lower(Expense.payment_type),
                func.min(Expense.payment_type),
                func.sum(Expense.amount_minor),
            )
            .where(
                Expense.period_id == period.id,
                Expense.deleted_at.is_(None),
                Expense.split.is_(None),
            )
            .group_by(func.lower(Expense.payment_type))
            .order_by(func.lower(Expense.payment_type))
        ).all()
    else:
        pooled = session.execute(
            select(
                func.lower(PeriodExpenseTotal.payment_type),
                func.min(PeriodExpenseTotal.payment_type),
                func.sum(PeriodExpenseTotal.amount_minor),
            )
            .where(
                PeriodExpenseTotal.period_id == period.id,
                PeriodExpenseTotal.pooled.is_(True),
                PeriodExpenseTotal.expenses > 0,
            )
            .group_by(func.lower(PeriodExpenseTotal.payment_type))
            .order_by(func.lower(PeriodExpenseTotal.payment_type))
        ).all()
    for key, shown, total in pooled:
        item = budget.get(key)
        strategy = item.allocation_strategy if item else community.default_strategy
        pools.append(
            Pool(
                key=f"type:{key}",
                payment_type=item.payment_type if item else shown,
                strategy=strategy,
                amount=int(total),
                meter_type=item.meter_type if item else None,
                item=item,
            )
        )
    for e in session.scalars(
        select(Expense)
        .where(
            Expense.period_id == period.id,
            Expense.deleted_at.is_(None),
            Expense.split.is_not(None),
        )
        .order_by(Expense.id)
    ):
        item = budget.get(e.payment_type.lower())
        assert e.split is not None
        pools.append(
            Pool(
                key=f"expense:{e.id}",
                payment_type=e.payment_type,
                strategy=str(e.split.get("strategy", "")).upper(),
                amount=e.amount_minor,
                expense_id=e.id,
                # the split's own meter type (USAGE_BASED), else the budget item's of its type
                meter_type=e.split.get("meter_type") or (item.meter_type if item else None),
                split=e.split,
            )
        )
    return pools


def pool_owner_ids(split: dict[str, Any]) -> list[int]:
    items = split.get("items")
    if isinstance(items, list):  # ITEM_BASED: the owners of its items
        return [int(i["owner_id"]) for i in items if i.get("owner_id") is not None]
    owners = split.get("owners")
    if isinstance(owners, dict):
        return [int(k) for k in owners]
    if isinstance(owners, list):
        return [int(k) for k in owners]
    return []


def lookup_owners(session: Session, community_id: int, owner_ids: Any) -> list[Any]:
    """(owner_id, pk, share_weight) of the named owners, active or not."""
    return list(
        session.execute(
            select(Owner.owner_id, Owner.id, Owner.share_weight).where(
                Owner.community_id == community_id, Owner.owner_id.in_(list(owner_ids))
            )
        ).all()
    )
