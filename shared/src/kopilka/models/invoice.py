from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import CheckConstraint, DateTime, ForeignKey, Index, UniqueConstraint, text
from sqlalchemy.orm import Mapped, mapped_column

from kopilka.models.base import Base, created_at_column


class Invoice(Base):
    """One owner's bill for a closed period: its allocations plus its service charges.

    What is paid is derived (the owner's payments pay invoices oldest first); only VOID is stored.
    """

    __tablename__ = "invoices"
    __table_args__ = (
        Index(
            "uq_invoices_live_per_owner",
            "period_id",
            "owner_pk",
            unique=True,
            postgresql_where=text("voided_at IS NULL"),
        ),
        Index("ix_invoices_owner", "owner_pk"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    community_id: Mapped[int] = mapped_column(ForeignKey("communities.id"))
    period_id: Mapped[int] = mapped_column(ForeignKey("periods.id"))
    owner_pk: Mapped[int] = mapped_column(ForeignKey("owners.id"))
    amount_minor: Mapped[int]
    issued_at: Mapped[datetime] = created_at_column()
    voided_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))


class RecurringChargeTemplate(Base):
    """A charge generated into each OPEN period once: per owner, or per unit of share weight."""

    __tablename__ = "recurring_charge_templates"
    __table_args__ = (
        CheckConstraint("amount_minor > 0", name="amount_positive"),
        CheckConstraint("day_of_month BETWEEN 1 AND 28", name="day_in_month"),
        CheckConstraint("basis IN ('PER_OWNER','PER_SHARE_WEIGHT')", name="basis_known"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    community_id: Mapped[int] = mapped_column(ForeignKey("communities.id"), index=True)
    description: Mapped[str]
    amount_minor: Mapped[int]
    basis: Mapped[str] = mapped_column(default="PER_OWNER")
    day_of_month: Mapped[int] = mapped_column(default=1)
    start_date: Mapped[date]
    end_date: Mapped[date | None]
    active: Mapped[bool] = mapped_column(default=True)
    created_by: Mapped[str]
    created_at: Mapped[datetime] = created_at_column()


class RecurringChargeRun(Base):
    """Marks that a template generated its charges into a period: at most once (unique)."""

    __tablename__ = "recurring_charge_runs"
    __table_args__ = (UniqueConstraint("template_id", "period_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    template_id: Mapped[int] = mapped_column(ForeignKey("recurring_charge_templates.id"))
    period_id: Mapped[int] = mapped_column(ForeignKey("periods.id"))
    charges_created: Mapped[int]
    created_at: Mapped[datetime] = created_at_column()
