from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import ARRAY, BigInteger, DateTime, ForeignKey, String, text
from sqlalchemy.orm import Mapped, mapped_column

from kopilka.models.base import Base, created_at_column


class Community(Base):
    """The tenant: one village or building."""

    __tablename__ = "communities"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str]
    currency: Mapped[str] = mapped_column(String(3))
    timezone: Mapped[str] = mapped_column(default="UTC")
    rollover: Mapped[str] = mapped_column(default="NONE", server_default="NONE")
    default_strategy: Mapped[str] = mapped_column(default="PROPORTIONAL")
    auto_create_owners: Mapped[bool] = mapped_column(default=True)
    admin_telegram_ids: Mapped[list[int]] = mapped_column(
        ARRAY(BigInteger), default=list, server_default=text("'{}'")
    )
    debt_reminder_threshold_minor: Mapped[int | None]
    #: the owners' reading window, ``{"from_day": 20, "to_day": 25}`` (SPEC §3a); None = always
    reading_window: Mapped[dict[str, Any] | None]
    # the default language of its people: messages, the Mini App, statements ("ru" or "en")
    language: Mapped[str] = mapped_column(String(8), default="en", server_default="en")
    # recipient, account, bank_name, bic, corr_account, inn (SPEC §4b); printed on invoices
    bank: Mapped[dict[str, Any] | None]
    created_at: Mapped[datetime] = created_at_column()
    version: Mapped[int] = mapped_column(default=1)


class ApiKey(Base):
    """An admin API key of a community; only its SHA-256 is stored."""

    __tablename__ = "api_keys"

    id: Mapped[int] = mapped_column(primary_key=True)
    community_id: Mapped[int] = mapped_column(ForeignKey("communities.id"), index=True)
    name: Mapped[str] = mapped_column(default="admin")
    key_hash: Mapped[str] = mapped_column(String(64), unique=True)
    prefix: Mapped[str] = mapped_column(String(16))
    created_by: Mapped[str]
    created_at: Mapped[datetime] = created_at_column()
    revoked_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
