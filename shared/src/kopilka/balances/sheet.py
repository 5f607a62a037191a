"""A period's balance sheet: every owner's line and the allocation.

For an OPEN period a live preview from the maintained totals and the (reused) allocation, or
from the rows themselves (the close); for a CLOSED one what the close stored."""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

from sqlalchemy import bindparam, func, select
from sqlalchemy.orm import Session

from kopilka.balances.allocations import AllocationResult, compute_allocations, current_allocations
from kopilka.balances.pools import Pool
from kopilka.balances.rows import (
    TOTAL_COLUMNS,
    OwnerRow,
    ledger_sums,
    row_from_stored,
    row_from_sums,
)
from kopilka.models import (
    Allocation,
    Community,
    Expense,
    Owner,
    OwnerPeriodTotal,
    Period,
    PeriodBalance,
    PeriodExpenseTotal,
)
from kopilka.plots.billing import stored as billing_stored


@dataclass
class Sheet:
    period: Period
    currency: str
    rows: list[OwnerRow]
    allocation: AllocationResult
    total_expenses: int


def total_expenses(session: Session, period_id: int, *, from_rows: bool = False) -> int:
    if from_rows:
        return int(
            session.scalar(
                select(func.coalesce(func.sum(Expense.amount_minor), 0)).where(
                    Expense.period_id == period_id, Expense.deleted_at.is_(None)
                )
            )
            or 0
        )
    return int(
        session.scalar(
            select(func.coalesce(func.sum(PeriodExpenseTotal.amount_minor), 0)).where(
                PeriodExpenseTotal.period_id == period_id
            )
        )
        or 0
    )


def live_sheet(
    session: Session,
    community: Community,
    period: Period,
    *,
    strict: bool = False,
    from_rows: bool = False,
) -> Sheet:
    """The sheet of an OPEN period: the owners' maintained totals plus the (reused) allocation.
    ``from_rows`` or ``strict`` (the close) sums the ledger rows and allocates afresh instead:
    what the close stores is derived from the rows themselves, and
    ``kopilka.balances.reconcile`` compares the totals with them."""
    if from_rows or strict:
        sums = ledger_sums(session, period.id)
        result = compute_allocations(session, community, period, strict=strict, from_rows=True)
        allocated = result.per_owner()
        owners = session.execute(
            select(Owner.id, Owner.owner_id, Owner.name, Owner.is_active)
            .where(Owner.community_id == community.id)
            .order_by(Owner.owner_id)
        ).all()
        empty: dict[str, int] = {}
        rows = [
            row_from_sums(pk, oid, name, sums.get(pk, empty), allocated.get(pk, 0))
            for pk, oid, name, active in owners
            if active or pk in sums or pk in allocated
        ]
    else:
        result, allocated = current_allocations(session, community, period)
        rows = _rows_from_totals(session, community.id, period.id, allocated)
    total = total_expenses(session, period.id, from_rows=from_rows or strict)
    return Sheet(period, community.currency, rows, result, total)


def _rows_from_totals(
    session: Session, community_id: int, period_id: int, allocated: dict[int, int]
) -> list[OwnerRow]:
    """Every owner's line from ONE query (the community's owners with their maintained totals),
    read as plain rows: 10,000 owners without the ORM's per-row work."""
    stmt = _totals_statement()
    out: list[OwnerRow] = []
    append = out.append
    get = allocated.get
    for pk, oid, name, active, entries, c, oc, pe, sc, od, sp, sr in session.connection().execute(
        stmt, {"c": community_id, "p": period_id}
    ):
        involved = entries is not None and entries > 0
        share = get(pk, 0)
        if not (active or involved or pk in allocated):
            continue
        if involved:
            append(OwnerRow(pk, oid, name, oc - od, c + oc, pe, share, sc + od, sp - sr, od))
        else:
            append(OwnerRow(pk, oid, name, allocated=share))
    return out


@lru_cache(maxsize=1)
def _totals_statement() -> Any:
    t = OwnerPeriodTotal
    return (
        select(
            Owner.id,
            Owner.owner_id,
            Owner.name,
            Owner.is_active,
            t.entries,
            *(getattr(t, c) for c in TOTAL_COLUMNS.values()),
        )
        .outerjoin(t, (t.owner_pk == Owner.id) & (t.period_id == bindparam("p")))
        .where(Owner.community_id == bindparam("c"))
        .order_by(Owner.owner_id)
    )


def stored_sheet(session: Session, community: Community, period: Period) -> Sheet:
    """What the close stored for a CLOSED period."""
    rows = [
        row_from_stored(b, oid, name)
        for b, oid, name in session.execute(
            select(PeriodBalance, Owner.owner_id, Owner.name)
            .join(Owner, Owner.id == PeriodBalance.owner_pk)
            .where(PeriodBalance.period_id == period.id)
            .order_by(Owner.owner_id)
        )
    ]
    summary = period.closing_summary or {}
    pools = [
        Pool(
            key=p["pool"],
            payment_type=p["payment_type"],
            strategy=p["strategy"],
            amount=p["amount_minor"],
            expense_id=p.get("expense_id"),
            reason=p.get("reason"),
            shares={},
        )
        for p in summary.get("pools", [])
    ]
    by_pool: dict[str, dict[int, int]] = defaultdict(dict)
    for a in session.scalars(select(Allocation).where(Allocation.period_id == period.id)):
        by_pool[a.pool][a.owner_pk] = a.amount_minor
    for p in pools:
        p.shares = by_pool.get(p.key, {})
    if any(p.get("tariff") for p in summary.get("pools", [])):
        details = billing_stored(session, period.id, summary.get("pools", []))
        for p in pools:
            p.tariff = details.get(p.key)
    return Sheet(
        period, community.currency, rows, AllocationResult(pools), summary.get("total_expenses", 0)
    )


def sheet_for(session: Session, community: Community, period: Period) -> Sheet:
    if period.status == "CLOSED":
        return stored_sheet(session, community, period)
    return live_sheet(session, community, period)
