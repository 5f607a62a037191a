"""Plots, meters and readings: the use cases (SPEC §3a).

Admins manage plots and meters and may record any reading at any time (an estimate, a meter's
replacement). Owners read their own plots and meters and send the readings of their own plots'
meters inside the community's reading window; everything else of theirs is 404.
"""

from __future__ import annotations

import re
from decimal import Decimal, InvalidOperation
from fractions import Fraction
from typing import Any

from sqlalchemy import func, select

from kopilka.audit.service import record, snapshot
from kopilka.context import Ctx, Role
from kopilka.errors import Conflict, Forbidden, NotFound, PreconditionFailed, ValidationFailed
from kopilka.models import Meter, Owner, Plot, PlotOwner, Reading
from kopilka.owners.service import resolve_owner
from kopilka.periods.service import get_period, open_period_for_write
from kopilka.plots import queries as q
from kopilka.plots.consumption import (
    ZONES,
    MeterUse,
    derived_weights,
    exact_text,
    period_consumption,
)
from kopilka.plots.schemas import (
    MeterCreate,
    MeterOut,
    MeterPatch,
    PlotCreate,
    PlotOut,
    PlotOwnerIn,
    PlotOwnerOut,
    PlotPatch,
    ReadingCreate,
    ReadingOut,
)
from kopilka.plots.window import in_window

_FRACTION = re.compile(r"\s*([0-9]+)\s*/\s*([0-9]+)\s*")
MAX_VALUE = Decimal("999999999999.9999")


def _num(value: Decimal) -> str:
    return format(value.normalize(), "f") if value else "0"


# ---------------------------------------------------------------- fractions


def parse_fraction(raw: object, owner_id: int) -> Fraction:
    """An owner's fraction of a plot, exact: "0.5", 0.25 (a JSON number, parsed as Decimal) or
    "1/3"; above 0 and at most 1."""
    field = f"owners: fraction of owner {owner_id}"
    if isinstance(raw, (bool, float)):
        raise ValidationFailed(f'{field}: expected an exact number such as "0.5" or "1/3"')
    try:
        if isinstance(raw, str) and (m := _FRACTION.fullmatch(raw)):
            if int(m.group(2)) == 0:
                raise ValidationFailed(f"{field}: {raw!r} divides by zero")
            f = Fraction(int(m.group(1)), int(m.group(2)))
        elif isinstance(raw, str):
            if not re.fullmatch(r"[0-9]+(\.[0-9]+)?", raw.strip()):
                raise ValidationFailed(f'{field}: {raw!r} is not a number such as "0.5" or "1/3"')
            f = Fraction(Decimal(raw.strip()))
        elif isinstance(raw, (int, Decimal)):
            f = Fraction(raw)
        else:
            raise ValidationFailed(f'{field}: expected a number such as "0.5" or "1/3"')
    except (InvalidOperation, ValueError):
        raise ValidationFailed(f'{field}: {raw!r} is not a number such as "0.5"') from None
    if f <= 0 or f > 1:
        raise ValidationFailed(f"{field} must be above 0 and at most 1, got {raw}")
    if f.denominator > 10**12:
        raise ValidationFailed(f"{field}: {raw} is too fine (denominator above 10^12)")
    return f


def fraction_text(f: Fraction) -> str:
    """ "0.5" when the fraction is a terminating decimal, else "1/3" (exact either way)."""
    d = f.denominator
    while d % 2 == 0:
        d //= 2
    while d % 5 == 0:
        d //= 5
    if d == 1:
        return exact_text(f)
    return f"{f.numerator}/{f.denominator}"


