"""Meters of the plots (SPEC §3a): the use cases, and a meter and its readings as answers."""

from __future__ import annotations

from decimal import Decimal

from sqlalchemy import func, select

from kopilka.audit.service import record, snapshot
from kopilka.context import Ctx, Role
from kopilka.errors import NotFound, PreconditionFailed, ValidationFailed
from kopilka.models import Meter, Plot, Reading
from kopilka.outputs import from_row
from kopilka.plots import queries as q
from kopilka.plots.consumption import ZONES
from kopilka.plots.schemas import MeterCreate, MeterOut, MeterPatch, ReadingOut
from kopilka.plots.service import decimal_text, get_plot, owner_holds

MAX_VALUE = Decimal("999999999999.9999")


def meter_type_of(raw: str) -> str:
    t = raw.strip().upper()
    if not t:
        raise ValidationFailed("meter_type: must not be blank")
    return t


def zone_values(
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


def meter_values(m: Meter, prefix: str = "initial") -> dict[str, Decimal]:
    raw = (m.initial_t1, m.initial_t2, m.initial_t3)
    return {ZONES[i]: Decimal(raw[i] or 0) for i in range(m.zones)}


def reading_values(r: Reading, zones: int) -> dict[str, Decimal]:
    raw = (r.value_t1, r.value_t2, r.value_t3)
    return {ZONES[i]: Decimal(raw[i] or 0) for i in range(zones)}


def decimal_texts(values: dict[str, Decimal]) -> dict[str, str]:
    return {k: decimal_text(v) for k, v in values.items()}


def meter_out(ctx: Ctx, m: Meter, plot: Plot, last: Reading | None = None) -> MeterOut:
    return from_row(
        MeterOut,
        m,
        plot_number=plot.number,
        zone_names=list(ZONES[: m.zones]),
        initial_readings=decimal_texts(meter_values(m)),
        active=m.is_active,
        last_reading=reading_out(ctx, last, m) if last is not None else None,
    )


def create_meter(ctx: Ctx, plot_id: int, data: MeterCreate) -> tuple[Meter, Plot]:
    ctx.require_admin()
    plot = get_plot(ctx, plot_id, lock=True)
    initial = zone_values(data.zones, data.initial_readings, "initial_readings", required=False)
    m = Meter(
        community_id=ctx.community_id,
        plot_id=plot.id,
        meter_type=meter_type_of(data.meter_type),
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
    if row is None or (ctx.actor.role == Role.OWNER and not owner_holds(ctx, row[1].id)):
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


def reading_out(
    ctx: Ctx, r: Reading, m: Meter, previous: dict[str, Decimal] | None = None
) -> ReadingOut:
    values = reading_values(r, m.zones)
    if previous is None:
        prev = ctx.session.scalar(
            q.PREVIOUS_READING,
            {"meter_id": m.id, "day": r.reading_date, "period_id": r.period_id},
        )
        previous = reading_values(prev, m.zones) if prev is not None else meter_values(m)
    base = dict.fromkeys(values, Decimal(0)) if r.replacement else previous
    return ReadingOut(
        id=r.id,
        meter_id=r.meter_id,
        period_id=r.period_id,
        reading_date=r.reading_date,
        values=decimal_texts(values),
        estimated=r.estimated,
        replacement=r.replacement,
        previous=decimal_texts(previous),
        consumption={z: decimal_text(values[z] - base[z]) for z in values},
        created_by=r.created_by,
        created_at=r.created_at,
        version=r.version,
    )


def readings_out(ctx: Ctx, readings: list[Reading], m: Meter) -> list[ReadingOut]:
    return [reading_out(ctx, r, m) for r in readings]
