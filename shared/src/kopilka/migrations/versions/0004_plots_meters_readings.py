"""plots meters readings (issue 15)

Plots with their owners' exact fractions, meters (1-3 zones) and their readings, what a close
stored of each owner's TARIFF charge, the community's reading window and the budget item's
tariffs and loss strategy.

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-30 04:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "0004"
down_revision: str | None = "0003"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

VALUE = sa.Numeric(20, 4)


def _created_at() -> sa.Column:  # type: ignore[type-arg]
    return sa.Column(
        "created_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False
    )


def upgrade() -> None:
    op.add_column(
        "communities",
        sa.Column("reading_window", postgresql.JSONB(astext_type=sa.Text()), nullable=True),
    )
    op.add_column(
        "budget_items",
        sa.Column("tariffs", postgresql.JSONB(astext_type=sa.Text()), nullable=True),
    )
    op.add_column("budget_items", sa.Column("loss_strategy", sa.String(), nullable=True))
    op.create_table(
        "plots",
        sa.Column("id", sa.BigInteger(), nullable=False),
        sa.Column("community_id", sa.BigInteger(), nullable=False),
        sa.Column("number", sa.String(), nullable=False),
        sa.Column("area", sa.Numeric(20, 6), nullable=False),
        sa.Column("weight", sa.Numeric(20, 6), nullable=False),
        sa.Column("is_active", sa.Boolean(), nullable=False),
        _created_at(),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("version", sa.BigInteger(), nullable=False),
        sa.CheckConstraint("area > 0", name=op.f("ck_plots_area_positive")),
        sa.CheckConstraint("weight > 0", name=op.f("ck_plots_weight_positive")),
        sa.ForeignKeyConstraint(
            ["community_id"], ["communities.id"], name=op.f("fk_plots_community_id_communities")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_plots")),
        sa.UniqueConstraint("community_id", "number", name=op.f("uq_plots_community_id")),
    )
    op.create_table(
        "plot_owners",
        sa.Column("plot_id", sa.BigInteger(), nullable=False),
        sa.Column("owner_pk", sa.BigInteger(), nullable=False),
        sa.Column("fraction_num", sa.BigInteger(), nullable=False),
        sa.Column("fraction_den", sa.BigInteger(), nullable=False),
        sa.CheckConstraint(
            "fraction_num > 0 AND fraction_den > 0",
            name=op.f("ck_plot_owners_fraction_positive"),
        ),
        sa.CheckConstraint(
            "fraction_num <= fraction_den", name=op.f("ck_plot_owners_fraction_at_most_one")
        ),
        sa.ForeignKeyConstraint(
            ["owner_pk"], ["owners.id"], name=op.f("fk_plot_owners_owner_pk_owners")
        ),
        sa.ForeignKeyConstraint(
            ["plot_id"], ["plots.id"], name=op.f("fk_plot_owners_plot_id_plots")
        ),
        sa.PrimaryKeyConstraint("plot_id", "owner_pk", name=op.f("pk_plot_owners")),
    )
    op.create_index("ix_plot_owners_owner", "plot_owners", ["owner_pk"])
    op.create_table(
        "meters",
        sa.Column("id", sa.BigInteger(), nullable=False),
        sa.Column("community_id", sa.BigInteger(), nullable=False),
        sa.Column("plot_id", sa.BigInteger(), nullable=False),
        sa.Column("meter_type", sa.String(), nullable=False),
        sa.Column("serial", sa.String(), nullable=False),
        sa.Column("zones", sa.BigInteger(), nullable=False),
        sa.Column("initial_t1", VALUE, nullable=False),
        sa.Column("initial_t2", VALUE, nullable=True),
        sa.Column("initial_t3", VALUE, nullable=True),
        sa.Column("is_active", sa.Boolean(), nullable=False),
        _created_at(),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("version", sa.BigInteger(), nullable=False),
        sa.CheckConstraint("zones BETWEEN 1 AND 3", name=op.f("ck_meters_zones_known")),
        sa.ForeignKeyConstraint(
            ["community_id"], ["communities.id"], name=op.f("fk_meters_community_id_communities")
        ),
        sa.ForeignKeyConstraint(["plot_id"], ["plots.id"], name=op.f("fk_meters_plot_id_plots")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_meters")),
    )
    op.create_index("ix_meters_plot", "meters", ["plot_id"])
    op.create_index("ix_meters_community_type", "meters", ["community_id", "meter_type"])
    op.create_table(
        "readings",
        sa.Column("id", sa.BigInteger(), nullable=False),
        sa.Column("community_id", sa.BigInteger(), nullable=False),
        sa.Column("meter_id", sa.BigInteger(), nullable=False),
        sa.Column("period_id", sa.BigInteger(), nullable=False),
        sa.Column("reading_date", sa.Date(), nullable=False),
        sa.Column("value_t1", VALUE, nullable=False),
        sa.Column("value_t2", VALUE, nullable=True),
        sa.Column("value_t3", VALUE, nullable=True),
        sa.Column("estimated", sa.Boolean(), nullable=False),
        sa.Column("replacement", sa.Boolean(), nullable=False),
        sa.Column("created_by", sa.String(), nullable=False),
        _created_at(),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("version", sa.BigInteger(), nullable=False),
        sa.ForeignKeyConstraint(
            ["community_id"],
            ["communities.id"],
            name=op.f("fk_readings_community_id_communities"),
        ),
        sa.ForeignKeyConstraint(
            ["meter_id"], ["meters.id"], name=op.f("fk_readings_meter_id_meters")
        ),
        sa.ForeignKeyConstraint(
            ["period_id"], ["periods.id"], name=op.f("fk_readings_period_id_periods")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_readings")),
        sa.UniqueConstraint("meter_id", "period_id", name=op.f("uq_readings_meter_id")),
    )
    op.create_index("ix_readings_meter_date", "readings", ["meter_id", "reading_date"])
    op.create_index("ix_readings_period", "readings", ["period_id"])
    op.create_table(
        "consumption_charges",
        sa.Column("period_id", sa.BigInteger(), nullable=False),
        sa.Column("owner_pk", sa.BigInteger(), nullable=False),
        sa.Column("pool", sa.String(), nullable=False),
        sa.Column("meter_type", sa.String(), nullable=False),
        sa.Column("consumption", postgresql.JSONB(astext_type=sa.Text()), nullable=False),
        sa.Column("tariff_minor", sa.BigInteger(), nullable=False),
        sa.Column("loss_minor", sa.BigInteger(), nullable=False),
        sa.Column("estimated", sa.Boolean(), nullable=False),
        sa.ForeignKeyConstraint(
            ["owner_pk"], ["owners.id"], name=op.f("fk_consumption_charges_owner_pk_owners")
        ),
        sa.ForeignKeyConstraint(
            ["period_id"], ["periods.id"], name=op.f("fk_consumption_charges_period_id_periods")
        ),
        sa.PrimaryKeyConstraint(
            "period_id", "owner_pk", "pool", name=op.f("pk_consumption_charges")
        ),
    )


def downgrade() -> None:
    op.drop_table("consumption_charges")
    op.drop_index("ix_readings_period", table_name="readings")
    op.drop_index("ix_readings_meter_date", table_name="readings")
    op.drop_table("readings")
    op.drop_index("ix_meters_community_type", table_name="meters")
    op.drop_index("ix_meters_plot", table_name="meters")
    op.drop_table("meters")
    op.drop_index("ix_plot_owners_owner", table_name="plot_owners")
    op.drop_table("plot_owners")
    op.drop_table("plots")
    op.drop_column("budget_items", "loss_strategy")
    op.drop_column("budget_items", "tariffs")
    op.drop_column("communities", "reading_window")