def _fractions(owners: list[PlotOwnerIn]) -> list[tuple[int, Fraction]]:
    """(owner id, fraction) summing to exactly 1; one owner without a fraction takes the rest."""
    if not owners:
        return []
    seen: set[int] = set()
    for o in owners:
        if o.owner_id in seen:
            raise ValidationFailed(f"owners: owner {o.owner_id} is named more than once")
        seen.add(o.owner_id)
    omitted = [o for o in owners if o.fraction is None]
    if len(omitted) > 1:
        raise ValidationFailed(
            "owners: give every co-owner's fraction (one owner alone may omit it; "
            f"owners {', '.join(str(o.owner_id) for o in omitted)} have none)"
        )
    given = {
        o.owner_id: parse_fraction(o.fraction, o.owner_id) for o in owners if o.fraction is not None
    }
    total = sum(given.values(), Fraction(0))
    if omitted:
        rest = 1 - total
        if rest <= 0:
            raise ValidationFailed(
                f"owners: the given fractions already total {fraction_text(total)}, "
                f"nothing is left for owner {omitted[0].owner_id}"
            )
        given[omitted[0].owner_id] = rest
    elif total != 1:
        raise ValidationFailed(
            f"owners: fractions total {fraction_text(total)}, they must total exactly 1"
        )
    return [(o.owner_id, given[o.owner_id]) for o in owners]


# ---------------------------------------------------------------- plots


def _owners_of(ctx: Ctx, plot_ids: list[int]) -> dict[int, list[PlotOwnerOut]]:
    out: dict[int, list[PlotOwnerOut]] = {pid: [] for pid in plot_ids}
    if not plot_ids:
        return out
    for plot_id, owner_id, name, num, den, _pk in ctx.session.execute(
        q.PLOT_OWNERS, {"plot_ids": plot_ids}
    ):
        out[plot_id].append(
            PlotOwnerOut(owner_id=owner_id, name=name, fraction=fraction_text(Fraction(num, den)))
        )
    return out


def plots_out(ctx: Ctx, plots: list[Plot]) -> list[PlotOut]:
    owners = _owners_of(ctx, [p.id for p in plots])
    return [
        PlotOut(
            id=p.id,
            number=p.number,
            area=_num(p.area),
            weight=_num(p.weight),
            owners=owners[p.id],
            active=p.is_active,
            created_at=p.created_at,
            version=p.version,
        )
        for p in plots
    ]


def plot_out(ctx: Ctx, plot: Plot) -> PlotOut:
    return plots_out(ctx, [plot])[0]


def _number(raw: str) -> str:
    number = raw.strip()
    if not number:
        raise ValidationFailed("number: must not be blank")
    return number


def _number_free(ctx: Ctx, number: str, exclude: int | None) -> None:
    found = ctx.session.scalar(
        q.PLOT_BY_NUMBER, {"community_id": ctx.community_id, "number": number}
    )
    if found is not None and found != exclude:
        raise Conflict(f"Plot {number!r} already exists in this community (id {found})")


def _set_owners(ctx: Ctx, plot: Plot, owners: list[PlotOwnerIn]) -> list[dict[str, Any]]:
    fractions = _fractions(owners)
    resolved = [(resolve_owner(ctx, oid, field="owners: owner_id"), f) for oid, f in fractions]
    ctx.session.query(PlotOwner).filter(PlotOwner.plot_id == plot.id).delete()
    for owner, f in resolved:
        ctx.session.add(
            PlotOwner(
                plot_id=plot.id,
                owner_pk=owner.id,
                fraction_num=f.numerator,
                fraction_den=f.denominator,
            )
        )
    ctx.session.flush()
    return [{"owner_id": o.owner_id, "fraction": fraction_text(f)} for o, f in resolved]


def _plot_snapshot(ctx: Ctx, plot: Plot) -> dict[str, Any]:
    snap = snapshot(plot)
    snap["owners"] = [o.model_dump() for o in _owners_of(ctx, [plot.id])[plot.id]]
    return snap


def create_plot(ctx: Ctx, data: PlotCreate) -> Plot:
    ctx.require_admin()
    number = _number(data.number)
    _fractions(data.owners)  # 400 before anything is written
    _number_free(ctx, number, None)
    plot = Plot(
        community_id=ctx.community_id,
        number=number,
        area=data.area,
        weight=data.weight if data.weight is not None else data.area,
        is_active=data.active,
    )
    ctx.session.add(plot)
    ctx.session.flush()
    _set_owners(ctx, plot, data.owners)
    record(ctx, "plot.create", "plot", plot.id, after=_plot_snapshot(ctx, plot))
    return plot


