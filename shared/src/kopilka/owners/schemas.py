from __future__ import annotations

from datetime import datetime
from decimal import Decimal

from pydantic import AliasChoices, BaseModel, Field

from kopilka.inputs import StrictInput


class OwnerCreate(StrictInput):
    owner_id: int = Field(validation_alias=AliasChoices("owner_id", "user_id"), ge=1)
    name: str | None = Field(default=None, max_length=200)
    share_weight: Decimal = Field(default=Decimal(1), gt=0, le=Decimal("1000000"), decimal_places=6)
    telegram_id: int | None = Field(default=None, ge=1)
    language: str | None = Field(
        default=None,
        pattern=r"^[a-z]{2}(-[A-Za-z]{2})?$",
        description="the owner's language; omitted or null: the community's",
    )
    is_active: bool = True


class OwnerPatch(StrictInput):
    name: str | None = Field(default=None, max_length=200)
    share_weight: Decimal | None = Field(
        default=None, gt=0, le=Decimal("1000000"), decimal_places=6
    )
    telegram_id: int | None = Field(default=None, ge=1)
    language: str | None = Field(default=None, pattern=r"^[a-z]{2}(-[A-Za-z]{2})?$")
    is_active: bool | None = None


class OwnerOut(BaseModel):
    owner_id: int
    name: str | None
    share_weight: str
    # true when the weight is derived from the owner's active plots (SPEC §3a)
    share_weight_from_plots: bool = False
    telegram_id: int | None
    language: str | None
    is_active: bool
    telegram_reachable: bool
    created_at: datetime
