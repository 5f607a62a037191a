from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal

from pydantic import AliasChoices, BaseModel, Field, field_validator

from kopilka.inputs import StrictInput
from kopilka.ledger.schemas import ExpenseOut
from kopilka.money import AmountIn


class _In(StrictInput):
    """A request body (strict: see kopilka.inputs)."""


def _day_or_moment(value: object) -> object:
    """ "2025-11-20" is a day (orders until its end), not midnight at its start."""
    if isinstance(value, str) and len(value.strip()) == 10:
        try:
            return date.fromisoformat(value.strip())
        except ValueError:
            return value
    return value


class PurchaseCreate(_In):
    title: str = Field(min_length=1, max_length=200)
    description: str | None = Field(default=None, max_length=2000)
    # A date is the end of that day in the community's time zone.
    deadline: date | datetime

    _deadline = field_validator("deadline", mode="before")(_day_or_moment)


class PurchasePatch(_In):
    title: str | None = Field(default=None, min_length=1, max_length=200)
    description: str | None = Field(default=None, max_length=2000)
    deadline: date | datetime | None = None

    _deadline = field_validator("deadline", mode="before")(_day_or_moment)


class ItemCreate(_In):
    description: str | None = Field(default=None, max_length=500)
    price: AmountIn
    quantity: AmountIn = Decimal(1)
    owner_id: int | None = Field(default=None, validation_alias=AliasChoices("owner_id", "user_id"))


class ItemPatch(_In):
    description: str | None = Field(default=None, max_length=500)
    price: AmountIn | None = None
    quantity: AmountIn | None = None
    owner_id: int | None = Field(default=None, validation_alias=AliasChoices("owner_id", "user_id"))


class ItemOut(BaseModel):
    id: int
    purchase_id: int
    owner_id: int | None
    description: str | None
    price: str
    quantity: str
    cost: str
    mine: bool
    version: int


class OwnerSubtotal(BaseModel):
    owner_id: int
    name: str | None
    items: int
    subtotal: str


class ShareOut(BaseModel):
    owner_id: int
    items: str
    share: str


class PurchaseOut(BaseModel):
    id: int
    period_id: int
    title: str
    description: str | None
    deadline: datetime
    status: str
    accepting_items: bool  # OPEN and before the deadline: owners may change their items
    expense_id: int | None
    item_count: int
    total: str  # the items' sum, live
    unowned_total: str  # items for everyone (shared like the delivery)
    owners: list[OwnerSubtotal]
    created_at: datetime
    finalized_at: datetime | None
    version: int


class FinalizeIn(_In):
    amount: AmountIn
    paid_by_owner_id: int | None = Field(
        default=None, validation_alias=AliasChoices("paid_by_owner_id", "paid_by_user_id")
    )
    vendor: str | None = Field(default=None, max_length=200)
    payment_type: str | None = Field(default=None, min_length=1, max_length=100)
    date: date | datetime | None = None


class FinalizeOut(PurchaseOut):
    expense: ExpenseOut
    shares: list[ShareOut]
