from __future__ import annotations

from pydantic import BaseModel


class TransferOut(BaseModel):
    from_owner_id: int
    to_owner_id: int
    amount: str


class SuggestedSettlementsOut(BaseModel):
    period_id: int
    currency: str
    via: int | None
    transfers: list[TransferOut]
    unsettled_by_owners: str
