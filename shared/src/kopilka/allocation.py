"""Allocation: sharing an amount between owners exactly to the minor unit (SPEC §2, §3).

Pure functions, no I/O. Money is integer minor units throughout; weights are exact (``int``,
``Decimal`` or ``Fraction``), never binary floating point.

Rounding is the largest remainder method: every owner gets the floor of their exact share, the
leftover minor units go one each to the largest fractional remainders; ties go to the larger
weight, then to the larger owner id. The shares always sum to the total exactly.

A *split* is the Splitwise-style override an expense may carry
(``{"strategy": ..., "owners": ...}``); :func:`parse_split` validates it when the expense is
recorded, :func:`split_to_json` gives the form to store, and :func:`parse_split` accepts that form
back.
"""

from __future__ import annotations

import math
import re
from collections import Counter
from collections.abc import Collection, Iterable, Mapping
from dataclasses import dataclass
from decimal import Decimal
from enum import StrEnum
from fractions import Fraction
from typing import Any

from kopilka.errors import ValidationFailed
from kopilka.money import MAX_MINOR, parse_decimal

__all__ = [
    "Cut",
    "Split",
    "SplitItem",
    "Strategy",
    "allocate",
    "allocate_items",
    "allocate_tariff",
    "item_cost_minor",
    "largest_remainder",
    "parse_item",
    "parse_split",
    "parse_strategy",
    "parse_tariffs",
    "remainder_cut",
    "split_to_json",
    "split_values_minor",
]


class Strategy(StrEnum):
    PROPORTIONAL = "PROPORTIONAL"
    FIXED_FEE = "FIXED_FEE"
    USAGE_BASED = "USAGE_BASED"
    SHARES = "SHARES"
    PERCENTAGE = "PERCENTAGE"
    EXACT = "EXACT"
    ITEM_BASED = "ITEM_BASED"
    TARIFF = "TARIFF"
    NONE = "NONE"


_ALIASES: dict[str, Strategy] = {"EQUAL": Strategy.FIXED_FEE}

#: Strategies whose participants are a plain list of owner ids (or, absent, all active owners).
LIST_STRATEGIES = frozenset({Strategy.PROPORTIONAL, Strategy.FIXED_FEE, Strategy.USAGE_BASED})
#: Strategies that need a value per owner: ``{"<owner id>": value}``.
VALUE_STRATEGIES = frozenset({Strategy.SHARES, Strategy.PERCENTAGE, Strategy.EXACT})


def parse_strategy(text: str) -> Strategy:
    """The strategy named by ``text``, case-insensitively; ``EQUAL`` is ``FIXED_FEE``."""
    if not isinstance(text, str):
        raise ValidationFailed(f'strategy: expected a name such as "PROPORTIONAL", got {text!r}')
    key = text.strip().upper().replace("-", "_").replace(" ", "_")
    if key in _ALIASES:
        return _ALIASES[key]
    try:
        return Strategy(key)
    except ValueError:
        names = ", ".join(
            [*(s.value for s in Strategy), *(f"{a} (= {s.value})" for a, s in _ALIASES.items())]
        )
        raise ValidationFailed(
            f"strategy: unknown strategy {text!r}; expected one of {names}"
        ) from None


# ---------------------------------------------------------------------------------------------
# Largest remainder
# ---------------------------------------------------------------------------------------------

Weight = Fraction | Decimal | int


def _ratio(owner_id: int, weight: object, what: str) -> tuple[int, int]:
    """``weight`` as an exact (numerator, denominator) pair."""
    if type(weight) is int:
        return weight, 1
    if isinstance(weight, (bool, float)):
        raise ValidationFailed(
            f"{what} of owner {owner_id}: {weight!r} is not an exact number "
            "(binary floating point and booleans are refused)"
        )
    if isinstance(weight, int):
        return int(weight), 1
    if isinstance(weight, Decimal):
        if not weight.is_finite():
            raise ValidationFailed(f"{what} of owner {owner_id}: {weight} is not a finite number")
        return weight.as_integer_ratio()
    if isinstance(weight, Fraction):
        return weight.numerator, weight.denominator
    raise ValidationFailed(f"{what} of owner {owner_id}: {weight!r} is not a number")


