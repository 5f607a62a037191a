"""Meters in the allocation: the owners' consumption for USAGE_BASED, TARIFF items with their
loss, the close's refusal to guess, and what a close stores of it (SPEC §3, §3a).

``kopilka.balances`` calls these while it shares a period's expenses; everything is keyed by the
owner's pk here, the allocation's own ids are the owners' ``owner_id``.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from fractions import Fraction
from typing import Any

from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from kopilka.allocation.exact import Weight
from kopilka.allocation.strategies import Strategy, parse_strategy
from kopilka.allocation.tariff import LOSS_STRATEGIES, allocate_tariff, parse_tariffs
from kopilka.errors import ValidationFailed
from kopilka.models import BudgetItem, ConsumptionCharge, Period
from kopilka.money import currency_exponent, format_minor
from kopilka.plots.consumption import PeriodConsumption, exact_text, period_consumption


@dataclass
class TariffDetail:
    """What the sheet shows of a TARIFF item (owner pks)."""

    meter_type: str
    tariffs: dict[str, str]
    loss_strategy: str
    tariff: dict[int, int]
    loss: int
    loss_shares: dict[int, int]
    consumption: dict[int, dict[str, Fraction]] = field(default_factory=dict)
    estimated: set[int] = field(default_factory=set)


class Meters:
    """The period's meters, read once per allocation and per meter type."""

    def __init__(self, session: Session, community_id: int, period: Period) -> None:
        self.session = session
        self.community_id = community_id
        self.period = period
        self._all: PeriodConsumption | None = None

    @property
    def all(self) -> PeriodConsumption:
        if self._all is None:
            self._all = period_consumption(
                self.session, self.community_id, self.period.id, self.period.start_date
            )
        return self._all

    def usage(self, meter_type: str) -> dict[int, Fraction]:
        """owner pk -> exact consumption of the type (all zones)."""
        return self.all.per_owner(meter_type)

    def require_readings(self, payment_type: str, meter_type: str) -> None:
        """A close never guesses: the meters of the type that lack a reading fail it, listed."""
        missing = [m for m in self.all.missing(meter_type) if m.owners]
        if not missing:
            return
        lines = "; ".join(
            f"plot {m.plot_number} ({', '.join(h.name or str(h.owner_id) for h in m.owners)}), "
            f"meter {m.serial}"
            for m in missing
        )
        raise ValidationFailed(
            f"Cannot close: {payment_type} is billed by {meter_type} meters and "
            f"{len(missing)} of them lack a reading for '{self.period.name}': {lines}. "
            'Record the readings, or an admin records an "estimated": true reading',
            missing_meters=[
                {
                    "meter_id": m.meter_id,
                    "serial": m.serial,
                    "plot_number": m.plot_number,
                    "owners": [h.owner_id for h in m.owners],
                }
                for m in missing
            ],
        )


def budget_tariff(
    strategy: str, meter_type: str | None, tariffs: object, loss_strategy: str | None, currency: str
) -> tuple[dict[str, str] | None, str | None]:
    """A budget item's ``tariffs`` and ``loss_strategy`` as stored, validated (400): a TARIFF
    item needs a meter type and tariffs; the other strategies take neither."""
    if strategy != Strategy.TARIFF.value:
        if tariffs is not None or loss_strategy is not None:
            raise ValidationFailed(
                f"tariffs and loss_strategy belong to a TARIFF item, not to {strategy}"
            )
        return None, None
    if not meter_type:
        raise ValidationFailed("A TARIFF budget item needs a meter_type (e.g. ELECTRICITY)")
    parsed = parse_tariffs(tariffs, currency_exponent(currency))
    loss = parse_strategy(loss_strategy or "PROPORTIONAL")
    if loss not in LOSS_STRATEGIES:
        raise ValidationFailed(
            f"loss_strategy: {loss.value} cannot share a loss; use PROPORTIONAL, FIXED_FEE or "
            "USAGE_BASED"
        )
    return {z: format(p.normalize(), "f") for z, p in parsed.items()}, loss.value


def tariff_pool(
    meters: Meters,
    item: BudgetItem,
    amount: int,
    participants: Mapping[int, Weight],
    pk_of: Mapping[int, int],
    currency: str,
    older_usage: Mapping[int, Any],
) -> tuple[dict[int, int], TariffDetail]:
    """A TARIFF item's shares (owner pk -> minor) and its detail. ``participants``: owner id ->
    share weight; ``older_usage``: owner id -> consumption from the older per-owner readings,
    counted in zone T1."""
    if not item.meter_type:
        raise ValidationFailed(f"Cannot allocate {item.payment_type}: TARIFF needs a meter type")
    exp = currency_exponent(currency)
    tariffs = parse_tariffs(item.tariffs or {}, exp)
    oid_of = {pk: oid for oid, pk in pk_of.items()}
    by_zone: dict[int, dict[str, Fraction]] = {}
    for pk, zones in meters.all.per_owner_zone(item.meter_type).items():
        oid = oid_of.get(pk)
        if oid is not None and oid in participants:
            by_zone[oid] = dict(zones)
    for oid, q in older_usage.items():
        if oid in participants and q:
            zones = by_zone.setdefault(oid, {})
            zones["T1"] = zones.get("T1", Fraction(0)) + Fraction(q)
    strategy = item.loss_strategy or Strategy.PROPORTIONAL.value
    r = allocate_tariff(amount, participants, by_zone, tariffs, exp, strategy)
    shares = {pk_of[oid]: v for oid, v in r.total().items() if v}
    detail = TariffDetail(
        meter_type=item.meter_type,
        tariffs={z: format(p.normalize(), "f") for z, p in tariffs.items()},
        loss_strategy=strategy,
        tariff={pk_of[oid]: v for oid, v in r.tariff.items()},
        loss=r.loss,
        loss_shares={pk_of[oid]: v for oid, v in r.loss_shares.items()},
        consumption={pk_of[oid]: z for oid, z in by_zone.items()},
        estimated=meters.all.estimated_owners(item.meter_type),
    )
    return shares, detail


