"""Automatic rollover: the scheduled sweep closes each OPEN period whose end date has passed,
creates the next one and carries balances forward (one ``rollover_period`` job per period).

The sweep can run any number of times, on any number of schedulers at once: the period row lock
(SKIP LOCKED) and the job's unique dedupe key make the second run a no-op."""

from __future__ import annotations

from calendar import monthrange
from datetime import date, datetime
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import select
from sqlalchemy.orm import Session

from kopilka.audit.service import record
from kopilka.context import Actor, Ctx
from kopilka.errors import Conflict
from kopilka.models import CarryForward, Community, Period
from kopilka.periods.carry_forward import carry_forward
from kopilka.periods.closing import begin_close, close
from kopilka.periods.service import CLOSED, CLOSING, OPEN, lock_period

ROLLOVER = "rollover_period"

MONTHS = [
    "January",
    "February",
    "March",
    "April",
    "May",
    "June",
    "July",
    "August",
    "September",
    "October",
    "November",
    "December",
]


def next_name(start: date, rollover: str) -> str:
    if rollover == "QUARTERLY":
        return f"Q{(start.month - 1) // 3 + 1} {start.year}"
    return f"{MONTHS[start.month - 1]} {start.year}"


def sweep(
    session: Session, now: datetime | None = None, community_id: int | None = None
) -> dict[str, Any]:
    """Queue a rollover for every OPEN period past its end, never closed before, in communities
    with rollover on (one community, or all). A period someone reopened is left to people."""
    queued: list[int] = []
    q = select(Community).where(Community.rollover != "NONE")
    if community_id is not None:
        q = q.where(Community.id == community_id)
    for community in list(session.scalars(q.order_by(Community.id))):
        today = (
            (now or datetime.now(ZoneInfo(community.timezone)))
            .astimezone(ZoneInfo(community.timezone))
            .date()
        )
        due = session.scalars(
            select(Period)
            .where(
                Period.community_id == community.id,
                Period.status == OPEN,
                Period.end_date < today,
                Period.first_closed_at.is_(None),
            )
            .order_by(Period.start_date)
            .with_for_update(skip_locked=True)
        ).all()
        for period in due:
            ctx = Ctx(session=session, actor=Actor.system("rollover", community.id))
            nxt = _next_period(ctx, community, period)
            if nxt is None:
                continue  # a hand-made period is in the way: leave it to the treasurer
            job = begin_close(
                ctx,
                period,
                kind=ROLLOVER,
                payload={"period_id": period.id, "next_period_id": nxt.id},
                dedupe_key=f"rollover:{period.id}:{today.isoformat()}",
            )
            if job is not None:
                queued.append(job.id)
    return {"rollover_jobs": queued}


def rollover_job(ctx: Ctx, payload: dict[str, Any]) -> dict[str, Any]:
    """Close a period past its end and carry its balances into the next one, atomically: the
    same close as ``POST /close`` (with the chain's recompute) and the same one-target rule as
    ``POST /carry-forward``."""
    period = lock_period(ctx.session, int(payload["period_id"]))
    result: dict[str, Any] = {"period_id": period.id}
    if period.status == CLOSING:
        result["close"] = close(ctx, period)
    elif period.status != CLOSED:
        raise Conflict(f"Period '{period.name}' is {period.status}: the rollover expected CLOSING")
    target = lock_period(ctx.session, int(payload["next_period_id"]))
    existing = ctx.session.scalar(
        select(CarryForward).where(CarryForward.from_period_id == period.id)
    )
    if existing is not None and existing.to_period_id != target.id:
        # a period carries into one next period: the treasurer's earlier choice stands
        result["carry_forward"] = {
            "skipped": f"already carried forward into period {existing.to_period_id}"
        }
    elif target.status == OPEN:
        result["carry_forward"] = carry_forward(ctx, period, target, notify=True)
    return result


def next_dates(period: Period, rollover: str) -> tuple[date, date]:
    start = period.end_date.toordinal() + 1
    first = date.fromordinal(start)
    months = 3 if rollover == "QUARTERLY" else 1
    y, m = first.year, first.month + months - 1
    y, m = y + (m - 1) // 12, (m - 1) % 12 + 1
    return first, date(y, m, monthrange(y, m)[1])


def _next_period(ctx: Ctx, community: Community, period: Period) -> Period | None:
    """The period after ``period`` (created when missing); None when another period overlaps
    where it would go."""
    session = ctx.session
    start, end = next_dates(period, community.rollover)
    nxt = session.scalar(
        select(Period).where(Period.community_id == community.id, Period.start_date == start)
    )
    if nxt is not None:
        return nxt
    clash = session.scalar(
        select(Period).where(
            Period.community_id == community.id,
            Period.start_date <= end,
            Period.end_date >= start,
        )
    )
    if clash is not None:
        return None
    name = next_name(start, community.rollover)
    if session.scalar(
        select(Period.id).where(Period.community_id == community.id, Period.name == name)
    ):
        name = f"{name} ({start.isoformat()})"
    nxt = Period(
        community_id=community.id,
        name=name,
        start_date=start,
        end_date=end,
        status=OPEN,
    )
    session.add(nxt)
    session.flush()
    record(ctx, "period.create", "period", nxt.id, after={"name": name, "by": "rollover"})
    return nxt
