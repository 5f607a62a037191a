from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from typing import Any, Protocol

from sqlalchemy import CheckConstraint, DateTime, ForeignKey, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from kopilka.models.base import Base, created_at_column


class Period(Base):
    """An accounting period: OPEN -> CLOSING -> CLOSED, reopenable. No overlaps (exclusion)."""

    __tablename__ = "periods"
    __table_args__ = (
        UniqueConstraint("community_id", "name"),
        CheckConstraint("start_date < end_date", name="dates_ordered"),
        CheckConstraint("status IN ('OPEN','CLOSING','CLOSED')", name="status_known"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    community_id: Mapped[int] = mapped_column(ForeignKey("communities.id"))
    name: Mapped[str]
    description: Mapped[str | None]
    start_date: Mapped[date]
    end_date: Mapped[date]
    status: Mapped[str] = mapped_column(default="OPEN")
    closed_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    # When the period was first CLOSED (by a person or by rollover); kept through reopening.
    # Rollover closes only periods never closed before (SPEC §4: a period a person reopened is
    # closed again only by a person).
    first_closed_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    closing_summary: Mapped[dict[str, Any] | None]
    created_at: Mapped[datetime] = created_at_column()
    version: Mapped[int] = mapped_column(default=1)


class PeriodFacts(Protocol):
    """What a write checks and books against of its period: a ``Period``, or the ``PeriodRow``
    that the hot path of a recorded payment reads without the ORM."""

    @property
    def id(self) -> int: ...
    @property
    def community_id(self) -> int: ...
    @property
    def name(self) -> str: ...
    @property
    def status(self) -> str: ...
    @property
    def start_date(self) -> date: ...
    @property
    def end_date(self) -> date: ...


@dataclass(frozen=True, slots=True)
class PeriodRow:
    """A period's ``PeriodFacts`` as one statement read them (not an ORM object)."""

    id: int
    community_id: int
    name: str
    status: str
    start_date: date
    end_date: date


class PeriodBalance(Base):
    """An owner's closing balance of a CLOSED period, as the close stored it."""

    __tablename__ = "period_balances"

    period_id: Mapped[int] = mapped_column(ForeignKey("periods.id"), primary_key=True)
    owner_pk: Mapped[int] = mapped_column(ForeignKey("owners.id"), primary_key=True)
    opening_balance: Mapped[int]
    total_contributions: Mapped[int]
    total_paid_expenses: Mapped[int]
    total_allocated: Mapped[int]
    total_service_charges: Mapped[int]
    net_settlements: Mapped[int]
    balance: Mapped[int]


class Allocation(Base):
    """An owner's final share of one allocation pool (a payment type or an expense)."""

    __tablename__ = "allocations"

    id: Mapped[int] = mapped_column(primary_key=True)
    period_id: Mapped[int] = mapped_column(ForeignKey("periods.id"), index=True)
    owner_pk: Mapped[int] = mapped_column(ForeignKey("owners.id"))
    pool: Mapped[str]
    strategy: Mapped[str]
    amount_minor: Mapped[int]


class CarryForward(Base):
    """A closed period's balances moved into the next one; one target per source."""

    __tablename__ = "carry_forwards"
    __table_args__ = (UniqueConstraint("from_period_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    community_id: Mapped[int] = mapped_column(ForeignKey("communities.id"))
    from_period_id: Mapped[int] = mapped_column(ForeignKey("periods.id"))
    to_period_id: Mapped[int] = mapped_column(ForeignKey("periods.id"), index=True)
    created_at: Mapped[datetime] = created_at_column()
    updated_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