def get_plot(ctx: Ctx, plot_id: int, *, lock: bool = False) -> Plot:
    """A plot of this community; an owner sees only their own (404 otherwise)."""
    stmt = q.PLOT.with_for_update() if lock else q.PLOT
    plot = ctx.session.scalar(stmt, {"plot_id": plot_id, "community_id": ctx.community_id})
    if plot is None or (ctx.actor.role == Role.OWNER and not _holds(ctx, plot.id)):
        raise NotFound(f"Plot {plot_id} not found")
    return plot


def _holds(ctx: Ctx, plot_id: int) -> bool:
    return (
        ctx.session.scalar(q.OWNS_PLOT, {"plot_id": plot_id, "owner_pk": ctx.actor.owner_pk})
        is not None
    )


def patch_plot(ctx: Ctx, plot_id: int, data: PlotPatch, if_match: int | None = None) -> Plot:
    ctx.require_admin()
    plot = get_plot(ctx, plot_id, lock=True)
    if if_match is not None and if_match != plot.version:
        raise PreconditionFailed(
            f"Plot {plot_id} has changed (version {plot.version}, you sent {if_match}); "
            "read it again and retry"
        )
    changes = data.model_dump(exclude_unset=True)
    for key in ("number", "area", "weight", "owners", "active"):
        if key in changes and changes[key] is None:
            raise ValidationFailed(f"{key}: may not be null")
    if data.owners is not None:
        _fractions(data.owners)
    before = _plot_snapshot(ctx, plot)
    if data.number is not None:
        number = _number(data.number)
        _number_free(ctx, number, plot.id)
        plot.number = number
    if data.area is not None:
        if data.weight is None and plot.weight == plot.area:
            plot.weight = data.area  # the weight followed the area: it still does
        plot.area = data.area
    if data.weight is not None:
        plot.weight = data.weight
    if data.active is not None:
        plot.is_active = data.active
    if data.owners is not None:
        _set_owners(ctx, plot, data.owners)
    plot.version += 1
    plot.updated_at = func.now()  # type: ignore[assignment]
    ctx.session.flush()
    ctx.session.refresh(plot)
    record(ctx, "plot.update", "plot", plot.id, before=before, after=_plot_snapshot(ctx, plot))
    return plot


def deactivate_plot(ctx: Ctx, plot_id: int) -> None:
    """DELETE: the plot is deactivated (its meters and readings stay, for the periods before)."""
    patch_plot(ctx, plot_id, PlotPatch(active=False))


def list_plots(
    ctx: Ctx, *, owner_id: int | None, active: bool | None, after: int | None, limit: int
) -> list[Plot]:
    stmt = select(Plot).where(Plot.community_id == ctx.community_id)
    if ctx.actor.role == Role.OWNER:
        stmt = stmt.where(
            Plot.id.in_(select(PlotOwner.plot_id).where(PlotOwner.owner_pk == ctx.actor.owner_pk))
        )
    if owner_id is not None:
        stmt = stmt.where(
            Plot.id.in_(
                select(PlotOwner.plot_id)
                .join(Owner, Owner.id == PlotOwner.owner_pk)
                .where(Owner.owner_id == owner_id, Owner.community_id == ctx.community_id)
            )
        )
    if active is not None:
        stmt = stmt.where(Plot.is_active.is_(active))
    if after is not None:
        stmt = stmt.where(Plot.id > after)
    return list(ctx.session.scalars(stmt.order_by(Plot.id).limit(limit + 1)))


def owner_has_plots(ctx: Ctx, owner_pk: int) -> bool:
    """Whether the owner's share weight is derived from plots (PATCH of it is then 409)."""
    return owner_pk in derived_weights(ctx.session, ctx.community_id)


def derived_share_weight(ctx: Ctx, owner_pk: int) -> Fraction | None:
    return derived_weights(ctx.session, ctx.community_id).get(owner_pk)


# ---------------------------------------------------------------- meters


def _meter_type(raw: str) -> str:
    t = raw.strip().upper()
    if not t:
        raise ValidationFailed("meter_type: must not be blank")
    return t


