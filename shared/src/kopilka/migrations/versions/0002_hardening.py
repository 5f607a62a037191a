"""hardening (issue 13)

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-30 04:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0002"
down_revision: str | None = "0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    # When a period was first closed: rollover closes only periods never closed before.
    op.add_column("periods", sa.Column("first_closed_at", sa.DateTime(timezone=True)))
    op.execute(
        """
        UPDATE periods p SET first_closed_at = coalesce(
            (SELECT min(a.at) FROM audit_log a
             WHERE a.entity = 'period' AND a.entity_id = CAST(p.id AS text)
               AND a.action = 'period.close'),
            p.closed_at)
        """
    )


def downgrade() -> None:
    op.drop_column("periods", "first_closed_at")