def usage_detail(meters: Meters, meter_type: str, shares: dict[int, int]) -> TariffDetail | None:
    """A USAGE_BASED item's metered detail (for the statement: consumption, estimated)."""
    zones = meters.all.per_owner_zone(meter_type)
    if not zones:
        return None
    return TariffDetail(
        meter_type=meter_type.upper(),
        tariffs={},
        loss_strategy="",
        tariff=dict(shares),
        loss=0,
        loss_shares={},
        consumption=zones,
        estimated=meters.all.estimated_owners(meter_type),
    )


def detail_dict(
    detail: TariffDetail, owner_ids: Mapping[int, int], currency: str
) -> dict[str, Any]:
    """The sheet's view of a TARIFF item: the tariff charges, the loss and its shares."""
    f = format_minor
    return {
        "meter_type": detail.meter_type,
        "tariffs": detail.tariffs,
        "loss_strategy": detail.loss_strategy,
        "tariff_total": f(sum(detail.tariff.values()), currency),
        "loss": f(detail.loss, currency),
        "owners": [
            {
                "owner_id": owner_ids[pk],
                "consumption": {
                    z: exact_text(q) for z, q in sorted(detail.consumption.get(pk, {}).items())
                },
                "tariff_charge": f(detail.tariff.get(pk, 0), currency),
                "loss_share": f(detail.loss_shares.get(pk, 0), currency),
                "estimated": pk in detail.estimated,
            }
            for pk in sorted(
                set(detail.tariff) | set(detail.loss_shares), key=lambda p: owner_ids[p]
            )
        ],
    }


# ---------------------------------------------------------------- what a close stores


def store(session: Session, period_id: int, pools: list[tuple[str, TariffDetail]]) -> None:
    """Keep each owner's consumption, tariff charge and loss share of the TARIFF items."""
    rows = [
        {
            "period_id": period_id,
            "owner_pk": pk,
            "pool": key,
            "meter_type": d.meter_type,
            "consumption": {z: exact_text(q) for z, q in sorted(d.consumption.get(pk, {}).items())},
            "tariff_minor": d.tariff.get(pk, 0),
            "loss_minor": d.loss_shares.get(pk, 0),
            "estimated": pk in d.estimated,
        }
        for key, d in pools
        for pk in sorted(set(d.tariff) | set(d.loss_shares))
    ]
    if rows:
        session.execute(ConsumptionCharge.__table__.insert(), rows)  # type: ignore[attr-defined]


def summary(detail: TariffDetail | None) -> dict[str, Any]:
    """What the close's summary keeps of a TARIFF item beside the per-owner rows."""
    if detail is None:
        return {}
    return {
        "tariff": {
            "meter_type": detail.meter_type,
            "tariffs": detail.tariffs,
            "loss_strategy": detail.loss_strategy,
            "loss_minor": detail.loss,
        }
    }


def clear(session: Session, period_id: int) -> None:
    session.execute(delete(ConsumptionCharge).where(ConsumptionCharge.period_id == period_id))


def stored(
    session: Session, period_id: int, summary_pools: list[dict[str, Any]]
) -> dict[str, TariffDetail]:
    """A CLOSED period's TARIFF details as the close stored them (tariffs from the summary)."""
    out: dict[str, TariffDetail] = {}
    for p in summary_pools:
        t = p.get("tariff")
        if t:
            out[p["pool"]] = TariffDetail(
                t["meter_type"], t["tariffs"], t["loss_strategy"], {}, int(t["loss_minor"]), {}
            )
    for c in session.scalars(
        select(ConsumptionCharge).where(ConsumptionCharge.period_id == period_id)
    ):
        d = out.setdefault(c.pool, TariffDetail(c.meter_type, {}, "", {}, 0, {}))
        d.tariff[c.owner_pk] = c.tariff_minor
        d.loss_shares[c.owner_pk] = c.loss_minor
        d.consumption[c.owner_pk] = {z: Fraction(v) for z, v in c.consumption.items()}
        if c.estimated:
            d.estimated.add(c.owner_pk)
    return out


def owner_lines(
    session: Session, owner_pk: int, period_ids: list[int]
) -> dict[int, list[dict[str, Any]]]:
    """period id -> the owner's metered lines (consumption, tariff charge, loss share,
    estimated) of the closed periods, for the statement and the invoice."""
    out: dict[int, list[dict[str, Any]]] = {}
    if not period_ids:
        return out
    for c in session.scalars(
        select(ConsumptionCharge)
        .where(ConsumptionCharge.owner_pk == owner_pk, ConsumptionCharge.period_id.in_(period_ids))
        .order_by(ConsumptionCharge.period_id, ConsumptionCharge.pool)
    ):
        out.setdefault(c.period_id, []).append(
            {
                "pool": c.pool,
                "meter_type": c.meter_type,
                "consumption": c.consumption,
                "tariff_minor": c.tariff_minor,
                "loss_minor": c.loss_minor,
                "estimated": c.estimated,
            }
        )
    return out
