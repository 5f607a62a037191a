from __future__ import annotations

from datetime import date, datetime
from typing import Any, Literal

from pydantic import AliasChoices, BaseModel, Field, field_validator

from kopilka.inputs import StrictInput
from kopilka.money import AmountIn

Basis = Literal["PER_OWNER", "PER_SHARE_WEIGHT"]


def _basis(value: object) -> object:
    return value.strip().upper() if isinstance(value, str) else value


class RecurringChargeCreate(StrictInput):
    description: str = Field(min_length=1, max_length=2000)
    amount: AmountIn = Field(
        description="per owner, or per unit of share weight (PER_SHARE_WEIGHT)"
    )
    basis: Basis = "PER_OWNER"
    day_of_month: int = Field(default=1, ge=1, le=28)
    start_date: date | None = Field(default=None, description="default: today")
    end_date: date | None = None

    _upper = field_validator("basis", mode="before")(_basis)


class RecurringChargePatch(StrictInput):
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


# ---------------------------------------------------------------- recurring expenses (§3b)


class RecurringExpenseCreate(StrictInput):
    amount: AmountIn
    payment_type: str = Field(min_length=1, max_length=100)
    vendor: str | None = Field(default=None, max_length=200)
    description: str | None = Field(default=None, max_length=2000)
    paid_by_owner_id: int | None = Field(
        default=None,
        strict=True,
        validation_alias=AliasChoices("paid_by_owner_id", "paid_by_user_id"),
        description="the owner who pays the bill from their own pocket; none: the fund",
    )
    split: dict[str, Any] | None = None
    day_of_month: int = Field(default=1, ge=1, le=28, strict=True)
    start_date: date | None = Field(default=None, description="default: today")
    end_date: date | None = None
    max_occurrences: int | None = Field(default=None, ge=1, le=10_000, strict=True)


class RecurringExpensePatch(StrictInput):
    amount: AmountIn | None = None
    payment_type: str | None = Field(default=None, min_length=1, max_length=100)
    vendor: str | None = Field(default=None, max_length=200)
    description: str | None = Field(default=None, max_length=2000)
    paid_by_owner_id: int | None = Field(
        default=None,
        strict=True,
        validation_alias=AliasChoices("paid_by_owner_id", "paid_by_user_id"),
    )
    split: dict[str, Any] | None = None
    day_of_month: int | None = Field(default=None, ge=1, le=28, strict=True)
    start_date: date | None = None
    end_date: date | None = None
    max_occurrences: int | None = Field(default=None, ge=1, le=10_000, strict=True)
    active: bool | None = None


class RecurringExpenseOut(BaseModel):
    id: int
    amount: str
    payment_type: str
    vendor: str | None
    description: str | None
    paid_by_owner_id: int | None
    split: dict[str, Any] | None
    day_of_month: int
    start_date: date
    end_date: date | None
    max_occurrences: int | None
    occurrences: int  # periods it generated its expense into
    occurrences_left: int | None  # None: no max_occurrences
    active: bool
    created_by: str
    created_at: datetime
    version: int
