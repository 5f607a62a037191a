"""Meter readings: an owner's consumption in the period, the weights of a USAGE_BASED split.
They move no money themselves."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from kopilka.context import Ctx
from kopilka.errors import ValidationFailed
from kopilka.ledger import posting
from kopilka.ledger import schemas as s
from kopilka.models import MeterReading, Period
from kopilka.owners.service import resolve_owner
from kopilka.periods.service import open_period_for_write


def _reading(value: Decimal) -> str:
    # The same text whether the value came from the request or from NUMERIC(20, 4): "29.5".
    return format(value.normalize(), "f")


def reading_out(ctx: Ctx, r: MeterReading, owner_id: int | None = None) -> s.MeterReadingOut:
    return s.MeterReadingOut(
        **posting.out_fields(ctx, r, owner_id),
        meter_type=r.meter_type,
        start_reading=_reading(r.start_reading),
        end_reading=_reading(r.end_reading),
        consumption=_reading(r.end_reading - r.start_reading),
    )


def _check_readings(start: Decimal, end: Decimal) -> None:
    if end < start:
        raise ValidationFailed(
            f"end_reading ({end}) is below start_reading ({start}): consumption cannot be negative"
        )


def record_reading(ctx: Ctx, period_id: int, data: s.MeterReadingCreate) -> MeterReading:
    ctx.require_admin()
    _check_readings(data.start_reading, data.end_reading)
    meter_type = posting.not_blank(data.meter_type, "meter_type").upper()
    period = open_period_for_write(ctx, period_id)
    day = posting.booking_date(ctx, period, data.date)
    owner = resolve_owner(ctx, data.owner_id)
    r = posting.document(
        ctx, period, MeterReading,
        owner_pk=owner.id, meter_type=meter_type, start_reading=data.start_reading,
        end_reading=data.end_reading, date=day,
    )  # fmt: skip
    return posting.insert_document(ctx, period, READING, r)


def _apply(
    ctx: Ctx, period: Period, r: MeterReading, data: s.MeterReadingPatch, changes: dict[str, Any]
) -> None:
    if changes.get("meter_type") is not None:
        r.meter_type = posting.not_blank(data.meter_type, "meter_type").upper()
    if changes.get("start_reading") is not None:
        r.start_reading = data.start_reading  # type: ignore[assignment]
    if changes.get("end_reading") is not None:
        r.end_reading = data.end_reading  # type: ignore[assignment]
    _check_readings(r.start_reading, r.end_reading)
    if changes.get("date") is not None:
        r.date = posting.booking_date(ctx, period, data.date)


READING = posting.DocumentKind(
    MeterReading, "meter_reading", "Meter reading",
    required=("meter_type", "start_reading", "end_reading", "date"), apply=_apply,
)  # fmt: skip


def list_readings(
    ctx: Ctx, period_id: int, *, owner_id: int | None, after: int | None, limit: int
) -> list[tuple[MeterReading, int | None]]:
    return posting.owned(ctx, READING, period_id, owner_id=owner_id, after=after, limit=limit)
