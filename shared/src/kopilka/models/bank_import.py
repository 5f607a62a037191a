"""Bank statement imports (SPEC §4b): the file as it came, its lines with their status, and the
payer rules the treasurer taught.

A line's ``identity`` (the bank's document number + date + amount + payer account, or a hash of
the whole line) is unique per community among the lines that are not DUPLICATEs: the partial
unique index is what makes "each payment is booked once" true for the same file twice, for
overlapping statements and for two imports running at once."""

from __future__ import annotations

import datetime as dt
from datetime import datetime
from typing import Any

from sqlalchemy import CheckConstraint, DateTime, ForeignKey, Index, LargeBinary, String, text
from sqlalchemy.orm import Mapped, mapped_column

from kopilka.models.base import Base, created_at_column
from kopilka.models.ledger import Contribution, Expense

LINE_STATUSES = ("NEW", "BOOKED", "DUPLICATE", "UNMATCHED", "IGNORED", "WAITING")


class BankImport(Base):
    """One uploaded statement: its file (kept whole), who sent it and when, and its counts."""

    __tablename__ = "bank_imports"
    __table_args__ = (Index("ix_bank_imports_community", "community_id", "id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    community_id: Mapped[int] = mapped_column(ForeignKey("communities.id"))
    file_name: Mapped[str]
    file_size: Mapped[int]
    file_sha256: Mapped[str] = mapped_column(String(64))
    content: Mapped[bytes] = mapped_column(LargeBinary, deferred=True)
    format: Mapped[str]
    encoding: Mapped[str | None]
    mapping: Mapped[dict[str, Any] | None]
    statement_account: Mapped[str | None]
    created_by: Mapped[str]
    created_by_telegram_id: Mapped[int | None]
    created_at: Mapped[datetime] = created_at_column()
    job_id: Mapped[int | None] = mapped_column(ForeignKey("jobs.id"))
    counts: Mapped[dict[str, Any] | None]
    progress: Mapped[dict[str, Any] | None]
    finished_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))


class BankImportLine(Base):
    """One operation of a statement and what became of it."""

    __tablename__ = "bank_import_lines"
    __table_args__ = (
        CheckConstraint(
            "status IN ('NEW','BOOKED','DUPLICATE','UNMATCHED','IGNORED','WAITING')",
            name="status_known",
        ),
        CheckConstraint("direction IN ('CREDIT','DEBIT')", name="direction_known"),
        CheckConstraint("amount_minor > 0", name="amount_positive"),
        Index(
            "uq_bank_import_lines_identity",
            "community_id",
            "identity",
            unique=True,
            postgresql_where=text("status <> 'DUPLICATE'"),
        ),
        Index("ix_bank_import_lines_import", "import_id", "status", "id"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    community_id: Mapped[int] = mapped_column(ForeignKey("communities.id"))
    import_id: Mapped[int] = mapped_column(ForeignKey("bank_imports.id"))
    line_no: Mapped[int]
    identity: Mapped[str] = mapped_column(String(64))
    status: Mapped[str]
    direction: Mapped[str]
    amount_minor: Mapped[int]
    date: Mapped[dt.date]
    doc_date: Mapped[dt.date | None]
    doc_number: Mapped[str | None]
    payer_name: Mapped[str | None]
    payer_account: Mapped[str | None]
    payer_inn: Mapped[str | None]
    payee_name: Mapped[str | None]
    payee_account: Mapped[str | None]
    payee_inn: Mapped[str | None]
    purpose: Mapped[str | None]
    owner_pk: Mapped[int | None] = mapped_column(ForeignKey("owners.id"))
    payment_type: Mapped[str | None]
    matched_by: Mapped[str | None]  # RULE, INVOICE, PLOT, NAME, ASSIGNED
    period_id: Mapped[int | None] = mapped_column(ForeignKey("periods.id"))
    contribution_id: Mapped[int | None]
    expense_id: Mapped[int | None]
    note: Mapped[str | None]
    updated_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    updated_by: Mapped[str | None]


class BankPayerRule(Base):
    """A remembered rule: a payer (by account or tax id) is an owner, or a recipient of the
    fund's payments is a payment_type of expense."""

    __tablename__ = "bank_payer_rules"
    __table_args__ = (
        CheckConstraint("(account IS NULL) <> (inn IS NULL)", name="one_key"),
        CheckConstraint("(owner_pk IS NULL) <> (payment_type IS NULL)", name="one_target"),
        Index(
            "uq_bank_payer_rules_account",
            "community_id",
            "direction",
            "account",
            unique=True,
            postgresql_where=text("account IS NOT NULL"),
        ),
        Index(
            "uq_bank_payer_rules_inn",
            "community_id",
            "direction",
            "inn",
            unique=True,
            postgresql_where=text("inn IS NOT NULL"),
        ),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    community_id: Mapped[int] = mapped_column(ForeignKey("communities.id"))
    direction: Mapped[str] = mapped_column(default="CREDIT")
    account: Mapped[str | None]
    inn: Mapped[str | None]
    owner_pk: Mapped[int | None] = mapped_column(ForeignKey("owners.id"))
    payment_type: Mapped[str | None]
    created_by: Mapped[str]
    created_at: Mapped[datetime] = created_at_column()
    updated_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))


# A statement line books at most one contribution and one expense, whoever tries (the import job,
# a treasurer's assignment, both at once): the database says so.
Index(
    "uq_contributions_bank_line",
    Contribution.bank_line_id,
    unique=True,
    postgresql_where=text("bank_line_id IS NOT NULL"),
)
Index(
    "uq_expenses_bank_line",
    Expense.bank_line_id,
    unique=True,
    postgresql_where=text("bank_line_id IS NOT NULL"),
)
