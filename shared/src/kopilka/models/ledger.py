"""Money documents and the append-only ledger they post to.

A document (contribution, expense, charge, settlement) keeps a stable id and its current state;
every change of money posts to ``ledger_entries``: a new entry, or a reversal (negative) plus a
new entry on edit, a reversal on delete. Balances are sums over the ledger.
"""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import CheckConstraint, ForeignKey, Index, Numeric, text
from sqlalchemy.orm import Mapped, mapped_column

from kopilka.models.base import Base, DocumentMixin, created_at_column


class Contribution(DocumentMixin, Base):
    __tablename__ = "contributions"
    __table_args__ = (
        CheckConstraint("amount_minor > 0", name="amount_positive"),
        Index("ix_contributions_period_owner", "period_id", "owner_pk"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    community_id: Mapped[int] = mapped_column(ForeignKey("communities.id"))
    period_id: Mapped[int] = mapped_column(ForeignKey("periods.id"))
    owner_pk: Mapped[int] = mapped_column(ForeignKey("owners.id"))
    amount_minor: Mapped[int]
    date: Mapped[date]
    comment: Mapped[str | None]
    opening_from_period_id: Mapped[int | None] = mapped_column(ForeignKey("periods.id"))
    bank_line_id: Mapped[int | None]  # booked from a bank statement line (at most once)


class Expense(DocumentMixin, Base):
    __tablename__ = "expenses"
    __table_args__ = (
        CheckConstraint("amount_minor > 0", name="amount_positive"),
        Index("ix_expenses_period", "period_id"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    community_id: Mapped[int] = mapped_column(ForeignKey("communities.id"))
    period_id: Mapped[int] = mapped_column(ForeignKey("periods.id"))
    paid_by_owner_pk: Mapped[int | None] = mapped_column(ForeignKey("owners.id"))
    amount_minor: Mapped[int]
    payment_type: Mapped[str]
    vendor: Mapped[str | None]
    description: Mapped[str | None]
    date: Mapped[date]
    split: Mapped[dict[str, Any] | None]
    bank_line_id: Mapped[int | None]  # paid by the fund, read from a bank statement line


class ServiceCharge(DocumentMixin, Base):
    __tablename__ = "service_charges"
    __table_args__ = (
        CheckConstraint("amount_minor > 0", name="amount_positive"),
        Index("ix_service_charges_period_owner", "period_id", "owner_pk"),
        Index(
            "uq_service_charges_recurring_once",
            "recurring_template_id",
            "period_id",
            "owner_pk",
            unique=True,
            postgresql_where=text("recurring_template_id IS NOT NULL AND deleted_at IS NULL"),
        ),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    community_id: Mapped[int] = mapped_column(ForeignKey("communities.id"))
    period_id: Mapped[int] = mapped_column(ForeignKey("periods.id"))
    owner_pk: Mapped[int] = mapped_column(ForeignKey("owners.id"))
    amount_minor: Mapped[int]
    description: Mapped[str | None]
    date: Mapped[date]
    opening_from_period_id: Mapped[int | None] = mapped_column(ForeignKey("periods.id"))
    recurring_template_id: Mapped[int | None]


class Settlement(DocumentMixin, Base):
    """A transfer between two owners: the payer's balance goes up, the payee's down."""

    __tablename__ = "settlements"
    __table_args__ = (
        CheckConstraint("amount_minor > 0", name="amount_positive"),
        CheckConstraint("from_owner_pk <> to_owner_pk", name="two_owners"),
        Index("ix_settlements_period", "period_id"),
        Index(
            "ix_settlements_settles_expense",
            "settles_expense_id",
            "from_owner_pk",
            postgresql_where=text("settles_expense_id IS NOT NULL"),
        ),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    community_id: Mapped[int] = mapped_column(ForeignKey("communities.id"))
    period_id: Mapped[int] = mapped_column(ForeignKey("periods.id"))
    from_owner_pk: Mapped[int] = mapped_column(ForeignKey("owners.id"))
    to_owner_pk: Mapped[int] = mapped_column(ForeignKey("owners.id"))
    amount_minor: Mapped[int]
    date: Mapped[date]
    comment: Mapped[str | None]
    # Settles the payer's share of this expense (SPEC §3b, "settling one share"), else None.
    settles_expense_id: Mapped[int | None] = mapped_column(ForeignKey("expenses.id"))


class MeterReading(DocumentMixin, Base):
    __tablename__ = "meter_readings"
    __table_args__ = (
        CheckConstraint("end_reading >= start_reading", name="end_not_below_start"),
        Index("ix_meter_readings_period", "period_id"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    community_id: Mapped[int] = mapped_column(ForeignKey("communities.id"))
    period_id: Mapped[int] = mapped_column(ForeignKey("periods.id"))
    owner_pk: Mapped[int] = mapped_column(ForeignKey("owners.id"))
    meter_type: Mapped[str]
    start_reading: Mapped[Decimal] = mapped_column(Numeric(20, 4))
    end_reading: Mapped[Decimal] = mapped_column(Numeric(20, 4))
    date: Mapped[date]


class BudgetItem(DocumentMixin, Base):
    __tablename__ = "budget_items"
    __table_args__ = (
        CheckConstraint("budgeted_amount_minor >= 0", name="amount_not_negative"),
        Index(
            "uq_budget_items_period_type",
            "period_id",
            text("lower(payment_type)"),
            unique=True,
            postgresql_where=text("deleted_at IS NULL"),
        ),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    community_id: Mapped[int] = mapped_column(ForeignKey("communities.id"))
    period_id: Mapped[int] = mapped_column(ForeignKey("periods.id"))
    payment_type: Mapped[str]
    budgeted_amount_minor: Mapped[int]
    allocation_strategy: Mapped[str]
    meter_type: Mapped[str | None]
    description: Mapped[str | None]
    #: TARIFF: price per unit per zone, ``{"T1": "5.12", "T2": "2.48"}`` (exact decimal strings)
    tariffs: Mapped[dict[str, Any] | None]
    #: TARIFF: how the loss (bill - tariff charges) is shared; None = PROPORTIONAL
    loss_strategy: Mapped[str | None]


class LedgerEntry(Base):
    """Append-only posting of money to an owner in a period. Never updated, never deleted."""

    __tablename__ = "ledger_entries"
    __table_args__ = (
        Index(
            "ix_ledger_entries_period_cover",
            "period_id",
            "owner_pk",
            "kind",
            postgresql_include=["amount_minor"],
        ),
        Index("ix_ledger_entries_source", "source_type", "source_id"),
        CheckConstraint(
            "kind IN ('CONTRIBUTION','OPENING_CREDIT','EXPENSE_PAID','SERVICE_CHARGE',"
            "'OPENING_DEBT','SETTLEMENT_PAID','SETTLEMENT_RECEIVED')",
            name="kind_known",
        ),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    community_id: Mapped[int] = mapped_column(ForeignKey("communities.id"))
    period_id: Mapped[int] = mapped_column(ForeignKey("periods.id"))
    owner_pk: Mapped[int] = mapped_column(ForeignKey("owners.id"))
    kind: Mapped[str]
    amount_minor: Mapped[int]
    source_type: Mapped[str]
    source_id: Mapped[int]
    reverses_entry_id: Mapped[int | None]
    created_at: Mapped[datetime] = created_at_column()
