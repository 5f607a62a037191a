"""miniapp admin language (issue 16): the community's default language; an owner's own language
becomes optional (unset = the community's).

Before this revision every owner had ``language`` 'en' by default, so an owner of a Russian village
who never chose a language got English messages. The upgrade gives each community a language
('ru' for a rouble community, else 'en'), and forgets the old default 'en' of owners who never
linked Telegram (linking adopts the Telegram app's language, so a linked owner's language was a
real choice); those owners now follow their community.

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-30 04:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0005"
down_revision: str | None = "0004"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.add_column(
        "communities",
        sa.Column("language", sa.String(length=8), nullable=False, server_default="en"),
    )
    op.execute("UPDATE communities SET language = 'ru' WHERE currency = 'RUB'")
    op.alter_column("owners", "language", existing_type=sa.String(length=8), nullable=True)
    op.execute("UPDATE owners SET language = NULL WHERE language = 'en' AND telegram_id IS NULL")


def downgrade() -> None:
    op.execute(
        "UPDATE owners o SET language = c.language FROM communities c "
        "WHERE o.community_id = c.id AND o.language IS NULL"
    )
    op.alter_column("owners", "language", existing_type=sa.String(length=8), nullable=False)
    op.drop_column("communities", "language")
