from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from typing import Protocol

from sqlalchemy import DateTime, ForeignKey, Numeric, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from kopilka.models.base import Base, created_at_column


class Owner(Base):
    """A member who pays. ``owner_id`` is the clients' integer (normally a Telegram user id)."""

    __tablename__ = "owners"
    __table_args__ = (UniqueConstraint("community_id", "owner_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    community_id: Mapped[int] = mapped_column(ForeignKey("communities.id"))
    owner_id: Mapped[int]
    name: Mapped[str | None]
    share_weight: Mapped[Decimal] = mapped_column(Numeric(18, 6), default=Decimal(1))
    telegram_id: Mapped[int | None] = mapped_column(index=True)
    # None: the community's language
    language: Mapped[str | None] = mapped_column(String(8), default=None)
    is_active: Mapped[bool] = mapped_column(default=True)
    telegram_blocked_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    created_at: Mapped[datetime] = created_at_column()
    version: Mapped[int] = mapped_column(default=1)


class OwnerFacts(Protocol):
    """What a write and its receipt need of an owner: an ``Owner``, or the ``OwnerRow`` that the
    hot path of a recorded payment reads without the ORM."""

    @property
    def id(self) -> int: ...
    @property
    def community_id(self) -> int: ...
    @property
    def owner_id(self) -> int: ...
    @property
    def telegram_id(self) -> int | None: ...
    @property
    def telegram_blocked_at(self) -> datetime | None: ...


@dataclass(frozen=True, slots=True)
class OwnerRow:
    """An owner's ``OwnerFacts`` as one statement read them (not an ORM object)."""

    id: int
    community_id: int
    owner_id: int
    telegram_id: int | None
    telegram_blocked_at: datetime | None


class LinkToken(Base):
    """A one-time token that links a Telegram chat to an owner through ``/start TOKEN``."""

    __tablename__ = "link_tokens"

    id: Mapped[int] = mapped_column(primary_key=True)
    community_id: Mapped[int] = mapped_column(ForeignKey("communities.id"))
    owner_pk: Mapped[int] = mapped_column(ForeignKey("owners.id"), index=True)
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    expires_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    used_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    created_at: Mapped[datetime] = created_at_column()
