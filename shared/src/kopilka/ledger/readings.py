"""Meter readings: an owner's consumption in the period, the weights of a USAGE_BASED split.
They move no money themselves."""

from __future__ import annotations

from decimal import Decimal

from kopilka.audit.service import snapshot
from kopilka.context import Ctx
from kopilka.errors import ValidationFailed
from kopilka.ledger import schemas as s
from kopilka.ledger.posting import (
    DocumentKind,
    booking_date,
    finish_edit,
    insert_document,
    load_for_edit,
    not_blank,
    not_null,
    owned,
    owner_ids,
)
from kopilka.models import MeterReading
from kopilka.owners.service import resolve_owner
from kopilka.periods.service import open_period_for_write

READING = DocumentKind(MeterReading, "meter_reading", "Meter reading")


def _reading(value: Decimal) -> str:
    # The same text whether the value came from the request or from NUMERIC(20, 4): "29.5".
    return format(value.normalize(), "f")


def reading_out(ctx: Ctx, r: MeterReading, owner_id: int | None = None) -> s.MeterReadingOut:
    if owner_id is None:
        owner_id = owner_ids(ctx.session, [r.owner_pk])[r.owner_pk]
    return s.MeterReadingOut(
        id=r.id,
        period_id=r.period_id,
        owner_id=owner_id,
        meter_type=r.meter_type,
        start_reading=_reading(r.start_reading),
        end_reading=_reading(r.end_reading),
        consumption=_reading(r.end_reading - r.start_reading),
        date=r.date,
        created_at=r.created_at,
        version=r.version,
    )


def _check_readings(start: Decimal, end: Decimal) -> None:
    if end < start:
        raise ValidationFailed(
            f"end_reading ({end}) is below start_reading ({start}): consumption cannot be negative"
        )


def record_reading(ctx: Ctx, period_id: int, data: s.MeterReadingCreate) -> MeterReading:
    ctx.require_admin()
    _check_readings(data.start_reading, data.end_reading)
    meter_type = not_blank(data.meter_type, "meter_type").upper()
    period = open_period_for_write(ctx, period_id)
    day = booking_date(ctx, period, data.date)
    owner = resolve_owner(ctx, data.owner_id)
    r = MeterReading(
        community_id=ctx.community_id,
        period_id=period.id,
        owner_pk=owner.id,
        meter_type=meter_type,
        start_reading=data.start_reading,
        end_reading=data.end_reading,
        date=day,
        created_by=ctx.actor.label,
    )
    return insert_document(ctx, period, READING, r)


def patch_reading(
    ctx: Ctx, doc_id: int, data: s.MeterReadingPatch, if_match: int | None = None
) -> MeterReading:
    ctx.require_admin()
    r, period = load_for_edit(ctx, READING, doc_id, if_match)
    before = snapshot(r)
    changes = data.model_dump(exclude_unset=True)
    not_null(changes, "meter_type", "start_reading", "end_reading", "date")
    if changes.get("meter_type") is not None:
        r.meter_type = not_blank(data.meter_type, "meter_type").upper()
    if changes.get("start_reading") is not None:
        r.start_reading = data.start_reading  # type: ignore[assignment]
    if changes.get("end_reading") is not None:
        r.end_reading = data.end_reading  # type: ignore[assignment]
    _check_readings(r.start_reading, r.end_reading)
    if changes.get("date") is not None:
        r.date = booking_date(ctx, period, data.date)
    finish_edit(ctx, READING, r, period, before)
    return r


def list_readings(
    ctx: Ctx, period_id: int, *, owner_id: int | None, after: int | None, limit: int
) -> list[tuple[MeterReading, int | None]]:
    return owned(
        ctx, READING, period_id, MeterReading.owner_pk,
        owner_id=owner_id, after=after, limit=limit,
    )  # fmt: skip
