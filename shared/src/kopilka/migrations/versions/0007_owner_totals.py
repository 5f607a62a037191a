"""owner totals (issue 18): per-(period, owner) ledger totals and per-(period, payment type)
expense totals, maintained by triggers in the statement that writes the rows

Why triggers: the ledger has several writers (the posting machinery of the money documents, the
carry-forward's set-based SQL, the recurring charges' sweep, bulk loads, and whatever posts
money next); a statement-level AFTER trigger on the table itself is the one place every money
row goes through, so no writer can forget the totals, and they commit or roll back with the rows.
The statement-level form (transition tables) costs one aggregated upsert per statement, sorted
by key (a carry-forward of 10,000 owners is one statement, not 10,000).

Revision ID: 0007
Revises: 0006
Create Date: 2026-11-30 04:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0007"
down_revision: str | None = "0006"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_KINDS = (
    ("contributions", "CONTRIBUTION"),
    ("opening_credit", "OPENING_CREDIT"),
    ("paid_expenses", "EXPENSE_PAID"),
    ("service_charges", "SERVICE_CHARGE"),
    ("opening_debt", "OPENING_DEBT"),
    ("settlements_paid", "SETTLEMENT_PAID"),
    ("settlements_received", "SETTLEMENT_RECEIVED"),
)
_COLS = ", ".join(c for c, _ in _KINDS)


def _ledger_upsert(source: str, sign: str) -> str:
    sums = ", ".join(
        f"coalesce(sum({sign}amount_minor) FILTER (WHERE kind = '{k}'), 0)" for _, k in _KINDS
    )
    updates = ", ".join(f"{c} = t.{c} + excluded.{c}" for c, _ in _KINDS)
    return f"""
        INSERT INTO owner_period_totals AS t
            (period_id, owner_pk, community_id, {_COLS}, entries)
        SELECT period_id, owner_pk, min(community_id), {sums}, {sign}count(*)
        FROM {source}
        GROUP BY period_id, owner_pk
        ORDER BY period_id, owner_pk
        ON CONFLICT (period_id, owner_pk) DO UPDATE SET {updates},
            entries = t.entries + excluded.entries;
    """


def _expense_delta(source: str, sign: str) -> str:
    return f"""
        SELECT period_id, payment_type, split IS NULL AS pooled, community_id,
               {sign}amount_minor AS amount_minor, {sign}1 AS n
        FROM {source} WHERE deleted_at IS NULL
    """


def _expense_upsert(delta: str) -> str:
    return f"""
        INSERT INTO period_expense_totals AS t
            (period_id, payment_type, pooled, community_id, amount_minor, expenses)
        SELECT period_id, payment_type, pooled, min(community_id), sum(amount_minor), sum(n)
        FROM ({delta}) d
        GROUP BY period_id, payment_type, pooled
        HAVING sum(amount_minor) <> 0 OR sum(n) <> 0
        ORDER BY period_id, payment_type, pooled
        ON CONFLICT (period_id, payment_type, pooled) DO UPDATE SET
            amount_minor = t.amount_minor + excluded.amount_minor,
            expenses = t.expenses + excluded.expenses;
    """


#: The inputs of the allocation (who shares what, by which weight or consumption). Any write of
#: them bumps the community's ``allocation_versions.version`` in the same transaction, so an
#: allocation computed at version v is exact for as long as the version is v.
ALLOCATION_INPUTS = (
    "expenses",
    "budget_items",
    "meter_readings",
    "plots",  # derived share weights (SPEC §3a)
    "meters",
    "readings",
)


def _bump(source: str, column: str = "community_id") -> str:
    return f"""
        INSERT INTO allocation_versions AS v (community_id, version)
        SELECT DISTINCT {column}, 1 FROM {source} ORDER BY 1
        ON CONFLICT (community_id) DO UPDATE SET version = v.version + 1;
    """


def upgrade() -> None:
    op.create_table(
        "allocation_versions",
        sa.Column("community_id", sa.BigInteger(), nullable=False),
        sa.Column("version", sa.BigInteger(), nullable=False),
        sa.ForeignKeyConstraint(
            ["community_id"],
            ["communities.id"],
            name=op.f("fk_allocation_versions_community_id_communities"),
        ),
        sa.PrimaryKeyConstraint("community_id", name=op.f("pk_allocation_versions")),
    )
    op.execute(
        f"""
        CREATE FUNCTION kopilka_allocation_bump() RETURNS trigger LANGUAGE plpgsql AS $$
        BEGIN
            IF TG_OP = 'DELETE' THEN
                {_bump("old_rows")}
            ELSE
                {_bump("new_rows")}
            END IF;
            RETURN NULL;
        END $$
        """
    )
    op.execute(
        f"""
        CREATE FUNCTION kopilka_allocation_bump_row() RETURNS trigger LANGUAGE plpgsql AS $$
        BEGIN
            {_bump("(SELECT NEW.community_id AS community_id) n")}
            RETURN NULL;
        END $$
        """
    )
    for table in (*ALLOCATION_INPUTS, "owners"):
        events = ["INSERT", "DELETE"] if table == "owners" else ["INSERT", "UPDATE", "DELETE"]
        for event in events:
            ref = "OLD TABLE AS old_rows" if event == "DELETE" else "NEW TABLE AS new_rows"
            op.execute(
                f"CREATE TRIGGER {table}_allocation_{event.lower()} AFTER {event} ON {table} "
                f"REFERENCING {ref} FOR EACH STATEMENT EXECUTE FUNCTION kopilka_allocation_bump()"
            )
    # Plot ownership has no community column: through its plot.
    op.execute(
        f"""
        CREATE FUNCTION kopilka_allocation_bump_plot_owners() RETURNS trigger
        LANGUAGE plpgsql AS $$
        BEGIN
            IF TG_OP = 'DELETE' THEN
                {_bump("(SELECT p.community_id FROM old_rows o JOIN plots p ON p.id = o.plot_id) x")}
            ELSE
                {_bump("(SELECT p.community_id FROM new_rows n JOIN plots p ON p.id = n.plot_id) x")}
            END IF;
            RETURN NULL;
        END $$
        """
    )
    for event in ("INSERT", "UPDATE", "DELETE"):
        ref = "OLD TABLE AS old_rows" if event == "DELETE" else "NEW TABLE AS new_rows"
        op.execute(
            f"CREATE TRIGGER plot_owners_allocation_{event.lower()} AFTER {event} ON plot_owners "
            f"REFERENCING {ref} FOR EACH STATEMENT "
            "EXECUTE FUNCTION kopilka_allocation_bump_plot_owners()"
        )
    # An owner's weight, activity or id (not their name, chat or language).
    op.execute(
        "CREATE TRIGGER owners_allocation_update AFTER UPDATE OF share_weight, is_active, owner_id "
        "ON owners FOR EACH ROW WHEN (OLD.share_weight IS DISTINCT FROM NEW.share_weight "
        "OR OLD.is_active IS DISTINCT FROM NEW.is_active OR OLD.owner_id IS DISTINCT FROM "
        "NEW.owner_id) EXECUTE FUNCTION kopilka_allocation_bump_row()"
    )
    op.execute(
        """
        CREATE FUNCTION kopilka_allocation_bump_community() RETURNS trigger LANGUAGE plpgsql AS $$
        BEGIN
            INSERT INTO allocation_versions AS v (community_id, version) VALUES (NEW.id, 1)
            ON CONFLICT (community_id) DO UPDATE SET version = v.version + 1;
            RETURN NULL;
        END $$
        """
    )
    op.execute(
        "CREATE TRIGGER communities_allocation_update AFTER UPDATE OF default_strategy, currency "
        "ON communities FOR EACH ROW WHEN (OLD.default_strategy IS DISTINCT FROM "
        "NEW.default_strategy OR OLD.currency IS DISTINCT FROM NEW.currency) "
        "EXECUTE FUNCTION kopilka_allocation_bump_community()"
    )
    op.create_table(
        "owner_period_totals",
        sa.Column("period_id", sa.BigInteger(), nullable=False),
        sa.Column("owner_pk", sa.BigInteger(), nullable=False),
        sa.Column("community_id", sa.BigInteger(), nullable=False),
        *(
            sa.Column(c, sa.BigInteger(), nullable=False, server_default="0")
            for c in [*(c for c, _ in _KINDS), "entries"]
        ),
        sa.ForeignKeyConstraint(
            ["period_id"], ["periods.id"], name=op.f("fk_owner_period_totals_period_id_periods")
        ),
        sa.ForeignKeyConstraint(
            ["owner_pk"], ["owners.id"], name=op.f("fk_owner_period_totals_owner_pk_owners")
        ),
        sa.ForeignKeyConstraint(
            ["community_id"],
            ["communities.id"],
            name=op.f("fk_owner_period_totals_community_id_communities"),
        ),
        sa.PrimaryKeyConstraint("period_id", "owner_pk", name=op.f("pk_owner_period_totals")),
    )
    op.create_table(
        "period_expense_totals",
        sa.Column("period_id", sa.BigInteger(), nullable=False),
        sa.Column("payment_type", sa.String(), nullable=False),
        sa.Column("pooled", sa.Boolean(), nullable=False),
        sa.Column("community_id", sa.BigInteger(), nullable=False),
        sa.Column("amount_minor", sa.BigInteger(), nullable=False, server_default="0"),
        sa.Column("expenses", sa.BigInteger(), nullable=False, server_default="0"),
        sa.ForeignKeyConstraint(
            ["period_id"], ["periods.id"], name=op.f("fk_period_expense_totals_period_id_periods")
        ),
        sa.ForeignKeyConstraint(
            ["community_id"],
            ["communities.id"],
            name=op.f("fk_period_expense_totals_community_id_communities"),
        ),
        sa.PrimaryKeyConstraint(
            "period_id", "payment_type", "pooled", name=op.f("pk_period_expense_totals")
        ),
    )
    # The expenses with a split of their own are allocated one by one: find them without
    # reading the period's other expenses.
    op.create_index(
        "ix_expenses_period_split",
        "expenses",
        ["period_id", "id"],
        postgresql_where=sa.text("split IS NOT NULL AND deleted_at IS NULL"),
    )
    op.execute(
        f"""
        CREATE FUNCTION kopilka_ledger_totals() RETURNS trigger LANGUAGE plpgsql AS $$
        BEGIN
            IF TG_OP = 'INSERT' THEN
                {_ledger_upsert("new_rows", "")}
            ELSIF TG_OP = 'DELETE' THEN
                {_ledger_upsert("old_rows", "-")}
            ELSE
                {_ledger_upsert("old_rows", "-")}
                {_ledger_upsert("new_rows", "")}
            END IF;
            RETURN NULL;
        END $$
        """
    )
    op.execute(
        f"""
        CREATE FUNCTION kopilka_expense_totals() RETURNS trigger LANGUAGE plpgsql AS $$
        BEGIN
            IF TG_OP = 'INSERT' THEN
                {_expense_upsert(_expense_delta("new_rows", ""))}
            ELSIF TG_OP = 'DELETE' THEN
                {_expense_upsert(_expense_delta("old_rows", "-"))}
            ELSE
                {
            _expense_upsert(
                _expense_delta("old_rows", "-") + " UNION ALL " + _expense_delta("new_rows", "")
            )
        }
            END IF;
            RETURN NULL;
        END $$
        """
    )
    for table, fn in (
        ("ledger_entries", "kopilka_ledger_totals"),
        ("expenses", "kopilka_expense_totals"),
    ):
        op.execute(
            f"CREATE TRIGGER {table}_totals_ins AFTER INSERT ON {table} "
            f"REFERENCING NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION {fn}()"
        )
        op.execute(
            f"CREATE TRIGGER {table}_totals_upd AFTER UPDATE ON {table} "
            "REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows "
            f"FOR EACH STATEMENT EXECUTE FUNCTION {fn}()"
        )
        op.execute(
            f"CREATE TRIGGER {table}_totals_del AFTER DELETE ON {table} "
            f"REFERENCING OLD TABLE AS old_rows FOR EACH STATEMENT EXECUTE FUNCTION {fn}()"
        )
    # What the rows already hold.
    op.execute(_ledger_upsert("ledger_entries", ""))
    op.execute(_expense_upsert(_expense_delta("expenses", "")))


def downgrade() -> None:
    for table in (*ALLOCATION_INPUTS, "owners", "plot_owners"):
        for event in ("insert", "update", "delete"):
            op.execute(f"DROP TRIGGER IF EXISTS {table}_allocation_{event} ON {table}")
    op.execute("DROP TRIGGER IF EXISTS communities_allocation_update ON communities")
    op.execute("DROP FUNCTION IF EXISTS kopilka_allocation_bump()")
    op.execute("DROP FUNCTION IF EXISTS kopilka_allocation_bump_row()")
    op.execute("DROP FUNCTION IF EXISTS kopilka_allocation_bump_plot_owners()")
    op.execute("DROP FUNCTION IF EXISTS kopilka_allocation_bump_community()")
    op.drop_table("allocation_versions")
    for table in ("ledger_entries", "expenses"):
        for op_name in ("ins", "upd", "del"):
            op.execute(f"DROP TRIGGER IF EXISTS {table}_totals_{op_name} ON {table}")
    op.execute("DROP FUNCTION IF EXISTS kopilka_ledger_totals()")
    op.execute("DROP FUNCTION IF EXISTS kopilka_expense_totals()")
    op.drop_index("ix_expenses_period_split", table_name="expenses")
    op.drop_table("period_expense_totals")
    op.drop_table("owner_period_totals")
