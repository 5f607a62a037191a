"""Who is acting, in which community, inside which database session: every use case takes a Ctx."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime
from enum import StrEnum
from zoneinfo import ZoneInfo

from sqlalchemy.orm import Session

from kopilka.errors import Forbidden, NotFound
from kopilka.models import Community

# ``session.info`` key of what authentication already read of the caller's community.
PINNED_COMMUNITY = "kopilka.community"


@dataclass(frozen=True, slots=True)
class CommunityFacts:
    """What nearly every request needs of its community: the currency of its money and the
    time zone of its calendar. Authentication by API key reads them with the key (no ORM object
    on the hot path); anything else is ``Ctx.community``, loaded when asked for."""

    id: int
    currency: str
    timezone: str


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
    _facts: CommunityFacts | None = field(default=None, repr=False)

    @property
    def community_id(self) -> int:
        if self.actor.community_id is None:
            raise Forbidden("This action belongs to a community; the operator key has none")
        return self.actor.community_id

    @property
    def community(self) -> Community:
        if self._community is None:
            community = self.session.get(Community, self.community_id)
            if community is None:
                raise NotFound(f"Community {self.community_id} not found")
            self._community = community
        return self._community

    @property
    def facts(self) -> CommunityFacts:
        """The community's currency and time zone: pinned by authentication, else read from
        ``community``."""
        if self._facts is None:
            pinned = self.session.info.get(PINNED_COMMUNITY)
            if isinstance(pinned, CommunityFacts) and pinned.id == self.community_id:
                self._facts = pinned
            else:
                c = self.community
                self._facts = CommunityFacts(c.id, c.currency, c.timezone)
        return self._facts

    @property
    def currency(self) -> str:
        return self.facts.currency

    def today(self) -> date:
        return datetime.now(ZoneInfo(self.facts.timezone)).date()

    def local_date(self, value: date | datetime) -> date:
        if isinstance(value, datetime):
            if value.tzinfo is None:
                return value.date()
            return value.astimezone(ZoneInfo(self.facts.timezone)).date()
        return value

    def require_admin(self) -> None:
        if not self.actor.is_admin:
            raise Forbidden("Only the community's admins may do this")
