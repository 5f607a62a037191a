"""Recurring expenses (SPEC §3b): a template that generates its expense into each OPEN period
once, like recurring charges, for at most ``max_occurrences`` periods or until ``end_date``."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from sqlalchemy import CheckConstraint, ForeignKey, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from kopilka.models.base import Base, created_at_column


class RecurringExpenseTemplate(Base):
    __tablename__ = "recurring_expense_templates"
    __table_args__ = (
        CheckConstraint("amount_minor > 0", name="amount_positive"),
        CheckConstraint("day_of_month BETWEEN 1 AND 28", name="day_in_month"),
        CheckConstraint("max_occurrences IS NULL OR max_occurrences > 0", name="max_positive"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    community_id: Mapped[int] = mapped_column(ForeignKey("communities.id"), index=True)
    amount_minor: Mapped[int]
    payment_type: Mapped[str]
    vendor: Mapped[str | None]
    description: Mapped[str | None]
    paid_by_owner_pk: Mapped[int | None] = mapped_column(ForeignKey("owners.id"))
    split: Mapped[dict[str, Any] | None]
    day_of_month: Mapped[int] = mapped_column(default=1)
    start_date: Mapped[date]
    end_date: Mapped[date | None]
    max_occurrences: Mapped[int | None]
    active: Mapped[bool] = mapped_column(default=True)
    created_by: Mapped[str]
    created_at: Mapped[datetime] = created_at_column()
    version: Mapped[int] = mapped_column(default=1)


class RecurringExpenseRun(Base):
    """Marks that a template generated its expense into a period: at most once (unique)."""

    __tablename__ = "recurring_expense_runs"
    __table_args__ = (UniqueConstraint("template_id", "period_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    template_id: Mapped[int] = mapped_column(ForeignKey("recurring_expense_templates.id"))
    period_id: Mapped[int] = mapped_column(ForeignKey("periods.id"))
    expense_id: Mapped[int | None] = mapped_column(ForeignKey("expenses.id"))
    created_at: Mapped[datetime] = created_at_column()
