"""Who is acting, in which community, inside which database session: every use case takes a Ctx."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime
from enum import StrEnum
from zoneinfo import ZoneInfo

from sqlalchemy.orm import Session

from kopilka.errors import Forbidden, NotFound
from kopilka.models import Community

# ``session.info`` key of the Community row that authentication already loaded.
PINNED_COMMUNITY = "kopilka.community"


class Role(StrEnum):
    OPERATOR = "operator"
    ADMIN = "admin"
    OWNER = "owner"
    SYSTEM = "system"


@dataclass(frozen=True)
class Actor:
    role: Role
    label: str  # what the audit log records: "api_key:3", "telegram:123", "operator", "system:..."
    community_id: int | None = None
    owner_pk: int | None = None
    telegram_id: int | None = None
    language: str | None = None  # a Telegram user's language_code, when we speak it

    @property
    def is_admin(self) -> bool:
        return self.role in (Role.ADMIN, Role.SYSTEM)

    @classmethod
    def system(cls, what: str, community_id: int | None = None) -> Actor:
        return cls(Role.SYSTEM, f"system:{what}", community_id)


@dataclass
class Ctx:
    session: Session
    actor: Actor
    request_id: str | None = None
    _community: Community | None = field(default=None, repr=False)

    @property
    def community_id(self) -> int:
        if self.actor.community_id is None:
            raise Forbidden("This action belongs to a community; the operator key has none")
        return self.actor.community_id

    @property
    def community(self) -> Community:
        if self._community is None:
            pinned = self.session.info.get(PINNED_COMMUNITY)
            if isinstance(pinned, Community) and pinned.id == self.community_id:
                self._community = pinned
                return pinned
            community = self.session.get(Community, self.community_id)
            if community is None:
                raise NotFound(f"Community {self.community_id} not found")
            self._community = community
        return self._community

    @property
    def currency(self) -> str:
        return self.community.currency

    def today(self) -> date:
        return datetime.now(ZoneInfo(self.community.timezone)).date()

    def local_date(self, value: date | datetime) -> date:
        if isinstance(value, datetime):
            if value.tzinfo is None:
                return value.date()
            return value.astimezone(ZoneInfo(self.community.timezone)).date()
        return value

    def require_admin(self) -> None:
        if not self.actor.is_admin:
            raise Forbidden("Only the community's admins may do this")
