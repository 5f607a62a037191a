from __future__ import annotations

from datetime import date, datetime

from pydantic import BaseModel, Field

from kopilka.inputs import StrictInput


class PeriodCreate(StrictInput):
    name: str = Field(min_length=1, max_length=200)
    start_date: date
    end_date: date
    description: str | None = Field(default=None, max_length=2000)


class PeriodPatch(StrictInput):
    name: str | None = Field(default=None, min_length=1, max_length=200)
    description: str | None = Field(default=None, max_length=2000)


class PeriodOut(BaseModel):
    id: int
    name: str
    start_date: date
    end_date: date
    status: str
    description: str | None
    closed_at: datetime | None


class PeriodList(BaseModel):
    periods: list[PeriodOut]


class CloseRequest(StrictInput):
    """A request body (strict: see kopilka.inputs)."""


class CarryForwardRequest(StrictInput):
    from_period_id: int
    to_period_id: int
