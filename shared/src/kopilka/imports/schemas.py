"""What the import routes accept and answer."""

from __future__ import annotations

import datetime as dt
from datetime import datetime
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, model_validator

from kopilka.inputs import StrictInput
from kopilka.jobs.schemas import JobOut


class ImportCounts(BaseModel):
    lines: int = 0
    credits: int = 0
    debits: int = 0
    new: int = 0
    duplicates: int = 0
    booked: int = 0
    unmatched: int = 0
    waiting: int = 0
    ignored: int = 0
    booked_amount: str = "0"


class ImportOut(BaseModel):
    id: int
    file_name: str
    file_size: int
    file_sha256: str
    format: str
    encoding: str | None
    statement_account: str | None
    created_by: str
    created_at: datetime
    status: str  # the job's: PENDING, RUNNING, SUCCEEDED, FAILED
    job: JobOut | None
    progress: dict[str, Any] | None
    error: str | None
    lines: int
    credits: int
    debits: int
    new: int
    duplicates: int
    booked: int
    unmatched: int
    waiting: int
    ignored: int
    booked_amount: str


class ImportLineOut(BaseModel):
    id: int
    import_id: int
    line_no: int
    status: str
    direction: str
    amount: str
    date: dt.date
    doc_number: str | None
    doc_date: dt.date | None
    payer_name: str | None
    payer_account: str | None
    payer_inn: str | None
    payee_name: str | None
    payee_account: str | None
    payee_inn: str | None
    purpose: str | None
    owner_id: int | None
    owner_name: str | None
    matched_by: str | None
    payment_type: str | None
    period_id: int | None
    contribution_id: int | None
    expense_id: int | None
    note: str | None


class AssignLine(StrictInput):
    """Book an unmatched credit to an owner, or a waiting debit as a fund expense of a type;
    ``remember`` teaches the payer (account, else tax id) → owner or type."""

    model_config = ConfigDict(extra="forbid")

    owner_id: int | None = Field(default=None, ge=1)
    payment_type: str | None = Field(default=None, min_length=1, max_length=100)
    remember: bool = False

    @model_validator(mode="after")
    def _one_target(self) -> AssignLine:
        if (self.owner_id is None) == (self.payment_type is None):
            raise ValueError("give owner_id (a credit) or payment_type (a debit)")
        return self


class AssignOut(ImportLineOut):
    rule_id: int | None = None


class RuleCreate(StrictInput):
    model_config = ConfigDict(extra="forbid")

    account: str | None = Field(default=None, min_length=5, max_length=40)
    inn: str | None = Field(default=None, pattern=r"^\d{10}(\d{2})?$")
    owner_id: int | None = Field(default=None, ge=1)
    payment_type: str | None = Field(default=None, min_length=1, max_length=100)

    @model_validator(mode="after")
    def _shape(self) -> RuleCreate:
        if (self.account is None) == (self.inn is None):
            raise ValueError("give account or inn")
        if (self.owner_id is None) == (self.payment_type is None):
            raise ValueError("give owner_id (payer → owner) or payment_type (recipient → expense)")
        return self


class RuleOut(BaseModel):
    id: int
    direction: str
    account: str | None
    inn: str | None
    owner_id: int | None
    payment_type: str | None
    created_by: str
    created_at: datetime
