"""Reconciliation: the maintained totals must equal the rows they sum.

``owner_period_totals`` must hold, per (period, owner), the sum of each kind of ledger entry and
their count; ``period_expense_totals``, per (period, payment type, pooled or split), the sum and
count of the live expenses. Both are written only by triggers in the statement that writes the
rows, so they can differ only through a bug or a hand edit of the database. A difference is an
alarm: logged (``totals_drift``, error level), counted (the Prometheus counter
``kopilka_totals_drift_total`` by table, and ``DRIFTS``) and returned, so the caller's check
fails. It is never repaired here: the rows are the truth, and a drift means
something wrote them without going through the table's triggers (find it first).

Run by the tests after every test (``tests/conftest.py``), by the fault tests after every kill,
by every close for its own period (``kopilka.periods.closing``), and by hand:
``python -m kopilka.balances.reconcile`` (exit status 1 on a drift).
"""

from __future__ import annotations

import sys
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Text, and_, bindparam, cast, func, or_, select, true
from sqlalchemy.orm import Session

from kopilka.balances.rows import TOTAL_COLUMNS
from kopilka.db import get_engine
from kopilka.logging import get_logger
from kopilka.metrics import TOTALS_DRIFTS
from kopilka.models import Expense, LedgerEntry, OwnerPeriodTotal, PeriodExpenseTotal

log = get_logger("kopilka.balances.reconcile")

#: drifts found by this process since it started (exported as a metric by the API)
DRIFTS = 0


@dataclass(frozen=True)
class Drift:
    table: str
    period_id: int
    key: str  # the owner_pk, or the payment type and pooled flag
    column: str
    rows: int  # what the rows give
    totals: int  # what the maintained totals hold


_COLUMNS = [*TOTAL_COLUMNS.values(), "entries"]
_LEDGER: Any = LedgerEntry.__table__
_OWNER_TOTALS: Any = OwnerPeriodTotal.__table__
_EXPENSES: Any = Expense.__table__
_EXPENSE_TOTALS: Any = PeriodExpenseTotal.__table__
Scope = Callable[[Any], Any]  # a table's columns -> the WHERE of the scope checked


def _ledger_drift(scope: Scope) -> Any:
    """(period, owner_pk, then rows/totals per column) where ``owner_period_totals`` differs
    from the sums of ``ledger_entries``."""
    le = _LEDGER.c
    sums = [
        func.coalesce(func.sum(le.amount_minor).filter(le.kind == k), 0).label(c)
        for k, c in TOTAL_COLUMNS.items()
    ]
    r = (
        select(le.period_id, le.owner_pk, *sums, func.count().label("entries"))
        .where(scope(le))
        .group_by(le.period_id, le.owner_pk)
        .cte("r")
    )
    t = select(_OWNER_TOTALS).where(scope(_OWNER_TOTALS.c)).cte("t")
    rows = [func.coalesce(r.c[c], 0) for c in _COLUMNS]
    totals = [func.coalesce(t.c[c], 0) for c in _COLUMNS]
    period = func.coalesce(r.c.period_id, t.c.period_id).label("period")
    owner_pk = func.coalesce(r.c.owner_pk, t.c.owner_pk).label("owner")
    return (
        select(period, owner_pk, *(x for pair in zip(rows, totals, strict=True) for x in pair))
        .select_from(
            r.join(t, and_(t.c.period_id == r.c.period_id, t.c.owner_pk == r.c.owner_pk), full=True)
        )
        .where(or_(*(a != b for a, b in zip(rows, totals, strict=True))))
        .order_by(period, owner_pk)
    )


def _expense_drift(scope: Scope) -> Any:
    """(period, "<payment type> pooled=<bool>", rows/totals of the amount, of the count) where
    ``period_expense_totals`` differs from the live ``expenses``."""
    e = _EXPENSES.c
    pooled = e.split.is_(None)
    r = (
        select(
            e.period_id,
            e.payment_type,
            pooled.label("pooled"),
            func.sum(e.amount_minor).label("amount_minor"),
            func.count().label("expenses"),
        )
        .where(e.deleted_at.is_(None), scope(e))
        .group_by(e.period_id, e.payment_type, pooled)
        .cte("r")
    )
    t = select(_EXPENSE_TOTALS).where(scope(_EXPENSE_TOTALS.c)).cte("t")
    period = func.coalesce(r.c.period_id, t.c.period_id).label("period")
    key = (
        func.coalesce(r.c.payment_type, t.c.payment_type)
        .concat(" pooled=")
        .concat(cast(func.coalesce(r.c.pooled, t.c.pooled), Text))
        .label("key")
    )
    amounts = func.coalesce(r.c.amount_minor, 0), func.coalesce(t.c.amount_minor, 0)
    counts = func.coalesce(r.c.expenses, 0), func.coalesce(t.c.expenses, 0)
    on = and_(
        t.c.period_id == r.c.period_id,
        t.c.payment_type == r.c.payment_type,
        t.c.pooled == r.c.pooled,
    )
    return (
        select(period, key, *amounts, *counts)
        .select_from(r.join(t, on, full=True))
        .where(or_(amounts[0] != amounts[1], counts[0] != counts[1]))
        .order_by(period, key)
    )


_SCOPES: dict[str, Scope] = {
    "period": lambda c: c.period_id == bindparam("p"),
    "community": lambda c: c.community_id == bindparam("c"),
    "all": lambda c: true(),
}
#: scope -> (the ledger's drift, the expenses' drift), built once
DRIFTS_OF: dict[str, tuple[Any, Any]] = {
    name: (_ledger_drift(scope), _expense_drift(scope)) for name, scope in _SCOPES.items()
}


def check_totals(
    session: Session, *, community_id: int | None = None, period_id: int | None = None
) -> list[Drift]:
    """Every difference between the maintained totals and the rows (of one period, one
    community, or the whole database); each one is logged and counted."""
    global DRIFTS
    params: dict[str, int]
    if period_id is not None:
        scope, params = "period", {"p": period_id}
    elif community_id is not None:
        scope, params = "community", {"c": community_id}
    else:
        scope, params = "all", {}
    ledger_drift, expense_drift = DRIFTS_OF[scope]
    drifts: list[Drift] = []
    for period, owner_pk, *pairs in session.execute(ledger_drift, params):
        for i, column in enumerate(_COLUMNS):
            rows, totals = int(pairs[2 * i]), int(pairs[2 * i + 1])
            if rows != totals:
                drifts.append(
                    Drift("owner_period_totals", period, str(owner_pk), column, rows, totals)
                )
    for period, key, amount_r, amount_t, n_r, n_t in session.execute(expense_drift, params):
        for column, rows, totals in (("amount_minor", amount_r, amount_t), ("expenses", n_r, n_t)):
            if rows != totals:
                drifts.append(
                    Drift("period_expense_totals", period, key, column, int(rows), int(totals))
                )
    for d in drifts:
        DRIFTS += 1
        TOTALS_DRIFTS.labels(d.table).inc()
        log.error(
            "totals_drift",
            table=d.table,
            period_id=d.period_id,
            key=d.key,
            column=d.column,
            rows=d.rows,
            totals=d.totals,
        )
    return drifts


def main() -> int:
    with Session(get_engine()) as s:
        drifts = check_totals(s)
    for d in drifts:
        print(
            f"{d.table} period {d.period_id} {d.key} {d.column}: rows {d.rows}, totals {d.totals}"
        )
    print(f"{len(drifts)} drift(s)")
    return 1 if drifts else 0


if __name__ == "__main__":
    sys.exit(main())
