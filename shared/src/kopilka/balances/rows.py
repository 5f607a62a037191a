"""An owner's line of a period's sheet, from their ledger sums per kind (or what the close
stored) and their allocated share."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from kopilka.models import LedgerEntry, PeriodBalance

CREDIT_KINDS = ("CONTRIBUTION", "OPENING_CREDIT", "EXPENSE_PAID", "SETTLEMENT_PAID")
DEBIT_KINDS = ("SERVICE_CHARGE", "OPENING_DEBT", "SETTLEMENT_RECEIVED")
LEDGER_KINDS = CREDIT_KINDS + DEBIT_KINDS


@dataclass
class OwnerRow:
    owner_pk: int
    owner_id: int
    name: str | None
    opening_balance: int = 0
    contributions: int = 0
    paid_expenses: int = 0
    allocated: int = 0
    service_charges: int = 0
    net_settlements: int = 0
    opening_debt: int = 0  # inside service_charges; not invoiced again

    @property
    def balance(self) -> int:
        return (
            self.contributions
            + self.paid_expenses
            + self.net_settlements
            - self.allocated
            - self.service_charges
        )


def ledger_sums(session: Session, period_id: int) -> dict[int, dict[str, int]]:
    """Per owner, the sum of each ledger kind: one row per owner (pivoted in SQL)."""
    columns = [
        func.coalesce(func.sum(LedgerEntry.amount_minor).filter(LedgerEntry.kind == kind), 0)
        for kind in LEDGER_KINDS
    ]
    rows = session.execute(
        select(LedgerEntry.owner_pk, *columns)
        .where(LedgerEntry.period_id == period_id)
        .group_by(LedgerEntry.owner_pk)
    ).all()
    out: dict[int, dict[str, int]] = {}
    for pk, *totals in rows:
        out[pk] = {kind: int(v) for kind, v in zip(LEDGER_KINDS, totals, strict=True) if v}
    return out


#: ledger kind -> column of owner_period_totals
TOTAL_COLUMNS = {
    "CONTRIBUTION": "contributions",
    "OPENING_CREDIT": "opening_credit",
    "EXPENSE_PAID": "paid_expenses",
    "SERVICE_CHARGE": "service_charges",
    "OPENING_DEBT": "opening_debt",
    "SETTLEMENT_PAID": "settlements_paid",
    "SETTLEMENT_RECEIVED": "settlements_received",
}


def kinds(totals: Any) -> dict[str, int]:
    return {k: int(v) for k, v in zip(TOTAL_COLUMNS, totals, strict=True) if v}


def row_from_sums(
    pk: int, oid: int, name: str | None, k: dict[str, int], allocated: int
) -> OwnerRow:
    """An owner's line from their ledger sums per kind and their allocated share."""
    return OwnerRow(
        owner_pk=pk,
        owner_id=oid,
        name=name,
        opening_balance=k.get("OPENING_CREDIT", 0) - k.get("OPENING_DEBT", 0),
        contributions=k.get("CONTRIBUTION", 0) + k.get("OPENING_CREDIT", 0),
        paid_expenses=k.get("EXPENSE_PAID", 0),
        allocated=allocated,
        service_charges=k.get("SERVICE_CHARGE", 0) + k.get("OPENING_DEBT", 0),
        net_settlements=k.get("SETTLEMENT_PAID", 0) - k.get("SETTLEMENT_RECEIVED", 0),
        opening_debt=k.get("OPENING_DEBT", 0),
    )


def row_from_stored(b: PeriodBalance, owner_id: int, name: str | None) -> OwnerRow:
    """An owner's line as the close stored it (``period_balances``)."""
    return OwnerRow(
        owner_pk=b.owner_pk,
        owner_id=owner_id,
        name=name,
        opening_balance=b.opening_balance,
        contributions=b.total_contributions,
        paid_expenses=b.total_paid_expenses,
        allocated=b.total_allocated,
        service_charges=b.total_service_charges,
        net_settlements=b.net_settlements,
    )
