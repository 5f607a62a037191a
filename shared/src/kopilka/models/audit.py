from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import ForeignKey, Index, text
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.orm import Mapped, mapped_column

from kopilka.models.base import Base, created_at_column


class AuditEntry(Base):
    """Every write, with its actor, and the before and after of what it changed."""

    __tablename__ = "audit_log"
    __table_args__ = (Index("ix_audit_log_entity", "entity", "entity_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    community_id: Mapped[int | None] = mapped_column(ForeignKey("communities.id"), index=True)
    actor: Mapped[str]
    action: Mapped[str]
    entity: Mapped[str]
    entity_id: Mapped[str | None]
    before: Mapped[dict[str, Any] | None]
    after: Mapped[dict[str, Any] | None]
    request_id: Mapped[str | None]
    at: Mapped[datetime] = created_at_column()


class IdempotencyRecord(Base):
    """The first answer to a money POST with an ``Idempotency-Key``, scoped to the community."""

    __tablename__ = "idempotency_records"
    __table_args__ = (
        Index(
            "uq_idempotency_scope_key",
            text("coalesce(community_id, 0)"),
            "key",
            unique=True,
        ),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    community_id: Mapped[int | None] = mapped_column(ForeignKey("communities.id"))
    key: Mapped[str]
    request_hash: Mapped[str]
    response_status: Mapped[int]
    response_body: Mapped[Any] = mapped_column(JSONB, nullable=True)
    response_headers: Mapped[dict[str, Any]] = mapped_column(default=dict)
    created_at: Mapped[datetime] = created_at_column()