def _check_total(total_minor: int) -> None:
    if type(total_minor) is not int:
        raise ValidationFailed(
            f"amount to allocate: {total_minor!r} is not a whole number of minor units"
        )
    if total_minor < 0:
        raise ValidationFailed(f"amount to allocate: {total_minor} is negative")


_EXACT_TYPES = frozenset({int, Decimal, Fraction})


class _Scaled:
    """Weights as integers over one common denominator, owners in increasing id order."""

    __slots__ = ("den", "ids", "nums")

    def __init__(self, ids: list[int], nums: list[int], den: int) -> None:
        self.ids = ids
        self.nums = nums
        self.den = den


def _scaled(weights: Mapping[int, object], what: str) -> _Scaled:
    """``weights`` as integer numerators over their least common denominator.

    Each distinct weight is converted once (share weights repeat a lot), so a thousand owners
    cost a few dict look-ups each, not a thousand exact conversions.
    """
    ids = sorted(weights)
    values = [weights[k] for k in ids]
    types = {type(v) for v in values}
    if types == {int}:
        return _Scaled(ids, values, 1)  # type: ignore[arg-type]
    if Fraction in types or not types <= _EXACT_TYPES:
        # Fractions hash slowly; a float, a bool or something else: the per-owner conversion
        # names the owner.
        ratios_each = [_ratio(k, v, what) for k, v in zip(ids, values, strict=True)]
        den = math.lcm(*{d for _, d in ratios_each})
        return _Scaled(ids, [n * (den // d) for n, d in ratios_each], den)
    try:
        distinct = set(values)
    except TypeError:  # a signalling NaN cannot be hashed: the per-owner check names it
        for k, v in zip(ids, values, strict=True):
            _ratio(k, v, what)
        raise
    try:
        ratios = {v: _ratio(0, v, what) for v in distinct}
    except ValidationFailed:  # say which owner
        for k, v in zip(ids, values, strict=True):
            _ratio(k, v, what)
        raise
    den = math.lcm(*{d for _, d in ratios.values()})
    scaled = {v: n * (den // d) for v, (n, d) in ratios.items()}
    return _Scaled(ids, [scaled[v] for v in values], den)


@dataclass(frozen=True)
class Cut:
    """Where the largest remainder method puts every unit, per weight class.

    Owners of equal weight (a *class*, keyed by the weight's integer numerator over a common
    denominator) have the same floor share ``base[n]`` and the same remainder; the leftover
    units go to whole classes in the order (remainder, weight) descending (``full``: each member
    gets one more), and the class where they run out (``edge``) gives its last ``edge_units`` to
    its members with the largest owner ids. So one owner's share needs only the classes (weights
    and their counts) and, in the edge class alone, how many of its members have a larger id:
    this is how one owner's balance is computed without sharing the pool between everyone.
    """

    base: dict[int, int]
    full: frozenset[int]
    edge: int | None
    edge_units: int

    def share(self, n: int, larger_ids_in_class: int | None = None) -> int:
        """The share of an owner of weight numerator ``n``; ``larger_ids_in_class`` (needed only
        when ``needs_rank(n)``) is how many owners of the same weight have a larger owner id."""
        out = self.base[n]
        if n in self.full:
            return out + 1
        if n == self.edge:
            if larger_ids_in_class is None:
                raise ValueError("the edge class needs the owner's rank by id")
            if larger_ids_in_class < self.edge_units:
                return out + 1
        return out

    def needs_rank(self, n: int) -> bool:
        return n == self.edge


def remainder_cut(total_minor: int, counts: Mapping[int, int]) -> Cut:
    """The largest remainder method over weight classes: ``counts`` maps each weight numerator
    (integers over one common denominator, not negative, not all zero) to its number of owners.
    Exact integer arithmetic; the shares of all owners sum to ``total_minor``."""
    weight_sum = sum(n * c for n, c in counts.items())
    base: dict[int, int] = {}
    rem: dict[int, int] = {}
    given = 0
    for n, c in counts.items():
        q, r = divmod(total_minor * n, weight_sum)
        base[n] = q
        rem[n] = r
        given += q * c
    leftover = total_minor - given
    full: list[int] = []
    edge: int | None = None
    units = 0
    if leftover:
        # 0 < leftover < number of owners with a non-zero remainder.
        for n in sorted((n for n in counts if rem[n]), key=lambda n: (rem[n], n), reverse=True):
            c = counts[n]
            if leftover >= c:
                full.append(n)
                leftover -= c
            else:
                edge, units = n, leftover
                leftover = 0
            if not leftover:
                break
    return Cut(base, frozenset(full), edge, units)


def _largest_remainder_scaled(total_minor: int, w: _Scaled, what: str) -> dict[int, int]:
    ids, nums = w.ids, w.nums
    if min(nums) < 0:
        k = next(k for k, n in zip(ids, nums, strict=True) if n < 0)
        raise ValidationFailed(f"{what} of owner {k} is negative")
    if sum(nums) <= 0:
        raise ValidationFailed(f"{what}: the total is zero, so there is nothing to share by")
    return _expand(remainder_cut(total_minor, Counter(nums)), ids, nums)


def _expand(cut: Cut, ids: list[int], nums: list[int]) -> dict[int, int]:
    """Every owner's share from the cut; ``ids`` in increasing order, ``nums`` their weights."""
    base, full = cut.base, cut.full
    shares = [base[n] + 1 if n in full else base[n] for n in nums]
    need = cut.edge_units
    if cut.edge is not None:
        for i in range(len(ids) - 1, -1, -1):  # the edge class's largest ids first
            if nums[i] == cut.edge:
                shares[i] += 1
                need -= 1
                if not need:
                    break
    return dict(zip(ids, shares, strict=True))


def largest_remainder(total_minor: int, weights: Mapping[int, Weight]) -> dict[int, int]:
    """Share ``total_minor`` between the keys of ``weights`` in proportion to the weights.

    Every owner gets ``floor(total * w / sum(w))``; the leftover units go one each to the largest
    fractional remainders, ties to the larger weight, then to the larger owner id. Exact integer
    arithmetic; the result sums to ``total_minor`` and has every key (zero weight gets 0).
    """
    _check_total(total_minor)
    if not weights:
        raise ValidationFailed("allocation: there are no owners to share the amount between")
    return _largest_remainder_scaled(total_minor, _scaled(weights, "weight"), "weight")


def _equal(total_minor: int, owner_ids: Iterable[int]) -> dict[int, int]:
    """Equal shares: largest remainder with one class of equal weights."""
    ids = sorted(owner_ids)
    return _expand(remainder_cut(total_minor, {1: len(ids)}), ids, [1] * len(ids))


# ---------------------------------------------------------------------------------------------
# Strategies
# ---------------------------------------------------------------------------------------------


def _require_values(
    strategy: Strategy, owners: Mapping[int, Any], values: Mapping[int, Decimal | int] | None
) -> Mapping[int, Decimal | int]:
    if values is None:
        raise ValidationFailed(f"{strategy.value} allocation needs a value per participating owner")
    missing = sorted(k for k in owners if k not in values)
    extra = sorted(k for k in values if k not in owners)
    if missing:
        raise ValidationFailed(
            f"{strategy.value} allocation: no value for owner(s) {_ids(missing)}"
        )
    if extra:
        raise ValidationFailed(
            f"{strategy.value} allocation: owner(s) {_ids(extra)} are not participating"
        )
    return values


def _ids(ids: Iterable[int]) -> str:
    return ", ".join(str(i) for i in ids)


def allocate(
    strategy: Strategy,
    total_minor: int,
    owners: Mapping[int, Weight],
    *,
    consumption: Mapping[int, Weight] | None = None,
    values: Mapping[int, Decimal | int] | None = None,
) -> dict[int, int]:
    """Each participating owner's share of ``total_minor`` (minor units) under ``strategy``.

    ``owners`` maps each participating owner id to their share weight. ``consumption`` (owner id
    -> consumption, USAGE_BASED) counts a missing owner as 0. ``values`` (SHARES, PERCENTAGE,
    EXACT) has exactly one value per participating owner: integer share units, percentages
    totalling 100, or amounts in minor units totalling ``total_minor``. NONE gives ``{}``.
    ITEM_BASED takes the owners' shares that :func:`allocate_items` computed (as the split's
    values, in minor units) and checks them like EXACT amounts.
    """
    strategy = Strategy(strategy)
    _check_total(total_minor)
    if strategy is Strategy.NONE:
        return {}
    if strategy is Strategy.TARIFF:
        raise ValidationFailed("TARIFF allocation needs tariffs and consumption: allocate_tariff")
    if not owners:
        raise ValidationFailed(
            f"{strategy.value} allocation: there are no participating owners to share the amount"
        )

    if strategy is Strategy.PROPORTIONAL:
        return _largest_remainder_scaled(
            total_minor, _scaled(owners, "share weight"), "share weight"
        )

    if strategy is Strategy.FIXED_FEE:
        return _equal(total_minor, owners)

    if strategy is Strategy.USAGE_BASED:
        if consumption is None:
            raise ValidationFailed("USAGE_BASED allocation needs the owners' consumption")
        usage = {k: consumption.get(k, 0) for k in owners}
        w = _scaled(usage, "consumption")
        for k, n in zip(w.ids, w.nums, strict=True):
            if n < 0:
                raise ValidationFailed(f"consumption of owner {k} is negative: {usage[k]}")
        if not any(w.nums):
            raise ValidationFailed(
                "zero total consumption: USAGE_BASED allocation needs meter readings with "
                f"consumption for at least one of the {len(w.ids)} participating owner(s)"
            )
        return _largest_remainder_scaled(total_minor, w, "consumption")

    vals = _require_values(strategy, owners, values)
    ordered = {k: vals[k] for k in owners}

    if strategy is Strategy.SHARES:
        w = _scaled(ordered, "share units")
        if w.den != 1 or min(w.nums) <= 0:
            for k, v in ordered.items():
                n, d = _ratio(k, v, "share units")
                if d != 1 or n <= 0:
                    raise ValidationFailed(
                        f"share units of owner {k} must be a positive whole number, got {v}"
                    )
        return _largest_remainder_scaled(total_minor, w, "share units")

    if strategy is Strategy.PERCENTAGE:
        w = _scaled(ordered, "percentage")
        for k, n in zip(w.ids, w.nums, strict=True):
            if n <= 0:
                raise ValidationFailed(f"percentage of owner {k} must be above 0, got {ordered[k]}")
        total_pct = sum(w.nums)
        if total_pct != 100 * w.den:
            raise ValidationFailed(
                f"percentages total {_fraction_text(Fraction(total_pct, w.den))}, not exactly 100"
            )
        return _largest_remainder_scaled(total_minor, w, "percentage")

    # EXACT: amounts in minor units, returned as they are.
    amounts: dict[int, int] = {}
    for k, v in ordered.items():
        n, d = _ratio(k, v, "exact amount")
        if d != 1:
            raise ValidationFailed(
                f"exact amount of owner {k} must be a whole number of minor units, got {v}"
            )
        if n < 0:
            raise ValidationFailed(f"exact amount of owner {k} is negative: {v}")
        amounts[k] = n
    given = sum(amounts.values())
    if given != total_minor:
        raise ValidationFailed(
            f"exact amounts total {given} minor units but the amount to allocate is {total_minor}"
        )
    return amounts


def _fraction_text(f: Fraction) -> str:
    if f.denominator == 1:
        return str(f.numerator)
    d = Decimal(f.numerator) / Decimal(f.denominator)
    return format(d, "f")


# ---------------------------------------------------------------------------------------------
# Splits
# ---------------------------------------------------------------------------------------------


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
_OWNER_ID = re.compile(r"-?[0-9]{1,19}")
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


def _owner_id(raw: object) -> int:
    if type(raw) is int:
        return raw
    if isinstance(raw, str) and _OWNER_ID.fullmatch(raw):
        return int(raw)
    raise ValidationFailed(f"split: {raw!r} is not an owner id (a whole number)")


def _decimals(d: Decimal) -> int:
    """Number of decimals of ``d`` ignoring trailing zeros ("1.50" has 1), without rounding."""
    _, digits, exponent = d.as_tuple()
    assert isinstance(exponent, int)
    if exponent >= 0 or not any(digits):
        return 0
    trailing = 0
    for digit in reversed(digits):
        if digit:
            break
        trailing += 1
    return max(0, -(exponent + trailing))


def _minor_text(minor: int, exponent: int) -> str:
    if exponent == 0:
        return str(minor)
    sign = "-" if minor < 0 else ""
    q, r = divmod(abs(minor), 10**exponent)
    return f"{sign}{q}.{r:0{exponent}d}"


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
            f"split: {who} {_ids(unknown)} "
            f"{'is not an active owner' if len(unknown) == 1 else 'are not active owners'} "
            "of this community"
        )
    return tuple(sorted(ids))


def _split_value(strategy: Strategy, owner_id: int, raw: object, exponent: int) -> Decimal:
    name = _VALUE_NAME[strategy]
    field = f"split: {name} of owner {owner_id}"
    d = parse_decimal(raw, field)
    if strategy is Strategy.SHARES:
        if d <= 0 or d > MAX_SHARE_UNITS or _decimals(d):
            raise ValidationFailed(
                f"{field} must be a positive whole number (at most {MAX_SHARE_UNITS}), got {raw}"
            )
        return Decimal(int(d))
    if strategy is Strategy.PERCENTAGE:
        if d <= 0 or d > 100:
            raise ValidationFailed(f"{field} must be above 0 and at most 100, got {raw}")
        if _decimals(d) > MAX_PERCENT_DECIMALS:
            raise ValidationFailed(f"{field} has more than {MAX_PERCENT_DECIMALS} decimals: {raw}")
        return d
    # EXACT: a major-unit amount with at most the currency's decimals.
    if d < 0:
        raise ValidationFailed(f"{field} is negative: {raw}")
    if _decimals(d) > exponent:
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
        ids = [_owner_id(o) for o in owners]
        return Split(
            strategy, _check_participants(ids, active_owner_ids), None, meter_type=meter_type
        )

    # SHARES, PERCENTAGE, EXACT: {"<owner id>": value}
    if not isinstance(owners, Mapping):
        raise ValidationFailed(
            f"split: {strategy.value} needs owners as an object of owner id to "
            f"{_VALUE_NAME[strategy]}, e.g. {_VALUE_EXAMPLE[strategy]}"
        )
    pairs = [(_owner_id(k), v) for k, v in owners.items()]
    participants = _check_participants([k for k, _ in pairs], active_owner_ids)
    values = {k: _split_value(strategy, k, v, currency_exponent) for k, v in pairs}
    values = {k: values[k] for k in participants}

    if strategy is Strategy.PERCENTAGE:
        total = sum((Fraction(v) for v in values.values()), Fraction(0))
        if total != 100:
            raise ValidationFailed(
                f"split: percentages total {_fraction_text(total)}, they must total exactly 100"
            )
    elif strategy is Strategy.EXACT:
        given = sum(int(v.scaleb(currency_exponent)) for v in values.values())
        if given != amount_minor:
            raise ValidationFailed(
                f"split: exact amounts total {_minor_text(given, currency_exponent)} but the "
                f"expense amount is {_minor_text(amount_minor, currency_exponent)}; "
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


# ---------------------------------------------------------------------------------------------
# ITEM_BASED (SPEC §3): each owner pays their items; the rest is shared equally
# ---------------------------------------------------------------------------------------------

_ITEM_SPLIT_FIELDS = ("strategy", "items")
_ITEM_FIELDS = ("description", "price", "quantity", "owner_id")
#: Most decimals of an item's price (a price per kilogram may have more than the currency) and of
#: its quantity; keeps price x quantity small and exact.
MAX_ITEM_DECIMALS = 6
MAX_ITEMS = 10_000


@dataclass(frozen=True)
class SplitItem:
    """One priced item of an ITEM_BASED split; ``owner_id`` None is an item for everyone."""

    description: str | None
    price: Decimal
    quantity: Decimal
    owner_id: int | None

    def to_json(self) -> dict[str, Any]:
        return {
            "description": self.description,
            "price": format(self.price, "f"),
            "quantity": format(self.quantity, "f"),
            "owner_id": self.owner_id,
        }


def item_cost_minor(price: Decimal, quantity: Decimal, currency_exponent: int) -> int:
    """price x quantity in minor units, rounded half-up (half away from zero) to the minor unit.

    Exact: the product of two finite decimals is computed as a fraction, never in a context with
    limited precision."""
    if not (price.is_finite() and quantity.is_finite()):
        raise ValidationFailed(f"item: price {price} and quantity {quantity} must be finite")
    exact = Fraction(price) * Fraction(quantity) * Fraction(10) ** currency_exponent
    if exact < 0:
        raise ValidationFailed(f"item: price x quantity is negative ({price} x {quantity})")
    # half-up for a non-negative fraction n/d: floor(n/d + 1/2) = (2n + d) // 2d
    return (2 * exact.numerator + exact.denominator) // (2 * exact.denominator)


def allocate_items(total_minor: int, items: Iterable[tuple[int | None, int]]) -> dict[int, int]:
    """Shares of an ITEM_BASED split: ``items`` are (owner id or None, cost in minor units).

    Every owner who has at least one item pays the sum of their items' costs; the costs of the
    items without an owner plus what ``total_minor`` leaves over all the items (delivery,
    packing) are shared equally among those owners by largest remainder (ties to the larger
    owner id). The shares sum to ``total_minor`` exactly. Items adding up to more than
    ``total_minor``, a negative cost, or no item with an owner are a :class:`ValidationFailed`.
    """
    _check_total(total_minor)
    own: dict[int, int] = {}
    items_total = 0
    for owner_id, cost in items:
        if type(cost) is not int or cost < 0:
            raise ValidationFailed(f"item cost {cost!r} is not a non-negative whole minor amount")
        items_total += cost
        if owner_id is not None:
            own[owner_id] = own.get(owner_id, 0) + cost
    if items_total > total_minor:
        raise ValidationFailed(
            f"ITEM_BASED split: the items total {items_total} minor units, more than the amount "
            f"{total_minor}"
        )
    if not own:
        raise ValidationFailed(
            "ITEM_BASED split: no item has an owner, so there is nobody to share the amount; "
            "give at least one item an owner_id"
        )
    shared = total_minor - sum(own.values())  # unowned items + delivery
    extra = _equal(shared, own) if shared else dict.fromkeys(own, 0)
    return {k: own[k] + extra[k] for k in sorted(own)}


def _is_item_split(raw: Mapping[str, Any]) -> bool:
    strategy = raw.get("strategy")
    if not isinstance(strategy, str):
        return False
    try:
        return parse_strategy(strategy) is Strategy.ITEM_BASED
    except ValidationFailed:
        return False


def _item_decimal(raw: object, field: str) -> Decimal:
    d = parse_decimal(raw, field)
    if _decimals(d) > MAX_ITEM_DECIMALS:
        raise ValidationFailed(f"{field} has more than {MAX_ITEM_DECIMALS} decimals: {raw}")
    if d > Decimal(MAX_MINOR):
        raise ValidationFailed(f"{field}: {raw} is too large")
    return d.normalize() if d == d.to_integral_value() else d


def parse_item(raw: object, where: str, currency_exponent: int) -> tuple[SplitItem, int]:
    """One item of an ITEM_BASED split (or of a group purchase) and its cost in minor units."""
    if not isinstance(raw, Mapping):
        raise ValidationFailed(
            f'{where} must be an object such as {{"description": "firewood", "price": "4500.00", '
            '"quantity": 2, "owner_id": 101}'
        )
    unknown = sorted(str(k) for k in raw if k not in _ITEM_FIELDS)
    if unknown:
        raise ValidationFailed(
            f"{where}: unknown field(s) {', '.join(unknown)}; an item has {', '.join(_ITEM_FIELDS)}"
        )
    description = raw.get("description")
    if description is not None and not isinstance(description, str):
        raise ValidationFailed(f"{where}: description must be text")
    if "price" not in raw or raw["price"] is None:
        raise ValidationFailed(f"{where}: price is required")
    price = _item_decimal(raw["price"], f"{where}: price")
    if price < 0:
        raise ValidationFailed(f"{where}: price must not be negative")
    quantity = _item_decimal(raw.get("quantity", 1), f"{where}: quantity")
    if quantity <= 0:
        raise ValidationFailed(f"{where}: quantity must be greater than zero")
    owner_raw = raw.get("owner_id")
    owner_id = None if owner_raw is None else _owner_id(owner_raw)
    cost = item_cost_minor(price, quantity, currency_exponent)
    if cost > MAX_MINOR:
        raise ValidationFailed(f"{where}: price x quantity is too large")
    return SplitItem(description, price, quantity, owner_id), cost


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
                f"split: item owner(s) {_ids(unknown_owners)} not active owners of this community"
            )
    items_total = sum(cost for _, cost in parsed)
    if items_total > amount_minor:
        raise ValidationFailed(
            f"split: the items total {_minor_text(items_total, currency_exponent)}, more than "
            f"the expense amount {_minor_text(amount_minor, currency_exponent)}"
        )
    shares = allocate_items(amount_minor, [(it.owner_id, cost) for it, cost in parsed])
    values = {k: Decimal(v).scaleb(-currency_exponent) for k, v in shares.items()}
    return Split(
        Strategy.ITEM_BASED,
        tuple(owners),
        values,
        items=tuple(it for it, _ in parsed),
    )


# ---------------------------------------------------------------------------------------------
# TARIFF (SPEC §3): consumption x tariff per zone, the loss shared by the loss strategy
# ---------------------------------------------------------------------------------------------

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
        if _decimals(d) > MAX_TARIFF_DECIMALS:
            raise ValidationFailed(
                f"tariffs: {zone} has more than {MAX_TARIFF_DECIMALS} decimals: {v}"
            )
        if d.scaleb(currency_exponent) > MAX_MINOR:
            raise ValidationFailed(f"tariffs: {zone} is too large: {v}")
        out[zone] = d
    return {z: out[z] for z in TARIFF_ZONES if z in out}


def _half_up(x: Fraction) -> int:
    """Round half away from zero to an integer, exactly."""
    n = math.floor(abs(x) + Fraction(1, 2))
    return n if x >= 0 else -n


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
    _check_total(bill_minor)
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
            f"TARIFF allocation: owner(s) {_ids(strangers)} have consumption but do not take part"
        )
    prices = {z: Fraction(p) * 10**currency_exponent for z, p in tariffs.items()}
    tariff: dict[int, int] = {}
    usage: dict[int, Fraction] = {}
    for k in sorted(owners):
        zones = consumption.get(k, {})
        exact = Fraction(0)
        used = Fraction(0)
        for z, amount in zones.items():
            n, d = _ratio(k, amount, f"consumption {z}")
            q = Fraction(n, d)
            if q < 0:
                raise ValidationFailed(f"consumption {z} of owner {k} is negative: {amount}")
            if q and z not in prices:
                raise ValidationFailed(
                    f"TARIFF allocation: owner {k} consumed {_fraction_text(q)} in zone {z}, "
                    f"which has no tariff (tariffs: {', '.join(prices) or 'none'})"
                )
            exact += q * prices.get(z, Fraction(0))
            used += q
        tariff[k] = _half_up(exact)
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
