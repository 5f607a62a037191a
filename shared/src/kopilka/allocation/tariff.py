"""TARIFF (SPEC §3): consumption x tariff per zone, the loss shared by the loss strategy."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from decimal import Decimal
from fractions import Fraction

from kopilka.allocation.exact import (
    Weight,
    check_total,
    decimals,
    fraction_text,
    half_up,
    id_list,
    ratio,
)
from kopilka.allocation.strategies import Strategy, allocate, parse_strategy
from kopilka.errors import ValidationFailed
from kopilka.money import MAX_MINOR, parse_decimal

#: Strategies a TARIFF item may share its loss by.
LOSS_STRATEGIES = frozenset({Strategy.PROPORTIONAL, Strategy.FIXED_FEE, Strategy.USAGE_BASED})
TARIFF_ZONES = ("T1", "T2", "T3")
#: Most decimals of a tariff (a price per kWh may have more than the currency's).
MAX_TARIFF_DECIMALS = 6


@dataclass(frozen=True)
class TariffShares:
    """A TARIFF item's allocation: each owner's tariff charge, the loss, its shares."""

    tariff: dict[int, int]  # owner -> consumption x tariff, half-up, minor units
    loss: int  # the bill - the tariff charges: positive or negative
    loss_shares: dict[int, int]  # owner -> share of the loss (negative when the loss is)

    def total(self) -> dict[int, int]:
        keys = set(self.tariff) | set(self.loss_shares)
        return {k: self.tariff.get(k, 0) + self.loss_shares.get(k, 0) for k in sorted(keys)}


def parse_tariffs(raw: object, currency_exponent: int) -> dict[str, Decimal]:
    """A TARIFF item's ``tariffs``: ``{"T1": "5.12", "T2": "2.48"}``, price per unit per zone,
    exact, at least 0, at most 6 decimals and at most the largest amount."""
    example = '{"T1": "5.12", "T2": "2.48"}'
    if not isinstance(raw, Mapping) or not raw:
        raise ValidationFailed(f"tariffs: expected a price per zone such as {example}")
    out: dict[str, Decimal] = {}
    for k, v in raw.items():
        zone = str(k).strip().upper()
        if zone not in TARIFF_ZONES:
            raise ValidationFailed(f"tariffs: unknown zone {k!r}; zones are T1, T2 and T3")
        if zone in out:
            raise ValidationFailed(f"tariffs: zone {zone} is given twice")
        d = parse_decimal(v, f"tariffs: {zone}")
        if d < 0:
            raise ValidationFailed(f"tariffs: {zone} is negative: {v}")
        if decimals(d) > MAX_TARIFF_DECIMALS:
            raise ValidationFailed(
                f"tariffs: {zone} has more than {MAX_TARIFF_DECIMALS} decimals: {v}"
            )
        if d.scaleb(currency_exponent) > MAX_MINOR:
            raise ValidationFailed(f"tariffs: {zone} is too large: {v}")
        out[zone] = d
    return {z: out[z] for z in TARIFF_ZONES if z in out}


def _signed_shares(
    strategy: Strategy,
    amount: int,
    owners: Mapping[int, Weight],
    usage: Mapping[int, Weight],
) -> dict[int, int]:
    """``amount`` (may be negative) shared by ``strategy`` with the largest remainder function;
    a negative amount is shared as its magnitude, negated, so the shares still sum exactly."""
    if amount == 0:
        return dict.fromkeys(owners, 0)
    magnitude = abs(amount)
    if strategy is Strategy.USAGE_BASED:
        shares = allocate(strategy, magnitude, owners, consumption=usage)
    else:
        shares = allocate(strategy, magnitude, owners)
    if amount < 0:
        return {k: -v for k, v in shares.items()}
    return shares


def allocate_tariff(
    bill_minor: int,
    owners: Mapping[int, Weight],
    consumption: Mapping[int, Mapping[str, Weight]],
    tariffs: Mapping[str, Decimal],
    currency_exponent: int,
    loss_strategy: Strategy | str = Strategy.PROPORTIONAL,
) -> TariffShares:
    """A TARIFF item: every participating owner pays their consumption x the tariff per zone,
    rounded half-up to the minor unit per owner; the rest of the bill (the loss: the utility's
    bill - what the meters add up to; positive or negative) is shared by ``loss_strategy``
    (PROPORTIONAL by ``owners``' share weights, FIXED_FEE equally, USAGE_BASED by total
    consumption) with the same largest remainder function. Tariff charges + loss shares = the
    bill, exactly.

    ``owners``: participating owner -> share weight; ``consumption``: owner -> zone -> exact
    consumption (an owner absent consumed nothing; owners who are not participating are
    refused); ``tariffs``: zone -> price per unit in major units.
    """
    check_total(bill_minor)
    strategy = parse_strategy(loss_strategy) if isinstance(loss_strategy, str) else loss_strategy
    if strategy not in LOSS_STRATEGIES:
        raise ValidationFailed(
            f"loss_strategy: {strategy.value} cannot share a loss; use PROPORTIONAL, FIXED_FEE "
            "or USAGE_BASED"
        )
    if not owners:
        raise ValidationFailed("TARIFF allocation: there are no participating owners")
    strangers = sorted(k for k in consumption if k not in owners)
    if strangers:
        raise ValidationFailed(
            f"TARIFF allocation: owner(s) {id_list(strangers)} have consumption but do not "
            "take part"
        )
    prices = {z: Fraction(p) * 10**currency_exponent for z, p in tariffs.items()}
    tariff: dict[int, int] = {}
    usage: dict[int, Fraction] = {}
    for k in sorted(owners):
        zones = consumption.get(k, {})
        exact = Fraction(0)
        used = Fraction(0)
        for z, amount in zones.items():
            n, d = ratio(k, amount, f"consumption {z}")
            q = Fraction(n, d)
            if q < 0:
                raise ValidationFailed(f"consumption {z} of owner {k} is negative: {amount}")
            if q and z not in prices:
                raise ValidationFailed(
                    f"TARIFF allocation: owner {k} consumed {fraction_text(q)} in zone {z}, "
                    f"which has no tariff (tariffs: {', '.join(prices) or 'none'})"
                )
            exact += q * prices.get(z, Fraction(0))
            used += q
        tariff[k] = half_up(exact)
        usage[k] = used
    charged = sum(tariff.values())
    if charged > MAX_MINOR:
        raise ValidationFailed("TARIFF allocation: the tariff charges exceed the largest amount")
    loss = bill_minor - charged
    if loss and strategy is Strategy.USAGE_BASED and not any(usage.values()):
        raise ValidationFailed(
            "TARIFF allocation: the loss is shared by USAGE_BASED but the total consumption is zero"
        )
    loss_shares = _signed_shares(strategy, loss, owners, usage)
    return TariffShares(tariff=tariff, loss=loss, loss_shares=loss_shares)
