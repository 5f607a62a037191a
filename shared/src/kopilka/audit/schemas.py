from __future__ import annotations

from datetime import datetime
from typing import Any

from pydantic import BaseModel


class AuditEntryOut(BaseModel):
    """One write: who, when, what, and the object before and after it."""

    id: int
    at: datetime
    actor: str
    action: str
    object_type: str
    object_id: str | None
    before: dict[str, Any] | None
    after: dict[str, Any] | None
    request_id: str | None
