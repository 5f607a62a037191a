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
from dataclasses import dataclass

from sqlalchemy import text
from sqlalchemy.orm import Session

from kopilka.balances.rows import TOTAL_COLUMNS
from kopilka.db import get_engine
from kopilka.logging import get_logger
from kopilka.metrics import TOTALS_DRIFTS

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


_SUMS = ",\n".join(
    f"coalesce(sum(amount_minor) FILTER (WHERE kind = '{k}'), 0) AS {c}"
    for k, c in TOTAL_COLUMNS.items()
)
_COLUMNS = [*TOTAL_COLUMNS.values(), "entries"]


def _ledger_sql(where: str) -> str:
    diffs = " OR ".join(f"coalesce(r.{c}, 0) <> coalesce(t.{c}, 0)" for c in _COLUMNS)
    pairs = ", ".join(f"coalesce(r.{c}, 0), coalesce(t.{c}, 0)" for c in _COLUMNS)
    return f"""
        WITH r AS (
            SELECT period_id, owner_pk, {_SUMS}, count(*) AS entries
            FROM ledger_entries WHERE {where} GROUP BY period_id, owner_pk
        ), t AS (
            SELECT * FROM owner_period_totals WHERE {where}
        )
        SELECT coalesce(r.period_id, t.period_id), coalesce(r.owner_pk, t.owner_pk), {pairs}
        FROM r FULL JOIN t ON t.period_id = r.period_id AND t.owner_pk = r.owner_pk
        WHERE {diffs}
        ORDER BY 1, 2
    """


def _expense_sql(where: str) -> str:
    return f"""
        WITH r AS (
            SELECT period_id, payment_type, split IS NULL AS pooled,
                   sum(amount_minor) AS amount_minor, count(*) AS expenses
            FROM expenses WHERE deleted_at IS NULL AND {where}
            GROUP BY period_id, payment_type, split IS NULL
        ), t AS (
            SELECT * FROM period_expense_totals WHERE {where}
        )
        SELECT coalesce(r.period_id, t.period_id),
               coalesce(r.payment_type, t.payment_type) || ' pooled=' ||
                   coalesce(r.pooled, t.pooled)::text,
               coalesce(r.amount_minor, 0), coalesce(t.amount_minor, 0),
               coalesce(r.expenses, 0), coalesce(t.expenses, 0)
        FROM r FULL JOIN t ON t.period_id = r.period_id AND t.payment_type = r.payment_type
                          AND t.pooled = r.pooled
        WHERE coalesce(r.amount_minor, 0) <> coalesce(t.amount_minor, 0)
           OR coalesce(r.expenses, 0) <> coalesce(t.expenses, 0)
        ORDER BY 1, 2
    """


def check_totals(
    session: Session, *, community_id: int | None = None, period_id: int | None = None
) -> list[Drift]:
    """Every difference between the maintained totals and the rows (of one period, one
    community, or the whole database); each one is logged and counted."""
    global DRIFTS
    if period_id is not None:
        where, params = "period_id = :p", {"p": period_id}
    elif community_id is not None:
        where, params = "community_id = :c", {"c": community_id}
    else:
        where, params = "true", {}
    drifts: list[Drift] = []
    for period, owner_pk, *pairs in session.execute(text(_ledger_sql(where)), params):
        for i, column in enumerate(_COLUMNS):
            rows, totals = int(pairs[2 * i]), int(pairs[2 * i + 1])
            if rows != totals:
                drifts.append(
                    Drift("owner_period_totals", period, str(owner_pk), column, rows, totals)
                )
    for period, key, amount_r, amount_t, n_r, n_t in session.execute(
        text(_expense_sql(where)), params
    ):
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
