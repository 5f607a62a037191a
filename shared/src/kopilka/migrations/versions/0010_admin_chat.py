"""admin chat messages (issue 16): a notification may address a chat instead of an owner.

The treasurer who started a close, a carry-forward or a bank import from the Mini App is told how
it ended in their private chat (chat id = their Telegram user id), whether or not they own
property in the community: such a row has no ``owner_pk``, its ``chat_id`` is set when it is
written, and ``language`` is its reader's (their Telegram ``language_code``, else the
community's when NULL).

Revision ID: 0010
Revises: 0009
Create Date: 2026-11-30 07:30:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0010"
down_revision: str | None = "0009"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.alter_column("notifications", "owner_pk", existing_type=sa.BigInteger(), nullable=True)
    op.add_column("notifications", sa.Column("language", sa.String(length=8), nullable=True))
    op.create_check_constraint(
        op.f("ck_notifications_addressed"),
        "notifications",
        "owner_pk IS NOT NULL OR chat_id IS NOT NULL",
    )


def downgrade() -> None:
    op.execute("DELETE FROM notifications WHERE owner_pk IS NULL")
    op.drop_constraint(op.f("ck_notifications_addressed"), "notifications", type_="check")
    op.drop_column("notifications", "language")
    op.alter_column("notifications", "owner_pk", existing_type=sa.BigInteger(), nullable=False)
