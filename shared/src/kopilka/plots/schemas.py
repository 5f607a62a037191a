"""Plots, meters and readings at the edge (SPEC §3a). Values are exact: decimal strings or JSON
numbers parsed as Decimal; a fraction may also be written ``"1/3"``."""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal

from pydantic import AliasChoices, BaseModel, Field, field_validator

from kopilka.inputs import StrictInput

#: a meter value: at most 12 integer digits and 4 decimals, never negative
MeterValue = Decimal


class PlotOwnerIn(StrictInput):
    owner_id: int = Field(validation_alias=AliasChoices("owner_id", "user_id"), ge=1)
    fraction: str | Decimal | int | None = Field(
        default=None, description='exact: "0.5", 0.25 or "1/3"; one owner alone may omit it'
    )

    @field_validator("fraction", mode="before")
    @classmethod
    def _exact(cls, v: object) -> object:
        if isinstance(v, (bool, float)):
            raise ValueError('an exact number such as "0.5" or "1/3" (not a boolean)')
        return v


class PlotCreate(StrictInput):
    number: str = Field(min_length=1, max_length=32, description='"17", "17а"')
    area: Decimal = Field(gt=0, le=Decimal("100000000"), decimal_places=6)
    weight: Decimal | None = Field(
        default=None, gt=0, le=Decimal("100000000"), decimal_places=6, description="default: area"
    )
    owners: list[PlotOwnerIn] = Field(default_factory=list, max_length=100)
    active: bool = True


class PlotPatch(StrictInput):
    number: str | None = Field(default=None, min_length=1, max_length=32)
    area: Decimal | None = Field(default=None, gt=0, le=Decimal("100000000"), decimal_places=6)
    weight: Decimal | None = Field(default=None, gt=0, le=Decimal("100000000"), decimal_places=6)
    owners: list[PlotOwnerIn] | None = Field(default=None, max_length=100)
    active: bool | None = None


class PlotOwnerOut(BaseModel):
    owner_id: int
    name: str | None
    fraction: str


class PlotOut(BaseModel):
    id: int
    number: str
    area: str
    weight: str
    owners: list[PlotOwnerOut]
    active: bool
    created_at: datetime
    version: int


ZoneValues = dict[str, Decimal]


class MeterCreate(StrictInput):
    meter_type: str = Field(min_length=1, max_length=32, description="ELECTRICITY, WATER, GAS…")
    serial: str = Field(min_length=1, max_length=64)
    zones: int = Field(default=1, ge=1, le=3)
    initial_readings: ZoneValues | None = Field(
        default=None, description='per zone, e.g. {"T1": "1200", "T2": "800"}; default 0'
    )
    active: bool = True


class MeterPatch(StrictInput):
    serial: str | None = Field(default=None, min_length=1, max_length=64)
    active: bool | None = None


class MeterOut(BaseModel):
    id: int
    plot_id: int
    plot_number: str
    meter_type: str
    serial: str
    zones: int
    zone_names: list[str]
    initial_readings: dict[str, str]
    active: bool
    last_reading: ReadingOut | None = None
    created_at: datetime
    version: int


class ReadingCreate(StrictInput):
    reading_date: date | None = Field(
        default=None,
        validation_alias=AliasChoices("reading_date", "date"),
        description="default: today in the community's time zone",
    )
    values: ZoneValues = Field(description='per zone: {"T1": "1350.5", "T2": "842"}')
    replacement: bool = Field(
        default=False, description="admins: the meter was replaced or rolled over"
    )
    estimated: bool = Field(default=False, description="admins: an estimate, marked as such")


class ReadingOut(BaseModel):
    id: int
    meter_id: int
    period_id: int
    reading_date: date
    values: dict[str, str]
    estimated: bool
    replacement: bool
    previous: dict[str, str] | None = None
    consumption: dict[str, str] | None = None
    created_by: str
    created_at: datetime
    version: int


MeterOut.model_rebuild()


class ReadingWindow(StrictInput):
    from_day: int = Field(ge=1, le=31)
    to_day: int = Field(ge=1, le=31)
