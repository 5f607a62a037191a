from __future__ import annotations

from datetime import datetime
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from kopilka.inputs import StrictInput
from kopilka.money import AmountIn


class BankDetails(StrictInput):
    """Where owners pay (SPEC §4b): printed on invoices with the payment QR code."""

    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    recipient: str = Field(min_length=1, max_length=160, description='СНТ "Сосенки"')
    account: str = Field(pattern=r"^\d{20}$", description="the settlement account, 20 digits")
    bank_name: str = Field(min_length=1, max_length=45)
    bic: str = Field(pattern=r"^\d{9}$", description="BIC, 9 digits")
    corr_account: str = Field(pattern=r"^\d{20}$", description="correspondent account, 20 digits")
    inn: str | None = Field(default=None, pattern=r"^(\d{10}|\d{12})$", description="tax id")


class CommunityCreate(StrictInput):
    name: str = Field(min_length=1, max_length=200)
    currency: str = Field(default="RUB", min_length=3, max_length=3)
    timezone: str = Field(default="UTC", max_length=64)
    rollover: str = Field(default="NONE", pattern=r"^(?i:NONE|MONTHLY|QUARTERLY)$")
    default_strategy: str = Field(default="PROPORTIONAL")
    auto_create_owners: bool = True
    admin_telegram_ids: list[int] = Field(default_factory=list, max_length=50)
    debt_reminder_threshold: AmountIn | None = None
    reading_window: dict[str, Any] | None = Field(
        default=None,
        description='owners send readings on these days: {"from_day": 20, "to_day": 25}',
    )
    language: str | None = Field(
        default=None,
        pattern=r"^(en|ru)$",
        description="the community's default language (messages, Mini App, statements); "
        "default: ru for a RUB community, else en",
    )


class CommunityPatch(StrictInput):
    name: str | None = Field(default=None, min_length=1, max_length=200)
    timezone: str | None = Field(default=None, max_length=64)
    rollover: str | None = Field(default=None, pattern=r"^(?i:NONE|MONTHLY|QUARTERLY)$")
    default_strategy: str | None = None
    auto_create_owners: bool | None = None
    admin_telegram_ids: list[int] | None = Field(default=None, max_length=50)
    debt_reminder_threshold: AmountIn | None = Field(
        default=None, description="a debt above it gets a weekly reminder; at least 0"
    )
    reading_window: dict[str, Any] | None = None
    language: str | None = Field(
        default=None,
        pattern=r"^(en|ru)$",
        description="the community's default language (messages, Mini App, statements); "
        "its admins may change it",
    )
    bank: BankDetails | None = None


class CommunityOut(BaseModel):
    id: int
    name: str
    currency: str
    timezone: str
    rollover: str
    default_strategy: str
    auto_create_owners: bool
    admin_telegram_ids: list[int]
    debt_reminder_threshold: str | None
    reading_window: dict[str, Any] | None = None
    language: str
    bank: BankDetails | None = None
    created_at: datetime


class CommunityCreated(CommunityOut):
    admin_api_key: str


class ApiKeyCreate(StrictInput):
    name: str = Field(default="admin", min_length=1, max_length=100)


class ApiKeyOut(BaseModel):
    id: int
    name: str
    prefix: str
    created_at: datetime
    revoked_at: datetime | None


class ApiKeyCreated(ApiKeyOut):
    api_key: str
