from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import CheckConstraint, DateTime, ForeignKey, Index, text
from sqlalchemy.orm import Mapped, mapped_column

from kopilka.models.base import Base, created_at_column


class Notification(Base):
    """A message owed to an owner's Telegram chat, written in the transaction of its event.

    ``dedupe_key`` (event and owner) is unique: one event never reaches a chat twice.
    The bot claims PENDING rows with SKIP LOCKED, sends, and records the Telegram message id.
    """

    __tablename__ = "notifications"
    __table_args__ = (
        CheckConstraint("status IN ('PENDING','SENT','FAILED','SKIPPED')", name="status_known"),
        Index(
            "ix_notifications_due",
            "next_attempt_at",
            postgresql_where=text("status = 'PENDING'"),
        ),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    community_id: Mapped[int] = mapped_column(ForeignKey("communities.id"))
    owner_pk: Mapped[int] = mapped_column(ForeignKey("owners.id"), index=True)
    kind: Mapped[str]
    dedupe_key: Mapped[str] = mapped_column(unique=True)
    payload: Mapped[dict[str, Any]] = mapped_column(default=dict)
    status: Mapped[str] = mapped_column(default="PENDING")
    attempts: Mapped[int] = mapped_column(default=0)
    next_attempt_at: Mapped[datetime] = mapped_column(
        DateTime(timezone=True), server_default=text("now()")
    )
    chat_id: Mapped[int | None]
    telegram_message_id: Mapped[int | None]
    sent_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    error: Mapped[str | None]
    created_at: Mapped[datetime] = created_at_column()
