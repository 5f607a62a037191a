"""A period's consumption per meter and per owner (SPEC §3a), and the derived share weights.

A meter's consumption in a period = its reading in the period − its last reading before the
period (or its initial values); a reading marked ``replacement`` (the meter was replaced or
rolled over) counts from zero. An owner's consumption of a meter type = Σ over the meters of
their plots × their fraction of the plot: exact (``Fraction``), never rounded here.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal
from fractions import Fraction
from typing import Any

from sqlalchemy.orm import Session

from kopilka.plots import queries as q

ZONES = ("T1", "T2", "T3")


@dataclass
class PlotHolder:
    owner_pk: int
    owner_id: int
    name: str | None
    fraction: Fraction


@dataclass
class MeterUse:
    meter_id: int
    plot_id: int
    plot_number: str
    serial: str
    meter_type: str
    zones: int
    active: bool
    reading_id: int | None
    reading_date: date | None
    values: dict[str, Decimal] | None  # the period's reading
    previous: dict[str, Decimal]  # the last reading before, or the initial values
    estimated: bool
    replacement: bool
    owners: list[PlotHolder] = field(default_factory=list)

    @property
    def missing(self) -> bool:
        return self.values is None

    @property
    def consumption(self) -> dict[str, Decimal] | None:
        if self.values is None:
            return None
        base = dict.fromkeys(self.previous, Decimal(0)) if self.replacement else self.previous
        return {z: self.values[z] - base.get(z, Decimal(0)) for z in self.values}


@dataclass
class PeriodConsumption:
    meters: list[MeterUse]

    def of_type(self, meter_type: str) -> list[MeterUse]:
        t = meter_type.upper()
        return [m for m in self.meters if m.meter_type == t]

    def per_owner_zone(self, meter_type: str) -> dict[int, dict[str, Fraction]]:
        """owner pk -> zone -> exact consumption (meters lacking a reading count nothing)."""
        out: dict[int, dict[str, Fraction]] = defaultdict(lambda: defaultdict(Fraction))
        for m in self.of_type(meter_type):
            use = m.consumption
            if use is None:
                continue
            for h in m.owners:
                zones = out[h.owner_pk]
                for z, v in use.items():
                    zones[z] += Fraction(v) * h.fraction
        return {pk: dict(z) for pk, z in out.items()}

    def per_owner(self, meter_type: str) -> dict[int, Fraction]:
        """owner pk -> exact consumption over all zones."""
        return {
            pk: sum(z.values(), Fraction(0)) for pk, z in self.per_owner_zone(meter_type).items()
        }

    def missing(self, meter_type: str | None = None) -> list[MeterUse]:
        ms = self.meters if meter_type is None else self.of_type(meter_type)
        return [m for m in ms if m.missing]

    def estimated_owners(self, meter_type: str) -> set[int]:
        return {h.owner_pk for m in self.of_type(meter_type) if m.estimated for h in m.owners}


def _vals(zones: int, t1: Any, t2: Any, t3: Any) -> dict[str, Decimal]:
    raw = (t1, t2, t3)[:zones]
    return {ZONES[i]: Decimal(v if v is not None else 0) for i, v in enumerate(raw)}


def period_consumption(
    session: Session,
    community_id: int,
    period_id: int,
    start_date: date,
    meter_type: str | None = None,
) -> PeriodConsumption:
    """The meters of the community (of ``meter_type``, or all) with their reading of the period,
    their previous values and their plot's owners."""
    rows = session.execute(
        q.PERIOD_METERS,
        {
            "community_id": community_id,
            "period_id": period_id,
            "start_date": start_date,
            "meter_type": meter_type.upper() if meter_type else None,
        },
    ).all()
    holders: dict[int, list[PlotHolder]] = defaultdict(list)
    if rows:
        for plot_id, owner_pk, owner_id, name, num, den in session.execute(
            q.COMMUNITY_PLOT_OWNERS, {"community_id": community_id}
        ):
            holders[plot_id].append(PlotHolder(owner_pk, owner_id, name, Fraction(num, den)))
    meters = []
    for r in rows:
        initial = _vals(r.zones, r.initial_t1, r.initial_t2, r.initial_t3)
        previous = (
            _vals(r.zones, r.prev_t1, r.prev_t2, r.prev_t3) if r.prev_t1 is not None else initial
        )
        values = (
            _vals(r.zones, r.value_t1, r.value_t2, r.value_t3) if r.reading_id is not None else None
        )
        meters.append(
            MeterUse(
                meter_id=r.id,
                plot_id=r.plot_id,
                plot_number=r.number,
                serial=r.serial,
                meter_type=r.meter_type,
                zones=r.zones,
                active=r.active,
                reading_id=r.reading_id,
                reading_date=r.reading_date,
                values=values,
                previous=previous,
                estimated=bool(r.estimated),
                replacement=bool(r.replacement),
                owners=sorted(holders.get(r.plot_id, []), key=lambda h: h.owner_id),
            )
        )
    return PeriodConsumption(meters)


def derived_weights(session: Session, community_id: int) -> dict[int, Fraction]:
    """owner pk -> share weight derived from their active plots (Σ plot weight × fraction),
    exact. Owners without active plots are absent (their own ``share_weight`` applies)."""
    out: dict[int, Fraction] = defaultdict(Fraction)
    for pk, weight, num, den in session.execute(
        q.DERIVED_WEIGHT_PARTS, {"community_id": community_id}
    ):
        out[pk] += Fraction(weight) * Fraction(num, den)
    return dict(out)


def terminates(f: Fraction) -> bool:
    """Whether ``f`` is a terminating decimal (no prime but 2 and 5 in its denominator)."""
    d = f.denominator
    while d % 2 == 0:
        d //= 2
    while d % 5 == 0:
        d //= 5
    return d == 1


def exact_text(value: Fraction | Decimal, places: int = 6) -> str:
    """A decimal string: exact when it terminates, else rounded half-up to ``places``."""
    f = Fraction(value)
    if terminates(f):
        out = Decimal(f.numerator) / Decimal(f.denominator)
        return format(out.normalize(), "f") if out else "0"
    scaled = f * 10**places
    n = (abs(scaled.numerator) * 2 + scaled.denominator) // (2 * scaled.denominator)
    text_ = format(Decimal(n if f >= 0 else -n).scaleb(-places).normalize(), "f")
    return text_
