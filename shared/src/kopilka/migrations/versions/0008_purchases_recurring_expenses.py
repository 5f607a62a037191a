"""purchases recurring expenses (issue 19): group purchases and their items, recurring expense
templates and their runs, and the expense a settlement settles a share of.

Revision ID: 0008
Revises: 0007
Create Date: 2026-11-30 04:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy import Text
from sqlalchemy.dialects import postgresql

revision: str = "0008"
down_revision: str | None = "0007"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "recurring_expense_templates",
        sa.Column("id", sa.BigInteger(), nullable=False),
        sa.Column("community_id", sa.BigInteger(), nullable=False),
        sa.Column("amount_minor", sa.BigInteger(), nullable=False),
        sa.Column("payment_type", sa.String(), nullable=False),
        sa.Column("vendor", sa.String(), nullable=True),
        sa.Column("description", sa.String(), nullable=True),
        sa.Column("paid_by_owner_pk", sa.BigInteger(), nullable=True),
        sa.Column("split", postgresql.JSONB(none_as_null=True, astext_type=Text()), nullable=True),
        sa.Column("day_of_month", sa.BigInteger(), nullable=False),
        sa.Column("start_date", sa.Date(), nullable=False),
        sa.Column("end_date", sa.Date(), nullable=True),
        sa.Column("max_occurrences", sa.BigInteger(), nullable=True),
        sa.Column("active", sa.Boolean(), nullable=False),
        sa.Column("created_by", sa.String(), nullable=False),
        sa.Column(
            "created_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.Column("version", sa.BigInteger(), nullable=False),
        sa.CheckConstraint(
            "amount_minor > 0", name=op.f("ck_recurring_expense_templates_amount_positive")
        ),
        sa.CheckConstraint(
            "day_of_month BETWEEN 1 AND 28",
            name=op.f("ck_recurring_expense_templates_day_in_month"),
        ),
        sa.CheckConstraint(
            "max_occurrences IS NULL OR max_occurrences > 0",
            name=op.f("ck_recurring_expense_templates_max_positive"),
        ),
        sa.ForeignKeyConstraint(
            ["community_id"],
            ["communities.id"],
            name=op.f("fk_recurring_expense_templates_community_id_communities"),
        ),
        sa.ForeignKeyConstraint(
            ["paid_by_owner_pk"],
            ["owners.id"],
            name=op.f("fk_recurring_expense_templates_paid_by_owner_pk_owners"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_recurring_expense_templates")),
    )
    op.create_index(
        op.f("ix_recurring_expense_templates_community_id"),
        "recurring_expense_templates",
        ["community_id"],
        unique=False,
    )
    op.create_table(
        "purchases",
        sa.Column("id", sa.BigInteger(), nullable=False),
        sa.Column("community_id", sa.BigInteger(), nullable=False),
        sa.Column("period_id", sa.BigInteger(), nullable=False),
        sa.Column("title", sa.String(), nullable=False),
        sa.Column("description", sa.String(), nullable=True),
        sa.Column("deadline", sa.DateTime(timezone=True), nullable=False),
        sa.Column("status", sa.String(), nullable=False),
        sa.Column("expense_id", sa.BigInteger(), nullable=True),
        sa.Column("finalized_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("finalized_by", sa.String(), nullable=True),
        sa.Column("created_by", sa.String(), nullable=False),
        sa.Column(
            "created_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("version", sa.BigInteger(), nullable=False),
        sa.CheckConstraint(
            "(status = 'FINALIZED') = (expense_id IS NOT NULL)",
            name=op.f("ck_purchases_finalized_has_expense"),
        ),
        sa.CheckConstraint(
            "status IN ('OPEN','FINALIZED')", name=op.f("ck_purchases_status_known")
        ),
        sa.ForeignKeyConstraint(
            ["community_id"], ["communities.id"], name=op.f("fk_purchases_community_id_communities")
        ),
        sa.ForeignKeyConstraint(
            ["expense_id"], ["expenses.id"], name=op.f("fk_purchases_expense_id_expenses")
        ),
        sa.ForeignKeyConstraint(
            ["period_id"], ["periods.id"], name=op.f("fk_purchases_period_id_periods")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_purchases")),
        sa.UniqueConstraint("expense_id", name=op.f("uq_purchases_expense_id")),
    )
    op.create_index("ix_purchases_period", "purchases", ["period_id"], unique=False)
    op.create_table(
        "recurring_expense_runs",
        sa.Column("id", sa.BigInteger(), nullable=False),
        sa.Column("template_id", sa.BigInteger(), nullable=False),
        sa.Column("period_id", sa.BigInteger(), nullable=False),
        sa.Column("expense_id", sa.BigInteger(), nullable=True),
        sa.Column(
            "created_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.ForeignKeyConstraint(
            ["expense_id"],
            ["expenses.id"],
            name=op.f("fk_recurring_expense_runs_expense_id_expenses"),
        ),
        sa.ForeignKeyConstraint(
            ["period_id"], ["periods.id"], name=op.f("fk_recurring_expense_runs_period_id_periods")
        ),
        sa.ForeignKeyConstraint(
            ["template_id"],
            ["recurring_expense_templates.id"],
            name=op.f("fk_recurring_expense_runs_template_id_recurring_expense_templates"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_recurring_expense_runs")),
        sa.UniqueConstraint(
            "template_id", "period_id", name=op.f("uq_recurring_expense_runs_template_id")
        ),
    )
    op.create_table(
        "purchase_items",
        sa.Column("id", sa.BigInteger(), nullable=False),
        sa.Column("community_id", sa.BigInteger(), nullable=False),
        sa.Column("purchase_id", sa.BigInteger(), nullable=False),
        sa.Column("owner_pk", sa.BigInteger(), nullable=True),
        sa.Column("description", sa.String(), nullable=True),
        sa.Column("price", sa.Numeric(precision=26, scale=6), nullable=False),
        sa.Column("quantity", sa.Numeric(precision=26, scale=6), nullable=False),
        sa.Column("cost_minor", sa.BigInteger(), nullable=False),
        sa.Column("created_by", sa.String(), nullable=False),
        sa.Column(
            "created_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("version", sa.BigInteger(), nullable=False),
        sa.CheckConstraint("cost_minor >= 0", name=op.f("ck_purchase_items_cost_not_negative")),
        sa.CheckConstraint("price >= 0", name=op.f("ck_purchase_items_price_not_negative")),
        sa.CheckConstraint("quantity > 0", name=op.f("ck_purchase_items_quantity_positive")),
        sa.ForeignKeyConstraint(
            ["community_id"],
            ["communities.id"],
            name=op.f("fk_purchase_items_community_id_communities"),
        ),
        sa.ForeignKeyConstraint(
            ["owner_pk"], ["owners.id"], name=op.f("fk_purchase_items_owner_pk_owners")
        ),
        sa.ForeignKeyConstraint(
            ["purchase_id"], ["purchases.id"], name=op.f("fk_purchase_items_purchase_id_purchases")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_purchase_items")),
    )
    op.create_index(
        "ix_purchase_items_purchase", "purchase_items", ["purchase_id", "id"], unique=False
    )
    op.add_column("settlements", sa.Column("settles_expense_id", sa.BigInteger(), nullable=True))
    op.create_index(
        "ix_settlements_settles_expense",
        "settlements",
        ["settles_expense_id", "from_owner_pk"],
        unique=False,
        postgresql_where=sa.text("settles_expense_id IS NOT NULL"),
    )
    op.create_foreign_key(
        op.f("fk_settlements_settles_expense_id_expenses"),
        "settlements",
        "expenses",
        ["settles_expense_id"],
        ["id"],
    )


def downgrade() -> None:
    op.drop_constraint(
        op.f("fk_settlements_settles_expense_id_expenses"), "settlements", type_="foreignkey"
    )
    op.drop_index(
        "ix_settlements_settles_expense",
        table_name="settlements",
        postgresql_where=sa.text("settles_expense_id IS NOT NULL"),
    )
    op.drop_column("settlements", "settles_expense_id")
    op.drop_index("ix_purchase_items_purchase", table_name="purchase_items")
    op.drop_table("purchase_items")
    op.drop_table("recurring_expense_runs")
    op.drop_index("ix_purchases_period", table_name="purchases")
    op.drop_table("purchases")
    op.drop_index(
        op.f("ix_recurring_expense_templates_community_id"),
        table_name="recurring_expense_templates",
    )
    op.drop_table("recurring_expense_templates")
