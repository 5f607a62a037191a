"""Group purchases (SPEC §3b): a list each owner adds their own items to, finalized into ONE
expense with an ITEM_BASED split."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal

from sqlalchemy import CheckConstraint, DateTime, ForeignKey, Index, Numeric
from sqlalchemy.orm import Mapped, mapped_column

from kopilka.models.base import Base, created_at_column


class Purchase(Base):
    """A purchase list of a period: OPEN while owners add items, FINALIZED once its expense is
    recorded (``expense_id``, unique: finalizing twice records one expense)."""

    __tablename__ = "purchases"
    __table_args__ = (
        CheckConstraint("status IN ('OPEN','FINALIZED')", name="status_known"),
        CheckConstraint(
            "(status = 'FINALIZED') = (expense_id IS NOT NULL)", name="finalized_has_expense"
        ),
        Index("ix_purchases_period", "period_id"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    community_id: Mapped[int] = mapped_column(ForeignKey("communities.id"))
    period_id: Mapped[int] = mapped_column(ForeignKey("periods.id"))
    title: Mapped[str]
    description: Mapped[str | None]
    deadline: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    status: Mapped[str] = mapped_column(default="OPEN")
    expense_id: Mapped[int | None] = mapped_column(ForeignKey("expenses.id"), unique=True)
    finalized_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    finalized_by: Mapped[str | None]
    created_by: Mapped[str]
    created_at: Mapped[datetime] = created_at_column()
    updated_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    version: Mapped[int] = mapped_column(default=1)


class PurchaseItem(Base):
    """One line of a purchase list: ``owner_pk`` None is an item for everyone (shared equally
    among the owners who ordered, like the delivery)."""

    __tablename__ = "purchase_items"
    __table_args__ = (
        CheckConstraint("price >= 0", name="price_not_negative"),
        CheckConstraint("quantity > 0", name="quantity_positive"),
        CheckConstraint("cost_minor >= 0", name="cost_not_negative"),
        Index("ix_purchase_items_purchase", "purchase_id", "id"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    community_id: Mapped[int] = mapped_column(ForeignKey("communities.id"))
    purchase_id: Mapped[int] = mapped_column(ForeignKey("purchases.id"))
    owner_pk: Mapped[int | None] = mapped_column(ForeignKey("owners.id"))
    description: Mapped[str | None]
    price: Mapped[Decimal] = mapped_column(Numeric(26, 6))
    quantity: Mapped[Decimal] = mapped_column(Numeric(26, 6))
    cost_minor: Mapped[int]  # price x quantity, half-up to the minor unit
    created_by: Mapped[str]
    created_at: Mapped[datetime] = created_at_column()
    updated_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    version: Mapped[int] = mapped_column(default=1)
