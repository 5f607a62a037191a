"""Account statements as the API returns them (SPEC §4a) and the exports render them.

Amounts are decimal strings already formatted with the currency's number of decimals
("500.00", "-120.50"); a positive balance is a credit, a negative one a debt.
"""

from __future__ import annotations

from datetime import date, datetime

from pydantic import BaseModel

from kopilka.invoices.schemas import InvoiceOut, MeteredLineOut


class StatementPeriodOut(BaseModel):
    period_id: int
    period_name: str
    start_date: date
    end_date: date
    status: str
    opening_balance: str
    charges: str
    payments: str
    closing_balance: str
    # the period's metered items (consumption, tariff charge, loss share, estimated)
    metered: list[MeteredLineOut] = []


class StatementTotalsOut(BaseModel):
    charges: str
    payments: str
    invoiced: str
    paid: str
    pending: str
    closing_balance: str


class OwnerStatementOut(BaseModel):
    community_id: int
    community_name: str
    currency: str
    owner_id: int
    owner_name: str | None
    generated_at: datetime
    periods: list[StatementPeriodOut]
    invoices: list[InvoiceOut]
    totals: StatementTotalsOut


class PeriodStatementLineOut(BaseModel):
    owner_id: int
    owner_name: str | None
    opening_balance: str
    charges: str
    payments: str
    closing_balance: str
    invoice_amount: str | None
    invoice_status: str | None


class PeriodStatementOut(BaseModel):
    community_id: int
    community_name: str
    currency: str
    period_id: int
    period_name: str
    start_date: date
    end_date: date
    status: str
    generated_at: datetime
    lines: list[PeriodStatementLineOut]
    # keys: opening_balance, charges, payments, closing_balance, invoiced
    totals: dict[str, str]
    # keys: ISSUED, PARTIAL, PAID, VOID
    invoice_counts: dict[str, int]
