"""The plots domain's statements, built once (bind parameters, no per-request construction).

The consumption of a period is raw SQL: a LATERAL look-up of each meter's last reading before
the period (one index probe of ``ix_readings_meter_date`` per meter), which Core would only
spell less clearly.
"""

from __future__ import annotations

from sqlalchemy import BigInteger, Date, String, bindparam, select, text

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
PERIOD_METERS = text(
    """
    SELECT m.id, m.plot_id, p.number, m.serial, m.meter_type, m.zones,
           m.initial_t1, m.initial_t2, m.initial_t3, (m.is_active AND p.is_active) AS active,
           cur.id AS reading_id, cur.value_t1, cur.value_t2, cur.value_t3,
           cur.estimated, cur.replacement, cur.reading_date,
           prev.value_t1 AS prev_t1, prev.value_t2 AS prev_t2, prev.value_t3 AS prev_t3
    FROM meters m
    JOIN plots p ON p.id = m.plot_id
    LEFT JOIN readings cur ON cur.meter_id = m.id AND cur.period_id = :period_id
    LEFT JOIN LATERAL (
        SELECT r.value_t1, r.value_t2, r.value_t3 FROM readings r
        WHERE r.meter_id = m.id AND r.reading_date < :start_date
        ORDER BY r.reading_date DESC, r.id DESC LIMIT 1
    ) prev ON true
    WHERE m.community_id = :community_id
      AND (CAST(:meter_type AS varchar) IS NULL OR m.meter_type = :meter_type)
      AND ((m.is_active AND p.is_active) OR cur.id IS NOT NULL)
    ORDER BY p.number, m.id
    """
).bindparams(
    bindparam("community_id", type_=BigInteger),
    bindparam("period_id", type_=BigInteger),
    bindparam("start_date", type_=Date),
    bindparam("meter_type", type_=String),
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
