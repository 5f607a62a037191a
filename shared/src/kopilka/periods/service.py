"""Periods: create, read, rename; the OPEN check every transaction goes through."""

from __future__ import annotations

from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import and_, bindparam, func, select
from sqlalchemy.orm import Session

from kopilka.audit.service import created, snapshot, updated
from kopilka.context import Ctx
from kopilka.db import Compiled
from kopilka.errors import Conflict, NotFound, ValidationFailed, check_version
from kopilka.models import Community, Owner, OwnerRow, Period, PeriodFacts, PeriodRow
from kopilka.outputs import from_row
from kopilka.periods.schemas import PeriodCreate, PeriodOut, PeriodPatch

OPEN, CLOSING, CLOSED = "OPEN", "CLOSING", "CLOSED"


def period_out(p: Period) -> PeriodOut:
    return from_row(PeriodOut, p)


_PERIOD = select(Period).where(
    Period.id == bindparam("period_id"), Period.community_id == bindparam("community_id")
)
# Built once (every write reads its period): no statement construction per request.
_PERIOD_BY_LOCK: dict[str | None, Any] = {
    None: _PERIOD,
    "share": _PERIOD.with_for_update(read=True).execution_options(populate_existing=True),
    "update": _PERIOD.with_for_update().execution_options(populate_existing=True),
}


def get_period(ctx: Ctx, period_id: int, *, lock: str | None = None) -> Period:
    """A period of this community (404 otherwise). ``lock``: None, "share" or "update"."""
    period: Period | None = ctx.session.scalar(
        _PERIOD_BY_LOCK[lock], {"period_id": period_id, "community_id": ctx.community_id}
    )
    if period is None:
        raise NotFound(f"Period {period_id} not found")
    return period


_PERIOD_FOR_JOB = (
    select(Period)
    .where(Period.id == bindparam("period_id"))
    .with_for_update()
    .execution_options(populate_existing=True)
)


def lock_period(session: Session, period_id: int) -> Period:
    """A period locked FOR UPDATE, whatever its community (the worker's jobs)."""
    period = session.scalar(_PERIOD_FOR_JOB, {"period_id": period_id})
    if period is None:
        raise NotFound(f"Period {period_id} not found")
    return period


def community_of_period(session: Session, period: Period) -> Community:
    community = session.get(Community, period.community_id)
    assert community is not None
    return community


def require_status(period: PeriodFacts, wanted: str, rule: str, *, label: str = "Period") -> None:
    """409 naming the period and its status unless it is ``wanted``."""
    if period.status != wanted:
        raise Conflict(
            f"{label} '{period.name}' (id {period.id}) is {period.status}: {rule}",
            period_id=period.id,
            period_status=period.status,
        )


def require_open(period: PeriodFacts) -> None:
    require_status(period, OPEN, "only an OPEN period accepts new or edited transactions")


def open_period_for_write(ctx: Ctx, period_id: int) -> Period:
    """Lock the period (shared: writers do not block each other, a close waits for them) and
    check it is OPEN. Lock order everywhere: period, then owners."""
    period = get_period(ctx, period_id, lock="share")
    require_open(period)
    return period


# Compiled once (``db.Compiled``), rows not ORM objects: the hot path of a recorded payment.
_PERIOD_AND_OWNER = Compiled(
    select(
        Period.id,
        Period.community_id,
        Period.name,
        Period.status,
        Period.start_date,
        Period.end_date,
        Owner.id.label("owner_pk"),
        Owner.owner_id,
        Owner.telegram_id,
        Owner.telegram_blocked_at,
    )
    .outerjoin(
        Owner,
        and_(Owner.community_id == Period.community_id, Owner.owner_id == bindparam("owner_id")),
    )
    .where(Period.id == bindparam("period_id"), Period.community_id == bindparam("community_id"))
    .with_for_update(read=True, of=Period)
)


def open_period_for_owner_write(
    ctx: Ctx, period_id: int, owner_id: int
) -> tuple[PeriodRow, OwnerRow | None]:
    """``open_period_for_write`` and the look-up of the owner a transaction names, in one round
    trip (the hot path of a recorded contribution). The owner is None when unknown."""
    params = {"owner_id": owner_id, "period_id": period_id, "community_id": ctx.community_id}
    row = _PERIOD_AND_OWNER.run(ctx.session, params).fetchone()
    if row is None:
        raise NotFound(f"Period {period_id} not found")
    period = PeriodRow(row.id, row.community_id, row.name, row.status, row.start_date, row.end_date)
    require_open(period)
    if row.owner_pk is None:
        return period, None
    owner = OwnerRow(
        row.owner_pk, row.community_id, row.owner_id, row.telegram_id, row.telegram_blocked_at
    )
    return period, owner


