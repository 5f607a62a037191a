"""A *split*: the Splitwise-style override an expense may carry (SPEC §3).

``{"strategy": ..., "owners": ...}``; :func:`parse_split` validates it when the expense is
recorded, :func:`split_to_json` gives the form to store, and :func:`parse_split` accepts that form
back; :func:`split_values_minor` gives its values as :func:`~kopilka.allocation.strategies.allocate`
takes them.
"""

from __future__ import annotations

from collections.abc import Collection, Mapping
from dataclasses import dataclass
from decimal import Decimal
from fractions import Fraction
from typing import Any

from kopilka.allocation.exact import decimals, fraction_text, id_list, minor_text
from kopilka.allocation.items import (
    MAX_ITEMS,
    SplitItem,
    allocate_items,
    parse_item,
    parse_owner_id,
)
from kopilka.allocation.strategies import LIST_STRATEGIES, Strategy, parse_strategy
from kopilka.errors import ValidationFailed
from kopilka.money import MAX_MINOR, parse_decimal


@dataclass(frozen=True)
class Split:
    """An expense's own split, validated.

    ``owner_ids`` are the participants, sorted. ``values`` are in the split's own units: share
    units (SHARES), percent (PERCENTAGE) or major-unit amounts (EXACT); ``None`` for the other
    strategies. ``all_owners`` is true when the split named no owners, so the participants were
    all active owners when it was parsed (:func:`split_to_json` then stores no owner list, and
    parsing the stored form again takes the owners active at that time).
    """

    strategy: Strategy
    owner_ids: tuple[int, ...]
    values: dict[int, Decimal] | None
    all_owners: bool = False
    items: tuple[SplitItem, ...] | None = None  # ITEM_BASED only
    meter_type: str | None = None  # USAGE_BASED: what it measures (else the budget item's)


_SPLIT_FIELDS = ("strategy", "owners", "meter_type")
_ITEM_SPLIT_FIELDS = ("strategy", "items")
#: Largest share units per owner, and most decimals of a percentage: keeps the arithmetic small.
MAX_SHARE_UNITS = 10**12
MAX_PERCENT_DECIMALS = 10

_VALUE_EXAMPLE = {
    Strategy.SHARES: '{"101": 1, "102": 2}',
    Strategy.PERCENTAGE: '{"101": "60", "102": "40"}',
    Strategy.EXACT: '{"101": "600.00", "102": "400.00"}',
}
_VALUE_NAME = {
    Strategy.SHARES: "share units",
    Strategy.PERCENTAGE: "percentage",
    Strategy.EXACT: "amount",
}


def _check_participants(ids: list[int], active: Collection[int]) -> tuple[int, ...]:
    if not ids:
        raise ValidationFailed("split: the participant list is empty; name at least one owner")
    seen: set[int] = set()
    for i in ids:
        if i in seen:
            raise ValidationFailed(f"split: owner {i} is named more than once")
        seen.add(i)
    if not isinstance(active, (set, frozenset)):
        active = frozenset(active)
    unknown = sorted(i for i in ids if i not in active)
    if unknown:
        who = "owner" if len(unknown) == 1 else "owners"
        raise ValidationFailed(
            f"split: {who} {id_list(unknown)} "
            f"{'is not an active owner' if len(unknown) == 1 else 'are not active owners'} "
            "of this community"
        )
    return tuple(sorted(ids))


def _split_value(strategy: Strategy, owner_id: int, raw: object, exponent: int) -> Decimal:
    name = _VALUE_NAME[strategy]
    field = f"split: {name} of owner {owner_id}"
    d = parse_decimal(raw, field)
    if strategy is Strategy.SHARES:
        if d <= 0 or d > MAX_SHARE_UNITS or decimals(d):
            raise ValidationFailed(
                f"{field} must be a positive whole number (at most {MAX_SHARE_UNITS}), got {raw}"
            )
        return Decimal(int(d))
    if strategy is Strategy.PERCENTAGE:
        if d <= 0 or d > 100:
            raise ValidationFailed(f"{field} must be above 0 and at most 100, got {raw}")
        if decimals(d) > MAX_PERCENT_DECIMALS:
            raise ValidationFailed(f"{field} has more than {MAX_PERCENT_DECIMALS} decimals: {raw}")
        return d
    # EXACT: a major-unit amount with at most the currency's decimals.
    if d < 0:
        raise ValidationFailed(f"{field} is negative: {raw}")
    if decimals(d) > exponent:
        raise ValidationFailed(
            f"{field}: {raw} has more decimals than the currency allows ({exponent})"
        )
    if d > Decimal(MAX_MINOR).scaleb(-exponent):
        raise ValidationFailed(f"{field}: {raw} is too large")
    return Decimal(int(d.scaleb(exponent))).scaleb(-exponent)


