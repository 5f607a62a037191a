from __future__ import annotations

from pydantic import BaseModel


class BalanceEntryOut(BaseModel):
    owner_id: int
    name: str | None
    opening_balance: str
    total_contributions: str
    total_paid_expenses: str
    total_allocated: str
    total_service_charges: str
    total_charges: str
    net_settlements: str
    balance: str


class UnallocatedOut(BaseModel):
    pool: str
    payment_type: str
    expense_id: int | None
    amount: str
    reason: str


class AllocationPoolOut(BaseModel):
    pool: str
    payment_type: str
    strategy: str
    amount: str
    allocated: str


class BalanceSheetOut(BaseModel):
    period_id: int
    period_name: str
    status: str
    currency: str
    entries: list[BalanceEntryOut]
    total_opening_balance: str
    total_contributions: str
    total_paid_expenses: str
    total_allocated: str
    total_service_charges: str
    total_charges: str
    net_settlements: str
    total_period_balance: str
    total_expenses: str
    total_unallocated: str
    unallocated: list[UnallocatedOut]
    pools: list[AllocationPoolOut]


class OwnerBalanceOut(BalanceEntryOut):
    period_id: int
    period_name: str
    status: str
    currency: str
