from __future__ import annotations

from datetime import date, datetime
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator

from kopilka.money import AmountIn

Basis = Literal["PER_OWNER", "PER_SHARE_WEIGHT"]


def _basis(value: object) -> object:
    return value.strip().upper() if isinstance(value, str) else value


class RecurringChargeCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    description: str = Field(min_length=1, max_length=2000)
    amount: AmountIn = Field(
        description="per owner, or per unit of share weight (PER_SHARE_WEIGHT)"
    )
    basis: Basis = "PER_OWNER"
    day_of_month: int = Field(default=1, ge=1, le=28)
    start_date: date | None = Field(default=None, description="default: today")
    end_date: date | None = None

    _upper = field_validator("basis", mode="before")(_basis)


class RecurringChargePatch(BaseModel):
    model_config = ConfigDict(extra="forbid")

    description: str | None = Field(default=None, min_length=1, max_length=2000)
    amount: AmountIn | None = None
    basis: Basis | None = None
    day_of_month: int | None = Field(default=None, ge=1, le=28)
    start_date: date | None = None
    end_date: date | None = None
    active: bool | None = None

    _upper = field_validator("basis", mode="before")(_basis)


class RecurringChargeOut(BaseModel):
    id: int
    description: str
    amount: str
    basis: Basis
    day_of_month: int
    start_date: date
    end_date: date | None
    active: bool
    created_by: str
    created_at: datetime
    periods_generated: int
