"""Automatic rollover: the scheduled sweep closes each OPEN period whose end date has passed,
creates the next one and carries balances forward (one ``rollover_period`` job per period).

The sweep can run any number of times, on any number of schedulers at once: the period row lock
(SKIP LOCKED) and the job's unique dedupe key make the second run a no-op."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import select
from sqlalchemy.orm import Session

from kopilka.audit.service import record
from kopilka.context import Actor, Ctx
from kopilka.jobs import service as jobs
from kopilka.models import Community, Period
from kopilka.periods.closing import ROLLOVER, next_dates
from kopilka.periods.service import CLOSING, OPEN

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


def sweep(session: Session, now: datetime | None = None) -> dict[str, Any]:
    """Queue a rollover for every OPEN period past its end in communities with rollover on."""
    queued: list[int] = []
    communities = list(session.scalars(select(Community).where(Community.rollover != "NONE")))
    for community in communities:
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
            )
            .order_by(Period.start_date)
            .with_for_update(skip_locked=True)
        ).all()
        for period in due:
            ctx = Ctx(session=session, actor=Actor.system("rollover", community.id))
            start, end = next_dates(period, community.rollover)
            nxt = session.scalar(
                select(Period).where(
                    Period.community_id == community.id, Period.start_date == start
                )
            )
            if nxt is None:
                clash = session.scalar(
                    select(Period).where(
                        Period.community_id == community.id,
                        Period.start_date <= end,
                        Period.end_date >= start,
                    )
                )
                if clash is not None:
                    continue  # a hand-made period is in the way: leave it to the treasurer
                name = next_name(start, community.rollover)
                if session.scalar(
                    select(Period.id).where(
                        Period.community_id == community.id, Period.name == name
                    )
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
                record(
                    ctx, "period.create", "period", nxt.id, after={"name": name, "by": "rollover"}
                )
            job = jobs.enqueue(
                session,
                community_id=community.id,
                kind=ROLLOVER,
                payload={"period_id": period.id, "next_period_id": nxt.id},
                actor=ctx.actor.label,
                dedupe_key=f"rollover:{period.id}:{today.isoformat()}",
            )
            if job is not None:
                period.status = CLOSING
                period.version += 1
                record(ctx, "period.close_requested", "period", period.id, after={"by": "rollover"})
                queued.append(job.id)
    return {"rollover_jobs": queued}
