"""Scheduled debt reminders: at most one a week per owner whose debt passes the community's
threshold (``communities.debt_reminder_threshold_minor``).

The week is in the dedupe key (``debt:<owner pk>:<ISO year>-W<ISO week>``), so the schedule may
run any number of times, on any number of schedulers, and an owner still hears once a week.
Looking costs one live balance sheet per community, so each community is looked at once per
(local) day: the look is recorded in the audit log (``notifications.debt_reminders``), and later
runs that day skip it. The scheduler sweep may therefore call this on every tick.
"""

from __future__ import annotations

from datetime import date, datetime
from zoneinfo import ZoneInfo

from sqlalchemy import select
from sqlalchemy.orm import Session

from kopilka.balances.sheet import live_sheet
from kopilka.models import AuditEntry, Community, Owner, Period
from kopilka.notifications.service import DEBT_REMINDER, enqueue


def reminder_key(owner_pk: int, today: date) -> str:
    year, week, _ = today.isocalendar()
    return f"debt:{owner_pk}:{year}-W{week:02d}"


def current_open_period(session: Session, community_id: int, today: date) -> Period | None:
    """The OPEN period covering ``today``, else None."""
    return session.scalar(
        select(Period)
        .where(
            Period.community_id == community_id,
            Period.status == "OPEN",
            Period.start_date <= today,
            Period.end_date >= today,
        )
        .limit(1)
    )


RUN_ACTION = "notifications.debt_reminders"


def _looked_today(session: Session, community_id: int, day: date) -> bool:
    return (
        session.scalar(
            select(AuditEntry.id)
            .where(
                AuditEntry.entity == "community",
                AuditEntry.entity_id == str(community_id),
                AuditEntry.action == RUN_ACTION,
                AuditEntry.after["date"].astext == day.isoformat(),
            )
            .limit(1)
        )
        is not None
    )


def queue_debt_reminders(
    session: Session, today: date | None = None, community_id: int | None = None
) -> int:
    """Queue a ``debt_reminder`` for every reachable owner whose live balance in the OPEN period
    covering ``today`` is a debt larger than their community's threshold. ``today`` defaults to
    each community's local date (pass None from the scheduler). Returns how many rows were
    queued: none for an owner already reminded this ISO week, and no work at all for a community
    already looked at on that day. Flushes, never commits: the caller's transaction commits the
    rows and the record of the look together."""
    queued = 0
    q = select(Community).where(Community.debt_reminder_threshold_minor.is_not(None))
    if community_id is not None:
        q = q.where(Community.id == community_id)
    communities = session.scalars(q.order_by(Community.id)).all()
    for community in communities:
        threshold = community.debt_reminder_threshold_minor
        assert threshold is not None
        day = today or datetime.now(ZoneInfo(community.timezone)).date()
        if _looked_today(session, community.id, day):
            continue
        found = _queue_for(session, community, threshold, day)
        session.add(
            AuditEntry(
                community_id=community.id,
                actor="system:debt_reminders",
                action=RUN_ACTION,
                entity="community",
                entity_id=str(community.id),
                after={"date": day.isoformat(), "queued": found},
            )
        )
        queued += found
    session.flush()
    return queued


def _queue_for(session: Session, community: Community, threshold: int, day: date) -> int:
    period = current_open_period(session, community.id, day)
    if period is None:
        return 0
    reachable = set(
        session.scalars(
            select(Owner.id).where(
                Owner.community_id == community.id,
                Owner.telegram_id.is_not(None),
                Owner.telegram_blocked_at.is_(None),
            )
        )
    )
    if not reachable:
        return 0
    sheet = live_sheet(session, community, period)
    debtors = {
        row.owner_pk: row.balance
        for row in sheet.rows
        if row.owner_pk in reachable and row.balance < 0 and -row.balance > threshold
    }
    owners = session.scalars(select(Owner).where(Owner.id.in_(list(debtors))).order_by(Owner.id))
    queued = 0
    for owner in owners:
        queued += enqueue(
            session,
            owner,
            DEBT_REMINDER,
            reminder_key(owner.id, day),
            {
                "period_id": period.id,
                "period_name": period.name,
                "balance_minor": debtors[owner.id],
                "currency": community.currency,
            },
        )
    return queued