def parse_split(
    raw: Mapping[str, Any],
    *,
    amount_minor: int,
    currency_exponent: int,
    active_owner_ids: Collection[int],
) -> Split:
    """Validate an expense's split (SPEC §3); every inconsistency is a :class:`ValidationFailed`.

    ``raw`` is ``{"strategy": ..., "owners": [ids]}`` (PROPORTIONAL, FIXED_FEE/EQUAL, USAGE_BASED;
    ``owners`` optional, absent = all of ``active_owner_ids``) or ``{"strategy": ...,
    "owners": {"<id>": value}}`` (SHARES, PERCENTAGE, EXACT: required), or ``{"strategy":
    "NONE"}``. Values are strings, ints or Decimals, never floats. EXACT amounts are in major
    units with at most ``currency_exponent`` decimals and must total ``amount_minor``.
    """
    if not isinstance(raw, Mapping):
        raise ValidationFailed(
            'split must be an object such as {"strategy": "EQUAL", "owners": [101, 102]}'
        )
    if _is_item_split(raw):
        return _parse_item_split(
            raw,
            amount_minor=amount_minor,
            currency_exponent=currency_exponent,
            active_owner_ids=active_owner_ids,
        )
    unknown = sorted(str(k) for k in raw if k not in _SPLIT_FIELDS)
    if unknown:
        raise ValidationFailed(
            f"split: unknown field(s) {', '.join(unknown)}; a split has strategy and owners"
        )
    if raw.get("strategy") is None:
        raise ValidationFailed('split: strategy is required, e.g. {"strategy": "EQUAL"}')
    strategy_raw = raw["strategy"]
    if not isinstance(strategy_raw, str):
        raise ValidationFailed(f"split: strategy must be a name, got {strategy_raw!r}")
    strategy = parse_strategy(strategy_raw)
    owners = raw.get("owners")
    meter_type = _split_meter_type(strategy, raw.get("meter_type"))

    if strategy is Strategy.NONE:
        if owners is None or (isinstance(owners, (list, tuple, Mapping)) and not owners):
            return Split(Strategy.NONE, (), None)
        raise ValidationFailed(
            "split: strategy NONE is not allocated to anyone (the fund absorbs it); "
            "do not name owners"
        )

    if strategy is Strategy.TARIFF:
        raise ValidationFailed(
            "split: TARIFF is a budget item's strategy (its tariffs and the meters' readings), "
            "not an expense's split"
        )

    if strategy in LIST_STRATEGIES:
        if owners is None:
            ids = sorted(active_owner_ids)
            if not ids:
                raise ValidationFailed(
                    "split: the participant list is empty: the community has no active owners"
                )
            return Split(strategy, tuple(ids), None, all_owners=True, meter_type=meter_type)
        if isinstance(owners, Mapping):
            raise ValidationFailed(
                f"split: {strategy.value} takes a list of owner ids (e.g. [101, 102]), "
                "not a value per owner"
            )
        if not isinstance(owners, (list, tuple)):
            raise ValidationFailed(
                f"split: owners must be a list of owner ids (e.g. [101, 102]), got {owners!r}"
            )
        ids = [parse_owner_id(o) for o in owners]
        return Split(
            strategy, _check_participants(ids, active_owner_ids), None, meter_type=meter_type
        )

    # SHARES, PERCENTAGE, EXACT: {"<owner id>": value}
    if not isinstance(owners, Mapping):
        raise ValidationFailed(
            f"split: {strategy.value} needs owners as an object of owner id to "
            f"{_VALUE_NAME[strategy]}, e.g. {_VALUE_EXAMPLE[strategy]}"
        )
    pairs = [(parse_owner_id(k), v) for k, v in owners.items()]
    participants = _check_participants([k for k, _ in pairs], active_owner_ids)
    values = {k: _split_value(strategy, k, v, currency_exponent) for k, v in pairs}
    values = {k: values[k] for k in participants}

    if strategy is Strategy.PERCENTAGE:
        total = sum((Fraction(v) for v in values.values()), Fraction(0))
        if total != 100:
            raise ValidationFailed(
                f"split: percentages total {fraction_text(total)}, they must total exactly 100"
            )
    elif strategy is Strategy.EXACT:
        given = sum(int(v.scaleb(currency_exponent)) for v in values.values())
        if given != amount_minor:
            raise ValidationFailed(
                f"split: exact amounts total {minor_text(given, currency_exponent)} but the "
                f"expense amount is {minor_text(amount_minor, currency_exponent)}; "
                "they must be equal"
            )
    return Split(strategy, participants, values)


