"""Reading reminders (SPEC §3a): the bot reminds owners whose meters lack a reading of the
current period on the reading window's first day and two days before its end, once per owner
per window and occasion.

The window's start date and the occasion are in the notification's dedupe key
(``reading:<owner pk>:<window start>:<FIRST_DAY|BEFORE_END>``), so the scheduler may look any
number of times, on any number of schedulers. A look that comes late (the scheduler was down on
the day) still reminds: the first-day reminder is due from the window's first day until the
second reminder's day, the second one until the window's end. A window too short for two
reminders (the second one's day is not after the first day) has only the first.
"""

from __future__ import annotations

import calendar
from collections import defaultdict
from datetime import date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import select
from sqlalchemy.orm import Session

from kopilka.models import Community, Owner, Period
from kopilka.notifications.service import enqueue
from kopilka.notifications.status import Kind
from kopilka.plots.consumption import period_consumption

READING_REMINDER = Kind.READING_REMINDER
FIRST_DAY, BEFORE_END = "FIRST_DAY", "BEFORE_END"


def _day(year: int, month: int, day: int) -> date:
    return date(year, month, min(day, calendar.monthrange(year, month)[1]))


def _shift(year: int, month: int, by: int) -> tuple[int, int]:
    n = year * 12 + month - 1 + by
    return n // 12, n % 12 + 1


def window_around(window: dict[str, Any], today: date) -> tuple[date, date] | None:
    """The window's (first day, last day) that contains ``today``, else None. A day past the
    month's end means its last day; from_day > to_day runs over the month's end."""
    lo, hi = int(window["from_day"]), int(window["to_day"])
    y, m = today.year, today.month
    if lo <= hi:
        start, end = _day(y, m, lo), _day(y, m, hi)
    elif today.day >= lo or today >= _day(y, m, lo):
        ny, nm = _shift(y, m, 1)
        start, end = _day(y, m, lo), _day(ny, nm, hi)
    else:
        py, pm = _shift(y, m, -1)
        start, end = _day(py, pm, lo), _day(y, m, hi)
    return (start, end) if start <= today <= end else None


def occasion(window: dict[str, Any], today: date) -> tuple[date, date, str] | None:
    """(window start, window end, FIRST_DAY or BEFORE_END) due on ``today``, else None."""
    found = window_around(window, today)
    if found is None:
        return None
    start, end = found
    second = end - timedelta(days=2)
    if second > start and today >= second:
        return start, end, BEFORE_END
    return start, end, FIRST_DAY


def _period_covering(session: Session, community_id: int, day: date) -> Period | None:
    return session.scalar(
        select(Period)
        .where(
            Period.community_id == community_id,
            Period.status == "OPEN",
            Period.start_date <= day,
            Period.end_date >= day,
        )
        .limit(1)
    )


def queue_reading_reminders(session: Session, today: date | None = None) -> int:
    """Queue a ``reading_reminder`` for each reachable owner whose plots' meters lack a reading of
    the OPEN period covering the day, on the days the window says. ``today`` defaults to each
    community's local date. Flushes, never commits. Returns how many rows were queued."""
    queued = 0
    for community in session.scalars(
        select(Community).where(Community.reading_window.is_not(None)).order_by(Community.id)
    ):
        day = today or datetime.now(ZoneInfo(community.timezone)).date()
        queued += queue_for(session, community, day)
    session.flush()
    return queued


def queue_for(session: Session, community: Community, day: date) -> int:
    window = community.reading_window
    if not window:
        return 0
    due = occasion(window, day)
    if due is None:
        return 0
    start, end, kind = due
    period = _period_covering(session, community.id, day)
    if period is None:
        return 0
    pc = period_consumption(session, community.id, period.id, period.start_date)
    missing: dict[int, list[dict[str, str]]] = defaultdict(list)
    for m in pc.missing():
        if not m.active:
            continue
        for h in m.owners:
            missing[h.owner_pk].append(
                {"serial": m.serial, "plot_number": m.plot_number, "meter_type": m.meter_type}
            )
    if not missing:
        return 0
    queued = 0
    for owner in session.scalars(
        select(Owner).where(Owner.id.in_(list(missing))).order_by(Owner.id)
    ):
        if not owner.is_active:
            continue
        queued += enqueue(
            session,
            owner,
            READING_REMINDER,
            f"reading:{owner.id}:{start.isoformat()}:{kind}",
            {
                "occasion": kind,
                "period_id": period.id,
                "period_name": period.name,
                "window_start": start.isoformat(),
                "window_end": end.isoformat(),
                "meters": missing[owner.id],
            },
        )
    return queued