def _zone_values(
    zones: int, values: dict[str, Decimal] | None, field: str, *, required: bool
) -> dict[str, Decimal]:
    names = ZONES[:zones]
    values = dict(values or {})
    norm: dict[str, Decimal] = {}
    for k, v in values.items():
        z = str(k).strip().upper()
        if z not in names:
            raise ValidationFailed(
                f"{field}: unknown zone {k!r}; this meter has {', '.join(names)}"
            )
        if isinstance(v, (bool, float)) or not isinstance(v, (Decimal, int)):
            raise ValidationFailed(f'{field}: {z} must be a number such as "1350.5"')
        d = Decimal(v)
        if not d.is_finite() or d < 0 or d > MAX_VALUE:
            raise ValidationFailed(f"{field}: {z} must be between 0 and {MAX_VALUE}, got {v}")
        if d != d.quantize(Decimal("0.0001")):
            raise ValidationFailed(f"{field}: {z} has more than 4 decimals: {v}")
        norm[z] = d
    if required:
        lacking = [z for z in names if z not in norm]
        if lacking:
            raise ValidationFailed(f"{field}: a value for {', '.join(lacking)} is required")
    return {z: norm.get(z, Decimal(0)) for z in names}


def _meter_values(m: Meter, prefix: str = "initial") -> dict[str, Decimal]:
    raw = (m.initial_t1, m.initial_t2, m.initial_t3)
    return {ZONES[i]: Decimal(raw[i] or 0) for i in range(m.zones)}


def _reading_values(r: Reading, zones: int) -> dict[str, Decimal]:
    raw = (r.value_t1, r.value_t2, r.value_t3)
    return {ZONES[i]: Decimal(raw[i] or 0) for i in range(zones)}


def _texts(values: dict[str, Decimal]) -> dict[str, str]:
    return {k: _num(v) for k, v in values.items()}


def meter_out(ctx: Ctx, m: Meter, plot: Plot, last: Reading | None = None) -> MeterOut:
    return MeterOut(
        id=m.id,
        plot_id=m.plot_id,
        plot_number=plot.number,
        meter_type=m.meter_type,
        serial=m.serial,
        zones=m.zones,
        zone_names=list(ZONES[: m.zones]),
        initial_readings=_texts(_meter_values(m)),
        active=m.is_active,
        last_reading=reading_out(ctx, last, m) if last is not None else None,
        created_at=m.created_at,
        version=m.version,
    )


def create_meter(ctx: Ctx, plot_id: int, data: MeterCreate) -> tuple[Meter, Plot]:
    ctx.require_admin()
    plot = get_plot(ctx, plot_id, lock=True)
    initial = _zone_values(data.zones, data.initial_readings, "initial_readings", required=False)
    m = Meter(
        community_id=ctx.community_id,
        plot_id=plot.id,
        meter_type=_meter_type(data.meter_type),
        serial=data.serial.strip(),
        zones=data.zones,
        initial_t1=initial["T1"],
        initial_t2=initial.get("T2"),
        initial_t3=initial.get("T3"),
        is_active=data.active,
    )
    if not m.serial:
        raise ValidationFailed("serial: must not be blank")
    ctx.session.add(m)
    ctx.session.flush()
    record(ctx, "meter.create", "meter", m.id, after=snapshot(m))
    return m, plot


def get_meter(ctx: Ctx, meter_id: int, *, lock: bool = False) -> tuple[Meter, Plot]:
    """A meter of this community; an owner sees only their own plots' meters (404 otherwise)."""
    stmt = q.METER.with_for_update(of=Meter) if lock else q.METER
    row = ctx.session.execute(
        stmt, {"meter_id": meter_id, "community_id": ctx.community_id}
    ).first()
    if row is None or (ctx.actor.role == Role.OWNER and not _holds(ctx, row[1].id)):
        raise NotFound(f"Meter {meter_id} not found")
    return row[0], row[1]


