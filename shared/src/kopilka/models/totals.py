"""Maintained totals: what the balance sheet of an OPEN period reads instead of the rows.

Both tables are written ONLY by PostgreSQL triggers (migration 0007), in the same statement as
the rows they sum: ``owner_period_totals`` by every insert into ``ledger_entries`` (whoever
writes it: the posting machinery, the carry-forward, the recurring charges' sweep, a bulk load),
``period_expense_totals`` by every write of ``expenses``. Python never writes them;
``kopilka.balances.reconcile`` proves they equal the rows (a drift is an alarm, never repaired).
"""

from __future__ import annotations

from sqlalchemy import ForeignKey
from sqlalchemy.orm import Mapped, mapped_column

from kopilka.models.base import Base


class OwnerPeriodTotal(Base):
    """One owner's ledger sums in one period, per kind of entry, and the number of entries."""

    __tablename__ = "owner_period_totals"

    period_id: Mapped[int] = mapped_column(ForeignKey("periods.id"), primary_key=True)
    owner_pk: Mapped[int] = mapped_column(ForeignKey("owners.id"), primary_key=True)
    community_id: Mapped[int] = mapped_column(ForeignKey("communities.id"))
    contributions: Mapped[int] = mapped_column(default=0)
    opening_credit: Mapped[int] = mapped_column(default=0)
    paid_expenses: Mapped[int] = mapped_column(default=0)
    service_charges: Mapped[int] = mapped_column(default=0)
    opening_debt: Mapped[int] = mapped_column(default=0)
    settlements_paid: Mapped[int] = mapped_column(default=0)
    settlements_received: Mapped[int] = mapped_column(default=0)
    entries: Mapped[int] = mapped_column(default=0)


class PeriodExpenseTotal(Base):
    """The live (not deleted) expenses of a period per exact payment type, pooled (no split of
    their own) or split: their sum and count. The pools of the allocation are these rows grouped
    by lower(payment_type)."""

    __tablename__ = "period_expense_totals"

    period_id: Mapped[int] = mapped_column(ForeignKey("periods.id"), primary_key=True)
    payment_type: Mapped[str] = mapped_column(primary_key=True)
    pooled: Mapped[bool] = mapped_column(primary_key=True)
    community_id: Mapped[int] = mapped_column(ForeignKey("communities.id"))
    amount_minor: Mapped[int] = mapped_column(default=0)
    expenses: Mapped[int] = mapped_column(default=0)


class AllocationVersion(Base):
    """A community's allocation inputs (expenses, budget items, meter readings, owners' weights
    and activity, the default strategy) change only with a new version: triggers bump it in the
    transaction of every such write, so a computed allocation is reused while it is current."""

    __tablename__ = "allocation_versions"

    community_id: Mapped[int] = mapped_column(ForeignKey("communities.id"), primary_key=True)
    version: Mapped[int]
