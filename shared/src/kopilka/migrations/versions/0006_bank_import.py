"""bank import (issue 17): statements, their lines, payer rules, the community's bank details,
and the link from a contribution or expense to the statement line it was booked from

Revision ID: 0006
Revises: 0005
Create Date: 2026-11-30 04:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "0006"
down_revision: str | None = "0005"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

JSONB = postgresql.JSONB(none_as_null=True)


def upgrade() -> None:
    op.add_column("communities", sa.Column("bank", JSONB, nullable=True))
    op.create_table(
        "bank_imports",
        sa.Column("id", sa.BigInteger(), primary_key=True),
        sa.Column("community_id", sa.BigInteger(), nullable=False),
        sa.Column("file_name", sa.String(), nullable=False),
        sa.Column("file_size", sa.BigInteger(), nullable=False),
        sa.Column("file_sha256", sa.String(length=64), nullable=False),
        sa.Column("content", sa.LargeBinary(), nullable=False),
        sa.Column("format", sa.String(), nullable=False),
        sa.Column("encoding", sa.String(), nullable=True),
        sa.Column("mapping", JSONB, nullable=True),
        sa.Column("statement_account", sa.String(), nullable=True),
        sa.Column("created_by", sa.String(), nullable=False),
        sa.Column("created_by_telegram_id", sa.BigInteger(), nullable=True),
        sa.Column(
            "created_at", sa.DateTime(timezone=True), server_default=sa.func.now(), nullable=False
        ),
        sa.Column("job_id", sa.BigInteger(), nullable=True),
        sa.Column("counts", JSONB, nullable=True),
        sa.Column("progress", JSONB, nullable=True),
        sa.Column("finished_at", sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["community_id"], ["communities.id"],
            name="fk_bank_imports_community_id_communities",
        ),
        sa.ForeignKeyConstraint(["job_id"], ["jobs.id"], name="fk_bank_imports_job_id_jobs"),
        sa.PrimaryKeyConstraint("id", name="pk_bank_imports"),
    )  # fmt: skip
    op.create_index("ix_bank_imports_community", "bank_imports", ["community_id", "id"])
    op.create_table(
        "bank_import_lines",
        sa.Column("id", sa.BigInteger(), primary_key=True),
        sa.Column("community_id", sa.BigInteger(), nullable=False),
        sa.Column("import_id", sa.BigInteger(), nullable=False),
        sa.Column("line_no", sa.BigInteger(), nullable=False),
        sa.Column("identity", sa.String(length=64), nullable=False),
        sa.Column("status", sa.String(), nullable=False),
        sa.Column("direction", sa.String(), nullable=False),
        sa.Column("amount_minor", sa.BigInteger(), nullable=False),
        sa.Column("date", sa.Date(), nullable=False),
        sa.Column("doc_date", sa.Date(), nullable=True),
        sa.Column("doc_number", sa.String(), nullable=True),
        sa.Column("payer_name", sa.String(), nullable=True),
        sa.Column("payer_account", sa.String(), nullable=True),
        sa.Column("payer_inn", sa.String(), nullable=True),
        sa.Column("payee_name", sa.String(), nullable=True),
        sa.Column("payee_account", sa.String(), nullable=True),
        sa.Column("payee_inn", sa.String(), nullable=True),
        sa.Column("purpose", sa.String(), nullable=True),
        sa.Column("owner_pk", sa.BigInteger(), nullable=True),
        sa.Column("payment_type", sa.String(), nullable=True),
        sa.Column("matched_by", sa.String(), nullable=True),
        sa.Column("period_id", sa.BigInteger(), nullable=True),
        sa.Column("contribution_id", sa.BigInteger(), nullable=True),
        sa.Column("expense_id", sa.BigInteger(), nullable=True),
        sa.Column("note", sa.String(), nullable=True),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("updated_by", sa.String(), nullable=True),
        sa.CheckConstraint(
            "status IN ('NEW','BOOKED','DUPLICATE','UNMATCHED','IGNORED','WAITING')",
            name="ck_bank_import_lines_status_known",
        ),
        sa.CheckConstraint(
            "direction IN ('CREDIT','DEBIT')", name="ck_bank_import_lines_direction_known"
        ),
        sa.CheckConstraint("amount_minor > 0", name="ck_bank_import_lines_amount_positive"),
        sa.ForeignKeyConstraint(
            ["community_id"], ["communities.id"],
            name="fk_bank_import_lines_community_id_communities",
        ),
        sa.ForeignKeyConstraint(
            ["import_id"], ["bank_imports.id"], name="fk_bank_import_lines_import_id_bank_imports"
        ),
        sa.ForeignKeyConstraint(
            ["owner_pk"], ["owners.id"], name="fk_bank_import_lines_owner_pk_owners"
        ),
        sa.ForeignKeyConstraint(
            ["period_id"], ["periods.id"], name="fk_bank_import_lines_period_id_periods"
        ),
        sa.PrimaryKeyConstraint("id", name="pk_bank_import_lines"),
    )  # fmt: skip
    op.create_index(
        "uq_bank_import_lines_identity",
        "bank_import_lines",
        ["community_id", "identity"],
        unique=True,
        postgresql_where=sa.text("status <> 'DUPLICATE'"),
    )
    op.create_index(
        "ix_bank_import_lines_import", "bank_import_lines", ["import_id", "status", "id"]
    )
    op.create_table(
        "bank_payer_rules",
        sa.Column("id", sa.BigInteger(), primary_key=True),
        sa.Column("community_id", sa.BigInteger(), nullable=False),
        sa.Column("direction", sa.String(), nullable=False),
        sa.Column("account", sa.String(), nullable=True),
        sa.Column("inn", sa.String(), nullable=True),
        sa.Column("owner_pk", sa.BigInteger(), nullable=True),
        sa.Column("payment_type", sa.String(), nullable=True),
        sa.Column("created_by", sa.String(), nullable=False),
        sa.Column(
            "created_at", sa.DateTime(timezone=True), server_default=sa.func.now(), nullable=False
        ),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=True),
        sa.CheckConstraint("(account IS NULL) <> (inn IS NULL)", name="ck_bank_payer_rules_one_key"),
        sa.CheckConstraint(
            "(owner_pk IS NULL) <> (payment_type IS NULL)", name="ck_bank_payer_rules_one_target"
        ),
        sa.ForeignKeyConstraint(
            ["community_id"], ["communities.id"],
            name="fk_bank_payer_rules_community_id_communities",
        ),
        sa.ForeignKeyConstraint(
            ["owner_pk"], ["owners.id"], name="fk_bank_payer_rules_owner_pk_owners"
        ),
        sa.PrimaryKeyConstraint("id", name="pk_bank_payer_rules"),
    )  # fmt: skip
    op.create_index(
        "uq_bank_payer_rules_account",
        "bank_payer_rules",
        ["community_id", "direction", "account"],
        unique=True,
        postgresql_where=sa.text("account IS NOT NULL"),
    )
    op.create_index(
        "uq_bank_payer_rules_inn",
        "bank_payer_rules",
        ["community_id", "direction", "inn"],
        unique=True,
        postgresql_where=sa.text("inn IS NOT NULL"),
    )
    op.add_column("contributions", sa.Column("bank_line_id", sa.BigInteger(), nullable=True))
    op.add_column("expenses", sa.Column("bank_line_id", sa.BigInteger(), nullable=True))
    op.create_index(
        "uq_contributions_bank_line",
        "contributions",
        ["bank_line_id"],
        unique=True,
        postgresql_where=sa.text("bank_line_id IS NOT NULL"),
    )
    op.create_index(
        "uq_expenses_bank_line",
        "expenses",
        ["bank_line_id"],
        unique=True,
        postgresql_where=sa.text("bank_line_id IS NOT NULL"),
    )


def downgrade() -> None:
    op.drop_index("uq_expenses_bank_line", table_name="expenses")
    op.drop_index("uq_contributions_bank_line", table_name="contributions")
    op.drop_column("expenses", "bank_line_id")
    op.drop_column("contributions", "bank_line_id")
    op.drop_table("bank_payer_rules")
    op.drop_table("bank_import_lines")
    op.drop_table("bank_imports")
    op.drop_column("communities", "bank")
