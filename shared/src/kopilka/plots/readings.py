"""Meter readings (SPEC §3a): an owner sends theirs inside the reading window, an admin any at
any time (an estimate, a meter's replacement); and the period's consumption per meter and owner."""

from __future__ import annotations

from decimal import Decimal
from fractions import Fraction
from typing import Any

from sqlalchemy import func, select

from kopilka.audit.service import record, snapshot
from kopilka.context import Ctx, Role
from kopilka.errors import Conflict, Forbidden, ValidationFailed
from kopilka.models import Meter, Reading
from kopilka.periods.service import get_period, open_period_for_write
from kopilka.plots import queries as q
from kopilka.plots.consumption import MeterUse, exact_text, period_consumption
from kopilka.plots.meters import decimal_texts, get_meter, meter_values, reading_values, zone_values
from kopilka.plots.schemas import ReadingCreate
from kopilka.plots.service import decimal_text, fraction_text
from kopilka.plots.window import in_window


def record_reading(ctx: Ctx, meter_id: int, data: ReadingCreate) -> tuple[Reading, Meter]:
    """Record a meter's reading; a second one in the same period replaces the first (audited)."""
    owner = ctx.actor.role == Role.OWNER
    if owner and (data.replacement or data.estimated):
        raise Forbidden(
            "Only the community's admins may mark a reading as replacement or estimated"
        )
    m, plot = get_meter(ctx, meter_id)
    today = ctx.today()
    if owner:
        window = ctx.community.reading_window
        if not in_window(window, today):
            assert window is not None
            raise Conflict(
                f"Readings are accepted from day {window['from_day']} to day "
                f"{window['to_day']} of the month; today is the {today.day}",
                reading_window=window,
            )
        if data.reading_date is not None and data.reading_date != today:
            raise ValidationFailed(f"reading_date: an owner sends today's reading ({today})")
        if not m.is_active:
            raise Conflict(f"Meter {m.serial} is no longer in use")
    day = data.reading_date or today
    values = zone_values(m.zones, data.values, "values", required=True)
    period_id = ctx.session.scalar(q.PERIOD_OF_DAY, {"community_id": ctx.community_id, "day": day})
    if period_id is None:
        raise ValidationFailed(f"reading_date: no period of this community covers {day}")
    period = open_period_for_write(ctx, period_id)
    m, plot = get_meter(ctx, meter_id, lock=True)  # one writer per meter at a time
    prev = ctx.session.scalar(
        q.PREVIOUS_READING, {"meter_id": m.id, "day": day, "period_id": period.id}
    )
    previous = reading_values(prev, m.zones) if prev is not None else meter_values(m)
    if not data.replacement:
        below = [z for z in values if values[z] < previous[z]]
        if below:
            what = (
                f"the previous reading of {prev.reading_date} (reading {prev.id})"
                if prev is not None
                else "the meter's initial reading"
            )
            detail = "; ".join(
                f"{z} {decimal_text(values[z])} is below {decimal_text(previous[z])}" for z in below
            )
            raise ValidationFailed(
                f"Meter {m.serial} (plot {plot.number}): {detail}, {what}. "
                + (
                    'If the meter was replaced or rolled over, an admin sends "replacement": true'
                    if not owner
                    else "Check the numbers, or ask the treasurer if the meter was replaced"
                ),
                previous=decimal_texts(previous),
                previous_reading_id=prev.id if prev is not None else None,
                previous_reading_date=prev.reading_date.isoformat() if prev is not None else None,
            )
    existing = ctx.session.scalar(q.READING_OF_PERIOD, {"meter_id": m.id, "period_id": period.id})
    if existing is not None:
        before = snapshot(existing)
        existing.reading_date = day
        existing.value_t1 = values["T1"]
        existing.value_t2 = values.get("T2")
        existing.value_t3 = values.get("T3")
        existing.estimated = data.estimated
        existing.replacement = data.replacement
        existing.created_by = ctx.actor.label
        existing.version += 1
        existing.updated_at = func.now()  # type: ignore[assignment]
        ctx.session.flush()
        ctx.session.refresh(existing)
        record(
            ctx, "reading.replace", "reading", existing.id, before=before, after=snapshot(existing)
        )
        return existing, m
    r = Reading(
        community_id=ctx.community_id,
        meter_id=m.id,
        period_id=period.id,
        reading_date=day,
        value_t1=values["T1"],
        value_t2=values.get("T2"),
        value_t3=values.get("T3"),
        estimated=data.estimated,
        replacement=data.replacement,
        created_by=ctx.actor.label,
    )
    ctx.session.add(r)
    ctx.session.flush()
    ctx.session.refresh(r)
    record(ctx, "reading.create", "reading", r.id, after=snapshot(r))
    return r, m


