from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal
from typing import Any

from pydantic import AliasChoices, BaseModel, Field

from kopilka.inputs import StrictInput
from kopilka.money import AmountIn

OwnerRef = Field(validation_alias=AliasChoices("owner_id", "user_id"))
DateIn = date | datetime | None


class _In(StrictInput):
    """A request body (strict: see kopilka.inputs)."""


class ContributionCreate(_In):
    owner_id: int = Field(validation_alias=AliasChoices("owner_id", "user_id"))
    amount: AmountIn
    date: DateIn = None
    comment: str | None = Field(default=None, max_length=2000)


class ContributionPatch(_In):
    owner_id: int | None = Field(default=None, validation_alias=AliasChoices("owner_id", "user_id"))
    amount: AmountIn | None = None
    date: DateIn = None
    comment: str | None = Field(default=None, max_length=2000)


class ContributionOut(BaseModel):
    id: int
    period_id: int
    owner_id: int
    amount: str
    date: date
    comment: str | None
    is_opening: bool
    created_at: datetime
    version: int


class ExpenseCreate(_In):
    paid_by_owner_id: int | None = Field(
        default=None, validation_alias=AliasChoices("paid_by_owner_id", "paid_by_user_id")
    )
    amount: AmountIn
    payment_type: str = Field(min_length=1, max_length=100)
    vendor: str | None = Field(default=None, max_length=200)
    description: str | None = Field(default=None, max_length=2000)
    date: DateIn = None
    split: dict[str, Any] | None = None


class ExpensePatch(_In):
    paid_by_owner_id: int | None = Field(
        default=None, validation_alias=AliasChoices("paid_by_owner_id", "paid_by_user_id")
    )
    amount: AmountIn | None = None
    payment_type: str | None = Field(default=None, min_length=1, max_length=100)
    vendor: str | None = Field(default=None, max_length=200)
    description: str | None = Field(default=None, max_length=2000)
    date: DateIn = None
    split: dict[str, Any] | None = None


class ExpenseOut(BaseModel):
    id: int
    period_id: int
    paid_by_owner_id: int | None
    amount: str
    payment_type: str
    vendor: str | None
    description: str | None
    date: date
    split: dict[str, Any] | None
    created_at: datetime
    version: int


class ChargeCreate(_In):
    owner_id: int = Field(validation_alias=AliasChoices("owner_id", "user_id"))
    amount: AmountIn
    description: str | None = Field(default=None, max_length=2000)
    date: DateIn = None


class ChargePatch(_In):
    owner_id: int | None = Field(default=None, validation_alias=AliasChoices("owner_id", "user_id"))
    amount: AmountIn | None = None
    description: str | None = Field(default=None, max_length=2000)
    date: DateIn = None


class ChargeOut(BaseModel):
    id: int
    period_id: int
    owner_id: int
    amount: str
    description: str | None
    date: date
    is_opening: bool
    recurring_template_id: int | None
    created_at: datetime
    version: int


class MeterReadingCreate(_In):
    owner_id: int = Field(validation_alias=AliasChoices("owner_id", "user_id"))
    meter_type: str = Field(min_length=1, max_length=50)
    start_reading: Decimal = Field(ge=0, max_digits=20, decimal_places=4)
    end_reading: Decimal = Field(ge=0, max_digits=20, decimal_places=4)
    date: DateIn = None


class MeterReadingPatch(_In):
    meter_type: str | None = Field(default=None, min_length=1, max_length=50)
    start_reading: Decimal | None = Field(default=None, ge=0, max_digits=20, decimal_places=4)
    end_reading: Decimal | None = Field(default=None, ge=0, max_digits=20, decimal_places=4)
    date: DateIn = None


class MeterReadingOut(BaseModel):
    id: int
    period_id: int
    owner_id: int
    meter_type: str
    start_reading: str
    end_reading: str
    consumption: str
    date: date
    created_at: datetime
    version: int


class BudgetItemCreate(_In):
    payment_type: str = Field(min_length=1, max_length=100)
    budgeted_amount: AmountIn
    allocation_strategy: str = "PROPORTIONAL"
    meter_type: str | None = Field(default=None, max_length=50)
    description: str | None = Field(default=None, max_length=2000)
    tariffs: dict[str, Any] | None = Field(
        default=None, description='TARIFF: price per unit per zone, {"T1": "5.12", "T2": "2.48"}'
    )
    loss_strategy: str | None = Field(
        default=None, description="TARIFF: PROPORTIONAL (default), FIXED_FEE or USAGE_BASED"
    )


class BudgetItemPatch(_In):
    payment_type: str | None = Field(default=None, min_length=1, max_length=100)
    budgeted_amount: AmountIn | None = None
    allocation_strategy: str | None = None
    meter_type: str | None = Field(default=None, max_length=50)
    description: str | None = Field(default=None, max_length=2000)
    tariffs: dict[str, Any] | None = None
    loss_strategy: str | None = None


class BudgetItemOut(BaseModel):
    id: int
    period_id: int
    payment_type: str
    budgeted_amount: str
    allocation_strategy: str
    meter_type: str | None
    description: str | None
    actual_amount: str
    variance: str
    version: int
    tariffs: dict[str, str] | None = None
    loss_strategy: str | None = None


class SettlementCreate(_In):
    from_owner_id: int
    to_owner_id: int
    amount: AmountIn
    date: DateIn = None
    comment: str | None = Field(default=None, max_length=2000)


class SettlementPatch(_In):
    from_owner_id: int | None = None
    to_owner_id: int | None = None
    amount: AmountIn | None = None
    date: DateIn = None
    comment: str | None = Field(default=None, max_length=2000)


class SettlementOut(BaseModel):
    id: int
    period_id: int
    from_owner_id: int
    to_owner_id: int
    amount: str
    date: date
    comment: str | None
    created_at: datetime
    version: int


# ---------------------------------------------------------------- one expense's shares (§3b)


class ExpenseShareOut(BaseModel):
    owner_id: int
    amount: str  # the owner's share of the expense
    paid: str  # settled to the payer so far (the payer's own share counts as paid)
    remaining: str
    status: str  # UNPAID / PARTIALLY_PAID / PAID


class ExpenseDetailOut(ExpenseOut):
    shares: list[ExpenseShareOut]
    # why the expense has no shares (NONE, or its pool could not be allocated), else None
    unallocated_reason: str | None = None


class ShareSettle(_In):
    amount: AmountIn
    date: DateIn = None
    comment: str | None = Field(default=None, max_length=2000)


class ShareSettledOut(BaseModel):
    settlement: SettlementOut
    share: ExpenseShareOut
