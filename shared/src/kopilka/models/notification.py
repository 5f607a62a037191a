from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import CheckConstraint, DateTime, ForeignKey, Index, String, text
from sqlalchemy.orm import Mapped, mapped_column

from kopilka.models.base import Base, created_at_column


class Notification(Base):
    """A message owed to an owner's Telegram chat, written in the transaction of its event.

    Most rows address an owner (``owner_pk``: their chat and language are the owner's when it is
    sent). A row without an owner addresses a chat directly (``chat_id``, ``language``): the
    private chat of an admin told how their job ended, who may own nothing in the community.

    ``dedupe_key`` (event and owner) is unique: one event never reaches a chat twice.
    The bot claims PENDING rows with SKIP LOCKED, sends, and records the Telegram message id.
    """

    __tablename__ = "notifications"
    __table_args__ = (
        CheckConstraint("status IN ('PENDING','SENT','FAILED','SKIPPED')", name="status_known"),
        CheckConstraint("owner_pk IS NOT NULL OR chat_id IS NOT NULL", name="addressed"),
        Index(
            "ix_notifications_due",
            "next_attempt_at",
            postgresql_where=text("status = 'PENDING'"),
        ),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    community_id: Mapped[int] = mapped_column(ForeignKey("communities.id"))
    owner_pk: Mapped[int | None] = mapped_column(ForeignKey("owners.id"), index=True)
    kind: Mapped[str]
    dedupe_key: Mapped[str] = mapped_column(unique=True)
    payload: Mapped[dict[str, Any]] = mapped_column(default=dict)
    status: Mapped[str] = mapped_column(default="PENDING")
    attempts: Mapped[int] = mapped_column(default=0)
    next_attempt_at: Mapped[datetime] = mapped_column(
        DateTime(timezone=True), server_default=text("now()")
    )
    chat_id: Mapped[int | None]
    language: Mapped[str | None] = mapped_column(String(8))  # a chat's row: its reader's
    telegram_message_id: Mapped[int | None]
    sent_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    error: Mapped[str | None]
    created_at: Mapped[datetime] = created_at_column()