def patch_meter(
    ctx: Ctx, meter_id: int, data: MeterPatch, if_match: int | None = None
) -> tuple[Meter, Plot]:
    """Serial and active; a replaced meter is deactivated and a new one added to the plot."""
    ctx.require_admin()
    m, plot = get_meter(ctx, meter_id, lock=True)
    if if_match is not None and if_match != m.version:
        raise PreconditionFailed(
            f"Meter {meter_id} has changed (version {m.version}, you sent {if_match})"
        )
    changes = data.model_dump(exclude_unset=True)
    for key in ("serial", "active"):
        if key in changes and changes[key] is None:
            raise ValidationFailed(f"{key}: may not be null")
    before = snapshot(m)
    if data.serial is not None:
        if not data.serial.strip():
            raise ValidationFailed("serial: must not be blank")
        m.serial = data.serial.strip()
    if data.active is not None:
        m.is_active = data.active
    m.version += 1
    m.updated_at = func.now()  # type: ignore[assignment]
    ctx.session.flush()
    ctx.session.refresh(m)
    record(ctx, "meter.update", "meter", m.id, before=before, after=snapshot(m))
    return m, plot


def list_meters(ctx: Ctx, plot_id: int) -> list[tuple[Meter, Plot, Reading | None]]:
    plot = get_plot(ctx, plot_id)
    meters = list(
        ctx.session.scalars(select(Meter).where(Meter.plot_id == plot.id).order_by(Meter.id))
    )
    return [(m, plot, last_reading(ctx, m.id)) for m in meters]


def last_reading(ctx: Ctx, meter_id: int) -> Reading | None:
    return ctx.session.scalar(
        select(Reading)
        .where(Reading.meter_id == meter_id)
        .order_by(Reading.reading_date.desc(), Reading.id.desc())
        .limit(1)
    )


# ---------------------------------------------------------------- readings


def reading_out(
    ctx: Ctx, r: Reading, m: Meter, previous: dict[str, Decimal] | None = None
) -> ReadingOut:
    values = _reading_values(r, m.zones)
    if previous is None:
        prev = ctx.session.scalar(
            q.PREVIOUS_READING,
            {"meter_id": m.id, "day": r.reading_date, "period_id": r.period_id},
        )
        previous = _reading_values(prev, m.zones) if prev is not None else _meter_values(m)
    base = dict.fromkeys(values, Decimal(0)) if r.replacement else previous
    return ReadingOut(
        id=r.id,
        meter_id=r.meter_id,
        period_id=r.period_id,
        reading_date=r.reading_date,
        values=_texts(values),
        estimated=r.estimated,
        replacement=r.replacement,
        previous=_texts(previous),
        consumption={z: _num(values[z] - base[z]) for z in values},
        created_by=r.created_by,
        created_at=r.created_at,
        version=r.version,
    )


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
    values = _zone_values(m.zones, data.values, "values", required=True)
    period_id = ctx.session.scalar(q.PERIOD_OF_DAY, {"community_id": ctx.community_id, "day": day})
    if period_id is None:
        raise ValidationFailed(f"reading_date: no period of this community covers {day}")
    period = open_period_for_write(ctx, period_id)
    m, plot = get_meter(ctx, meter_id, lock=True)  # one writer per meter at a time
    prev = ctx.session.scalar(
        q.PREVIOUS_READING, {"meter_id": m.id, "day": day, "period_id": period.id}
    )
    previous = _reading_values(prev, m.zones) if prev is not None else _meter_values(m)
    if not data.replacement:
        below = [z for z in values if values[z] < previous[z]]
        if below:
            what = (
                f"the previous reading of {prev.reading_date} (reading {prev.id})"
                if prev is not None
                else "the meter's initial reading"
            )
            detail = "; ".join(f"{z} {_num(values[z])} is below {_num(previous[z])}" for z in below)
            raise ValidationFailed(
                f"Meter {m.serial} (plot {plot.number}): {detail}, {what}. "
                + (
                    'If the meter was replaced or rolled over, an admin sends "replacement": true'
                    if not owner
                    else "Check the numbers, or ask the treasurer if the meter was replaced"
                ),
                previous=_texts(previous),
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


def readings_out(ctx: Ctx, readings: list[Reading], m: Meter) -> list[ReadingOut]:
    return [reading_out(ctx, r, m) for r in readings]


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
        "previous": _texts(u.previous),
        "values": _texts(u.values) if u.values is not None else None,
        "consumption": _texts(use) if use is not None else None,
        "total": _num(sum(use.values(), Decimal(0))) if use is not None else None,
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
