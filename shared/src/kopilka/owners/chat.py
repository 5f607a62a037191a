"""What an owner asks of Kopilka through a Telegram chat, by their Telegram user id: who they are
in which communities, linking the chat, their balance in each community's current period, and a
short statement. Each call is one transaction of its own: the bot calls these and renders the
answers; it opens no session and reads no table itself."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, datetime
from typing import TypeVar

from sqlalchemy import Engine, select
from sqlalchemy.orm import Session

from kopilka.audit.service import record
from kopilka.balances.service import owner_period_balance
from kopilka.context import Actor, Ctx, Role
from kopilka.db import session_factory
from kopilka.models import Community, Owner
from kopilka.owners.linking import link_telegram, spoken_language
from kopilka.periods.service import current_period
from kopilka.statements.service import recent_closings

T = TypeVar("T")


@dataclass(frozen=True)
class Membership:
    """The user is this owner in this community."""

    owner_pk: int
    owner_name: str | None
    language: str | None  # the owner's language, None when not set
    community: str
    currency: str


@dataclass(frozen=True)
class CurrentBalance:
    """An owner's balance in their community's current period (none: no OPEN period)."""

    community: str
    period_name: str | None
    balance_minor: int
    currency: str
    start_date: date | None = None
    end_date: date | None = None


@dataclass(frozen=True)
class StatementSummary:
    community: str
    currency: str
    closed: list[tuple[str, int]]  # (period name, closing balance), newest first
    current: CurrentBalance


def _membership(owner: Owner, community: Community) -> Membership:
    # the owner's language, else the community's (SPEC §8)
    language = owner.language or community.language
    return Membership(owner.id, owner.name, language, community.name, community.currency)


class OwnerChat:
    """The owner-facing use cases of a Telegram chat."""

    STATEMENT_PERIODS = 3

    def __init__(self, engine: Engine | None = None) -> None:
        self._factory = session_factory(engine)

    def _run(self, fn: Callable[[Session], T]) -> T:
        with self._factory() as session, session.begin():
            return fn(session)

    # ------------------------------------------------------------ use cases

    def memberships(self, telegram_id: int) -> list[Membership]:
        return self._run(lambda s: [_membership(o, c) for o, c in _owners(s, telegram_id)])

    def link(self, token: str, telegram_id: int, language: str | None) -> Membership | None:
        """Spend a one-time link token: the chat becomes the owner's (see ``link_telegram``)."""

        def run(session: Session) -> Membership | None:
            owner = link_telegram(session, token, telegram_id, language)
            if owner is None:
                return None
            community = session.get(Community, owner.community_id)
            assert community is not None
            return _membership(owner, community)

        return self._run(run)

    def start(self, telegram_id: int, language: str | None) -> list[Membership]:
        """A returning user says /start: forget a block (they talk to us again), adopt their
        Telegram language when we speak it (audited). Their memberships afterwards."""
        return self._run(lambda s: _start(s, telegram_id, language))

    def balances(self, telegram_id: int) -> tuple[list[Membership], list[CurrentBalance]]:
        def run(session: Session) -> tuple[list[Membership], list[CurrentBalance]]:
            owners = _owners(session, telegram_id)
            return (
                [_membership(o, c) for o, c in owners],
                [_current(session, o, c) for o, c in owners],
            )

        return self._run(run)

    def statements(self, telegram_id: int) -> tuple[list[Membership], list[StatementSummary]]:
        def run(session: Session) -> tuple[list[Membership], list[StatementSummary]]:
            owners = _owners(session, telegram_id)
            summaries = [
                StatementSummary(
                    community=c.name,
                    currency=c.currency,
                    closed=recent_closings(session, c.id, o.id, self.STATEMENT_PERIODS),
                    current=_current(session, o, c),
                )
                for o, c in owners
            ]
            return [_membership(o, c) for o, c in owners], summaries

        return self._run(run)


def _owners(session: Session, telegram_id: int) -> list[tuple[Owner, Community]]:
    rows = session.execute(
        select(Owner, Community)
        .join(Community, Community.id == Owner.community_id)
        .where(Owner.telegram_id == telegram_id)
        .order_by(Community.name, Owner.id)
    ).all()
    return [(o, c) for o, c in rows]


def _current(session: Session, owner: Owner, community: Community) -> CurrentBalance:
    period = current_period(session, community)
    if period is None:
        return CurrentBalance(community.name, None, 0, community.currency)
    balance = owner_period_balance(session, community, period, owner.id, owner.owner_id)
    return CurrentBalance(
        community.name, period.name, balance, community.currency, period.start_date,
        period.end_date,
    )  # fmt: skip


def _start(session: Session, telegram_id: int, language: str | None) -> list[Membership]:
    owners = session.scalars(
        select(Owner)
        .where(Owner.telegram_id == telegram_id)
        .order_by(Owner.id)
        .with_for_update()
        .execution_options(populate_existing=True)
    ).all()
    wanted = spoken_language(language)
    for owner in owners:
        before = {"language": owner.language, "telegram_blocked_at": owner.telegram_blocked_at}
        changed = False
        if owner.telegram_blocked_at is not None:
            owner.telegram_blocked_at = None
            changed = True
        if wanted is not None and owner.language != wanted:
            owner.language = wanted
            changed = True
        if changed:
            owner.version += 1
            ctx = Ctx(
                session,
                Actor(
                    Role.OWNER, f"telegram:{telegram_id}", owner.community_id, owner.id,
                    telegram_id,
                ),
            )  # fmt: skip
            record(
                ctx,
                "owner.telegram_start",
                "owner",
                owner.owner_id,
                before={
                    "language": before["language"],
                    "telegram_blocked_at": (
                        before["telegram_blocked_at"].isoformat()
                        if isinstance(before["telegram_blocked_at"], datetime)
                        else None
                    ),
                },
                after={"language": owner.language, "telegram_blocked_at": None},
            )
    session.flush()
    return [_membership(o, c) for o, c in _owners(session, telegram_id)]