def split_values_minor(split: Split, currency_exponent: int) -> dict[int, Decimal | int] | None:
    """The split's values as :func:`allocate` takes them: EXACT amounts in minor units (ints),
    SHARES as ints, PERCENTAGE as Decimals; ``None`` when the strategy has no values."""
    if split.values is None:
        return None
    if split.strategy in (Strategy.EXACT, Strategy.ITEM_BASED):
        out: dict[int, Decimal | int] = {}
        for k, v in split.values.items():
            scaled = v.scaleb(currency_exponent)
            if scaled != scaled.to_integral_value():
                raise ValidationFailed(
                    f"split: amount of owner {k} has more decimals than the currency allows "
                    f"({currency_exponent})"
                )
            out[k] = int(scaled)
        return out
    if split.strategy is Strategy.SHARES:
        return {k: int(v) for k, v in split.values.items()}
    return dict(split.values)


def split_to_json(split: Split) -> dict[str, Any]:
    """A JSON-safe form to store (decimal strings, string owner-id keys); :func:`parse_split`
    accepts it back."""
    out: dict[str, Any] = {"strategy": split.strategy.value}
    if split.strategy is Strategy.NONE:
        return out
    if split.items is not None:
        out["items"] = [item.to_json() for item in split.items]
        return out
    if split.values is not None:
        out["owners"] = {str(k): format(split.values[k], "f") for k in split.owner_ids}
    elif not split.all_owners:
        out["owners"] = list(split.owner_ids)
    if split.meter_type is not None:
        out["meter_type"] = split.meter_type
    return out


def _split_meter_type(strategy: Strategy, raw: object) -> str | None:
    if raw is None:
        return None
    if strategy is not Strategy.USAGE_BASED:
        raise ValidationFailed("split: meter_type belongs to a USAGE_BASED split only")
    if not isinstance(raw, str) or not raw.strip() or len(raw.strip()) > 50:
        raise ValidationFailed('split: meter_type must be a meter type such as "WATER"')
    return raw.strip().upper()


def _is_item_split(raw: Mapping[str, Any]) -> bool:
    strategy = raw.get("strategy")
    if not isinstance(strategy, str):
        return False
    try:
        return parse_strategy(strategy) is Strategy.ITEM_BASED
    except ValidationFailed:
        return False


def _parse_item_split(
    raw: Mapping[str, Any],
    *,
    amount_minor: int,
    currency_exponent: int,
    active_owner_ids: Collection[int],
) -> Split:
    unknown = sorted(str(k) for k in raw if k not in _ITEM_SPLIT_FIELDS)
    if unknown:
        raise ValidationFailed(
            f"split: unknown field(s) {', '.join(unknown)}; an ITEM_BASED split has strategy "
            "and items"
        )
    raw_items = raw.get("items")
    if not isinstance(raw_items, (list, tuple)) or not raw_items:
        raise ValidationFailed(
            'split: ITEM_BASED needs a non-empty list of items, e.g. {"strategy": "ITEM_BASED", '
            '"items": [{"description": "firewood", "price": "4500.00", "quantity": 1, '
            '"owner_id": 101}]}'
        )
    if len(raw_items) > MAX_ITEMS:
        raise ValidationFailed(f"split: at most {MAX_ITEMS} items")
    parsed = [
        parse_item(item, f"split: item {i + 1}", currency_exponent)
        for i, item in enumerate(raw_items)
    ]
    owners = sorted({it.owner_id for it, _ in parsed if it.owner_id is not None})
    if owners:
        if not isinstance(active_owner_ids, (set, frozenset)):
            active_owner_ids = frozenset(active_owner_ids)
        unknown_owners = [o for o in owners if o not in active_owner_ids]
        if unknown_owners:
            raise ValidationFailed(
                f"split: item owner(s) {id_list(unknown_owners)} not active owners of this "
                "community"
            )
    items_total = sum(cost for _, cost in parsed)
    if items_total > amount_minor:
        raise ValidationFailed(
            f"split: the items total {minor_text(items_total, currency_exponent)}, more than "
            f"the expense amount {minor_text(amount_minor, currency_exponent)}"
        )
    shares = allocate_items(amount_minor, [(it.owner_id, cost) for it, cost in parsed])
    values = {k: Decimal(v).scaleb(-currency_exponent) for k, v in shares.items()}
    return Split(
        Strategy.ITEM_BASED,
        tuple(owners),
        values,
        items=tuple(it for it, _ in parsed),
    )
