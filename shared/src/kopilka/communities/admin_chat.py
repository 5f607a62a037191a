"""The treasurer's use cases of a Telegram chat (SPEC §8): who is an admin where, the current
period's debtors (``/debtors``) and the payments recorded today (``/today``).

The bot calls these (each runs its own transaction) and only formats the answer; a Telegram user
is an admin of the communities whose ``admin_telegram_ids`` list them.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from typing import TypeVar
from zoneinfo import ZoneInfo

from sqlalchemy import BigInteger, Engine, any_, literal, select
from sqlalchemy.orm import Session

from kopilka.balances.sheet import sheet_for
from kopilka.db import session_factory
from kopilka.models import Community, Contribution, Owner, Period

T = TypeVar("T")


@dataclass(frozen=True)
class AdminOf:
    community_id: int
    community: str
    currency: str
    language: str


@dataclass(frozen=True)
class Debtor:
    owner_id: int
    name: str | None
    balance_minor: int  # negative: the debt


@dataclass(frozen=True)
class Debtors:
    community: AdminOf
    period: str | None  # None: no period yet
    debtors: list[Debtor]

    @property
    def total_minor(self) -> int:
        return sum(d.balance_minor for d in self.debtors)


@dataclass(frozen=True)
class Payment:
    owner_id: int
    name: str | None
    amount_minor: int
    comment: str | None


@dataclass(frozen=True)
class Today:
    community: AdminOf
    day: date
    payments: list[Payment]

    @property
    def total_minor(self) -> int:
        return sum(p.amount_minor for p in self.payments)


def admin_of(session: Session, telegram_id: int) -> list[AdminOf]:
    rows = session.scalars(
        # :tg = ANY(admin_telegram_ids)
        select(Community)
        .where(literal(telegram_id, BigInteger) == any_(Community.admin_telegram_ids))
        .order_by(Community.id)
    )
    return [AdminOf(c.id, c.name, c.currency, c.language) for c in rows]


def current_period(session: Session, community: Community) -> Period | None:
    """The OPEN period containing the community's today, else the latest OPEN, else the latest."""
    today = datetime.now(ZoneInfo(community.timezone)).date()
    periods = list(
        session.scalars(
            select(Period)
            .where(Period.community_id == community.id)
            .order_by(Period.start_date.desc(), Period.id.desc())
        )
    )
    open_ = [p for p in periods if p.status == "OPEN"]
    for p in open_:
        if p.start_date <= today <= p.end_date:
            return p
    return open_[0] if open_ else (periods[0] if periods else None)


def _debtors(session: Session, a: AdminOf) -> Debtors:
    community = session.get(Community, a.community_id)
    assert community is not None
    period = current_period(session, community)
    if period is None:
        return Debtors(a, None, [])
    sheet = sheet_for(session, community, period)  # OPEN: the live preview; CLOSED: as stored
    owing = sorted((r for r in sheet.rows if r.balance < 0), key=lambda r: (r.balance, r.owner_id))
    return Debtors(a, period.name, [Debtor(r.owner_id, r.name, r.balance) for r in owing])


def _today(session: Session, a: AdminOf) -> Today:
    community = session.get(Community, a.community_id)
    assert community is not None
    zone = ZoneInfo(community.timezone)
    day = datetime.now(zone).date()
    start = datetime.combine(day, time.min, zone)
    rows = session.execute(
        select(Owner.owner_id, Owner.name, Contribution.amount_minor, Contribution.comment)
        .join(Owner, Owner.id == Contribution.owner_pk)
        .where(
            Contribution.community_id == a.community_id,
            Contribution.created_at >= start,
            Contribution.created_at < start + timedelta(days=1),
            Contribution.deleted_at.is_(None),
            Contribution.opening_from_period_id.is_(None),
        )
        .order_by(Contribution.created_at, Contribution.id)
    ).all()
    return Today(a, day, [Payment(r[0], r[1], r[2], r[3]) for r in rows])


class AdminChat:
    """What a treasurer may ask the bot."""

    def __init__(self, engine: Engine | None = None) -> None:
        self._factory = session_factory(engine)

    def _run(self, fn: Callable[[Session], T]) -> T:
        with self._factory() as session, session.begin():
            return fn(session)

    def admin_of(self, telegram_id: int) -> list[AdminOf]:
        return self._run(lambda s: admin_of(s, telegram_id))

    def debtors(self, telegram_id: int) -> list[Debtors]:
        return self._run(lambda s: [_debtors(s, a) for a in admin_of(s, telegram_id)])

    def today(self, telegram_id: int) -> list[Today]:
        return self._run(lambda s: [_today(s, a) for a in admin_of(s, telegram_id)])