def check_date_in_period(period: PeriodFacts, day: object) -> None:
    if day is None:
        return
    if not (period.start_date <= day <= period.end_date):  # type: ignore[operator]
        raise ValidationFailed(
            f"date: {day} is outside period '{period.name}' "
            f"({period.start_date} to {period.end_date})"
        )


def _check_unique_and_no_overlap(
    ctx: Ctx, name: str, start: object, end: object, *, exclude: int | None
) -> None:
    same_name = select(Period.id).where(
        Period.community_id == ctx.community_id, Period.name == name
    )
    if exclude is not None:
        same_name = same_name.where(Period.id != exclude)
    if ctx.session.scalar(same_name) is not None:
        raise Conflict(f"A period named '{name}' already exists in this community")
    overlap = select(Period).where(
        Period.community_id == ctx.community_id,
        and_(Period.start_date <= end, Period.end_date >= start),
    )
    if exclude is not None:
        overlap = overlap.where(Period.id != exclude)
    other = ctx.session.scalar(overlap.limit(1))
    if other is not None:
        raise Conflict(
            f"Period {start} to {end} overlaps period '{other.name}' "
            f"({other.start_date} to {other.end_date})"
        )


def create_period(ctx: Ctx, data: PeriodCreate) -> Period:
    ctx.require_admin()
    if data.start_date >= data.end_date:
        raise ValidationFailed(
            f"start_date ({data.start_date}) must be before end_date ({data.end_date})"
        )
    name = data.name.strip()
    if not name:
        raise ValidationFailed("name: must not be blank")
    # Serialise period creation per community so that the checks below cannot race.
    ctx.session.execute(select(func.pg_advisory_xact_lock(ctx.community_id, 1)))
    _check_unique_and_no_overlap(ctx, name, data.start_date, data.end_date, exclude=None)
    period = Period(
        community_id=ctx.community_id,
        name=name,
        start_date=data.start_date,
        end_date=data.end_date,
        description=data.description,
        status=OPEN,
    )
    created(ctx, period, "period")
    return period


def patch_period(
    ctx: Ctx, period_id: int, data: PeriodPatch, if_match: int | None = None
) -> Period:
    ctx.require_admin()
    period = get_period(ctx, period_id, lock="update")
    check_version(f"Period {period_id}", period.version, if_match)
    before = snapshot(period)
    changes = data.model_dump(exclude_unset=True)
    if "name" in changes:
        name = (changes["name"] or "").strip()
        if not name:
            raise ValidationFailed("name: must not be blank")
        ctx.session.execute(select(func.pg_advisory_xact_lock(ctx.community_id, 1)))
        _check_unique_and_no_overlap(
            ctx, name, period.start_date, period.end_date, exclude=period.id
        )
        # overlap is unchanged by a rename; the call above only re-checks the name
        period.name = name
    if "description" in changes:
        period.description = changes["description"]
    period.version += 1
    updated(ctx, period, "period", before)
    return period


def list_periods(ctx: Ctx, *, after: int | None, limit: int) -> list[Period]:
    q = select(Period).where(Period.community_id == ctx.community_id)
    if after is not None:
        q = q.where(Period.id > after)
    return list(ctx.session.scalars(q.order_by(Period.id).limit(limit + 1)))


def current_period(session: Session, community: Community) -> Period | None:
    """The OPEN period covering the community's today, else the latest OPEN one."""
    today = datetime.now(ZoneInfo(community.timezone)).date()
    covering = session.scalar(
        select(Period)
        .where(
            Period.community_id == community.id,
            Period.status == OPEN,
            Period.start_date <= today,
            Period.end_date >= today,
        )
        .limit(1)
    )
    if covering is not None:
        return covering
    return session.scalar(
        select(Period)
        .where(Period.community_id == community.id, Period.status == OPEN)
        .order_by(Period.start_date.desc())
        .limit(1)
    )
