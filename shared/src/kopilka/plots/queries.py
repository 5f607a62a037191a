"""The plots domain's statements, built once (bind parameters, no per-request construction)."""

from __future__ import annotations

from sqlalchemy import BigInteger, Date, String, and_, bindparam, or_, select, true
from sqlalchemy.orm import aliased

from kopilka.models import Meter, Owner, Period, Plot, PlotOwner, Reading

PLOT = select(Plot).where(
    Plot.id == bindparam("plot_id"), Plot.community_id == bindparam("community_id")
)
PLOT_BY_NUMBER = select(Plot.id).where(
    Plot.community_id == bindparam("community_id"), Plot.number == bindparam("number")
)
PLOT_OWNERS = (
    select(
        PlotOwner.plot_id,
        Owner.owner_id,
        Owner.name,
        PlotOwner.fraction_num,
        PlotOwner.fraction_den,
        Owner.id,
    )
    .join(Owner, Owner.id == PlotOwner.owner_pk)
    .where(PlotOwner.plot_id.in_(bindparam("plot_ids", expanding=True)))
    .order_by(PlotOwner.plot_id, Owner.owner_id)
)
METER = (
    select(Meter, Plot)
    .join(Plot, Plot.id == Meter.plot_id)
    .where(Meter.id == bindparam("meter_id"), Meter.community_id == bindparam("community_id"))
)
OWNS_PLOT = select(PlotOwner.plot_id).where(
    PlotOwner.plot_id == bindparam("plot_id"), PlotOwner.owner_pk == bindparam("owner_pk")
)
READING_OF_PERIOD = (
    select(Reading)
    .where(Reading.meter_id == bindparam("meter_id"), Reading.period_id == bindparam("period_id"))
    .with_for_update()
)
#: the meter's last reading before a date, other than the period's own one
PREVIOUS_READING = (
    select(Reading)
    .where(
        Reading.meter_id == bindparam("meter_id"),
        Reading.reading_date < bindparam("day"),
        Reading.period_id != bindparam("period_id"),
    )
    .order_by(Reading.reading_date.desc(), Reading.id.desc())
    .limit(1)
)

#: Every active owner's derived share weight parts: (owner pk, plot weight, fraction).
DERIVED_WEIGHT_PARTS = (
    select(PlotOwner.owner_pk, Plot.weight, PlotOwner.fraction_num, PlotOwner.fraction_den)
    .join(Plot, Plot.id == PlotOwner.plot_id)
    .where(Plot.community_id == bindparam("community_id"), Plot.is_active.is_(True))
)
#: Owners (pks) of the community who hold at least one plot (active or not).
OWNERS_WITH_PLOTS = (
    select(PlotOwner.owner_pk)
    .join(Plot, Plot.id == PlotOwner.plot_id)
    .where(Plot.community_id == bindparam("community_id"), Plot.is_active.is_(True))
    .distinct()
)

#: Per meter of the community (of a type, or all): its reading in the period, its last reading
#: before the period (or None: the initial values count), its plot. A meter counts when it is
#: active on an active plot, or when it has a reading in the period (a meter replaced during it).
_cur = aliased(Reading, name="cur")
_r = aliased(Reading, name="r")
# The meter's last reading before the period: one index probe of ``ix_readings_meter_date`` per
# meter (LATERAL).
_prev = (
    select(_r.value_t1, _r.value_t2, _r.value_t3)
    .where(_r.meter_id == Meter.id, _r.reading_date < bindparam("start_date", type_=Date))
    .order_by(_r.reading_date.desc(), _r.id.desc())
    .limit(1)
    .lateral("prev")
)
_meter_type = bindparam("meter_type", type_=String)
PERIOD_METERS = (
    select(
        Meter.id,
        Meter.plot_id,
        Plot.number,
        Meter.serial,
        Meter.meter_type,
        Meter.zones,
        Meter.initial_t1,
        Meter.initial_t2,
        Meter.initial_t3,
        (Meter.is_active & Plot.is_active).label("active"),
        _cur.id.label("reading_id"),
        _cur.value_t1,
        _cur.value_t2,
        _cur.value_t3,
        _cur.estimated,
        _cur.replacement,
        _cur.reading_date,
        _prev.c.value_t1.label("prev_t1"),
        _prev.c.value_t2.label("prev_t2"),
        _prev.c.value_t3.label("prev_t3"),
    )
    .join(Plot, Plot.id == Meter.plot_id)
    .outerjoin(
        _cur,
        and_(_cur.meter_id == Meter.id, _cur.period_id == bindparam("period_id", type_=BigInteger)),
    )
    .outerjoin(_prev, true())
    .where(
        Meter.community_id == bindparam("community_id", type_=BigInteger),
        or_(_meter_type.is_(None), Meter.meter_type == _meter_type),
        or_(Meter.is_active & Plot.is_active, _cur.id.is_not(None)),
    )
    .order_by(Plot.number, Meter.id)
)

#: Every owner of the plots of the community: (plot id, owner pk, owner id, name, num, den).
COMMUNITY_PLOT_OWNERS = (
    select(
        PlotOwner.plot_id,
        PlotOwner.owner_pk,
        Owner.owner_id,
        Owner.name,
        PlotOwner.fraction_num,
        PlotOwner.fraction_den,
    )
    .join(Plot, Plot.id == PlotOwner.plot_id)
    .join(Owner, Owner.id == PlotOwner.owner_pk)
    .where(Plot.community_id == bindparam("community_id"))
)

#: the period of the community covering a day
PERIOD_OF_DAY = select(Period.id).where(
    Period.community_id == bindparam("community_id"),
    Period.start_date <= bindparam("day"),
    Period.end_date >= bindparam("day"),
)