def list_readings(
    ctx: Ctx, meter_id: int, *, period_id: int | None, after: int | None, limit: int
) -> tuple[list[Reading], Meter]:
    m, _ = get_meter(ctx, meter_id)
    stmt = select(Reading).where(Reading.meter_id == m.id)
    if period_id is not None:
        stmt = stmt.where(Reading.period_id == period_id)
    if after is not None:
        stmt = stmt.where(Reading.id > after)
    return list(ctx.session.scalars(stmt.order_by(Reading.id).limit(limit + 1))), m


# ---------------------------------------------------------------- consumption


def _meter_dict(u: MeterUse) -> dict[str, Any]:
    use = u.consumption
    return {
        "meter_id": u.meter_id,
        "plot_id": u.plot_id,
        "plot_number": u.plot_number,
        "serial": u.serial,
        "meter_type": u.meter_type,
        "zones": u.zones,
        "active": u.active,
        "reading_id": u.reading_id,
        "reading_date": u.reading_date.isoformat() if u.reading_date else None,
        "previous": decimal_texts(u.previous),
        "values": decimal_texts(u.values) if u.values is not None else None,
        "consumption": decimal_texts(use) if use is not None else None,
        "total": decimal_text(sum(use.values(), Decimal(0))) if use is not None else None,
        "estimated": u.estimated,
        "replacement": u.replacement,
        "missing": u.missing,
        "owners": [
            {"owner_id": h.owner_id, "name": h.name, "fraction": fraction_text(h.fraction)}
            for h in u.owners
        ],
    }


def consumption(ctx: Ctx, period_id: int, meter_type: str | None = None) -> dict[str, Any]:
    """``GET /periods/{id}/consumption``: per meter and per owner (per meter type and zone),
    with the meters that lack a reading. An owner sees their own plots' meters and line."""
    period = get_period(ctx, period_id)
    pc = period_consumption(ctx.session, ctx.community_id, period.id, period.start_date, meter_type)
    meters = pc.meters
    if ctx.actor.role == Role.OWNER:
        meters = [u for u in meters if any(h.owner_pk == ctx.actor.owner_pk for h in u.owners)]
    types = sorted({u.meter_type for u in meters})
    owners: dict[int, dict[str, Any]] = {}
    holders = {h.owner_pk: h for u in meters for h in u.owners}
    for t in types:
        for pk, zones in pc.per_owner_zone(t).items():
            if ctx.actor.role == Role.OWNER and pk != ctx.actor.owner_pk:
                continue
            holder = holders[pk]
            line = owners.setdefault(
                pk, {"owner_id": holder.owner_id, "name": holder.name, "by_type": {}}
            )
            line["by_type"][t] = {
                "zones": {z: exact_text(v) for z, v in sorted(zones.items())},
                "total": exact_text(sum(zones.values(), Fraction(0))),
            }
    missing_by_owner: dict[int, list[int]] = {}
    for u in meters:
        if u.missing:
            for h in u.owners:
                missing_by_owner.setdefault(h.owner_pk, []).append(u.meter_id)
                owners.setdefault(
                    h.owner_pk, {"owner_id": h.owner_id, "name": h.name, "by_type": {}}
                )
    for pk, line in owners.items():
        line["missing_meter_ids"] = missing_by_owner.get(pk, [])
    if ctx.actor.role == Role.OWNER:
        owners = {pk: v for pk, v in owners.items() if pk == ctx.actor.owner_pk}
    return {
        "period_id": period.id,
        "period_name": period.name,
        "status": period.status,
        "meters": [_meter_dict(u) for u in meters],
        "owners": sorted(owners.values(), key=lambda o: o["owner_id"]),
        "missing": [_meter_dict(u) for u in meters if u.missing],
    }
