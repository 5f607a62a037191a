"""Plots, their owners, their meters and the meters' readings (SPEC §3a)."""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import CheckConstraint, DateTime, ForeignKey, Index, Numeric, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from kopilka.models.base import Base, created_at_column

#: Meter values: up to 12 integer digits and 4 decimals, exact.
METER_VALUE = Numeric(20, 4)


class Plot(Base):
    """A unit of the community (a land plot, an apartment)."""

    __tablename__ = "plots"
    __table_args__ = (
        UniqueConstraint("community_id", "number"),
        CheckConstraint("area > 0", name="area_positive"),
        CheckConstraint("weight > 0", name="weight_positive"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    community_id: Mapped[int] = mapped_column(ForeignKey("communities.id"))
    number: Mapped[str]
    area: Mapped[Decimal] = mapped_column(Numeric(20, 6))
    weight: Mapped[Decimal] = mapped_column(Numeric(20, 6))
    is_active: Mapped[bool] = mapped_column(default=True)
    created_at: Mapped[datetime] = created_at_column()
    updated_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    version: Mapped[int] = mapped_column(default=1)


class PlotOwner(Base):
    """An owner's fraction of a plot, exact: ``fraction_num / fraction_den``."""

    __tablename__ = "plot_owners"
    __table_args__ = (
        CheckConstraint("fraction_num > 0 AND fraction_den > 0", name="fraction_positive"),
        CheckConstraint("fraction_num <= fraction_den", name="fraction_at_most_one"),
        Index("ix_plot_owners_owner", "owner_pk"),
    )

    plot_id: Mapped[int] = mapped_column(ForeignKey("plots.id"), primary_key=True)
    owner_pk: Mapped[int] = mapped_column(ForeignKey("owners.id"), primary_key=True)
    fraction_num: Mapped[int]
    fraction_den: Mapped[int]


class Meter(Base):
    """A meter on a plot: its type, serial, 1-3 zones and initial values per zone."""

    __tablename__ = "meters"
    __table_args__ = (
        CheckConstraint("zones BETWEEN 1 AND 3", name="zones_known"),
        Index("ix_meters_plot", "plot_id"),
        Index("ix_meters_community_type", "community_id", "meter_type"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    community_id: Mapped[int] = mapped_column(ForeignKey("communities.id"))
    plot_id: Mapped[int] = mapped_column(ForeignKey("plots.id"))
    meter_type: Mapped[str]
    serial: Mapped[str]
    zones: Mapped[int]
    initial_t1: Mapped[Decimal] = mapped_column(METER_VALUE, default=Decimal(0))
    initial_t2: Mapped[Decimal | None] = mapped_column(METER_VALUE)
    initial_t3: Mapped[Decimal | None] = mapped_column(METER_VALUE)
    is_active: Mapped[bool] = mapped_column(default=True)
    created_at: Mapped[datetime] = created_at_column()
    updated_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    version: Mapped[int] = mapped_column(default=1)


class Reading(Base):
    """A meter's values per zone on a date; one per meter per period (a second replaces it)."""

    __tablename__ = "readings"
    __table_args__ = (
        UniqueConstraint("meter_id", "period_id"),
        Index("ix_readings_meter_date", "meter_id", "reading_date"),
        Index("ix_readings_period", "period_id"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    community_id: Mapped[int] = mapped_column(ForeignKey("communities.id"))
    meter_id: Mapped[int] = mapped_column(ForeignKey("meters.id"))
    period_id: Mapped[int] = mapped_column(ForeignKey("periods.id"))
    reading_date: Mapped[date]
    value_t1: Mapped[Decimal] = mapped_column(METER_VALUE)
    value_t2: Mapped[Decimal | None] = mapped_column(METER_VALUE)
    value_t3: Mapped[Decimal | None] = mapped_column(METER_VALUE)
    estimated: Mapped[bool] = mapped_column(default=False)
    replacement: Mapped[bool] = mapped_column(default=False)
    created_by: Mapped[str]
    created_at: Mapped[datetime] = created_at_column()
    updated_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    version: Mapped[int] = mapped_column(default=1)


class ConsumptionCharge(Base):
    """What a close stored of an owner's TARIFF item: consumption, tariff charge, loss share."""

    __tablename__ = "consumption_charges"

    period_id: Mapped[int] = mapped_column(ForeignKey("periods.id"), primary_key=True)
    owner_pk: Mapped[int] = mapped_column(ForeignKey("owners.id"), primary_key=True)
    pool: Mapped[str] = mapped_column(primary_key=True)
    meter_type: Mapped[str]
    consumption: Mapped[dict[str, Any]]  # {"T1": "120", "T2": "40"} exact decimal strings
    tariff_minor: Mapped[int]
    loss_minor: Mapped[int]
    estimated: Mapped[bool] = mapped_column(default=False)
