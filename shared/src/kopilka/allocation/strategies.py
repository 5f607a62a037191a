"""The allocation strategies (SPEC §3) and :func:`allocate`, which shares an amount by one of them.

ITEM_BASED shares are computed by :mod:`kopilka.allocation.items`, TARIFF by
:mod:`kopilka.allocation.tariff`; :func:`allocate` takes the former as EXACT amounts and refuses
the latter.
"""

from __future__ import annotations

from collections.abc import Mapping
from decimal import Decimal
from enum import StrEnum
from fractions import Fraction
from typing import Any

from kopilka.allocation.exact import Weight, check_total, fraction_text, id_list, ratio
from kopilka.allocation.remainder import equal_shares, largest_remainder_scaled, scaled_weights
from kopilka.errors import ValidationFailed


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


def _require_values(
    strategy: Strategy, owners: Mapping[int, Any], values: Mapping[int, Decimal | int] | None
) -> Mapping[int, Decimal | int]:
    if values is None:
        raise ValidationFailed(f"{strategy.value} allocation needs a value per participating owner")
    missing = sorted(k for k in owners if k not in values)
    extra = sorted(k for k in values if k not in owners)
    if missing:
        raise ValidationFailed(
            f"{strategy.value} allocation: no value for owner(s) {id_list(missing)}"
        )
    if extra:
        raise ValidationFailed(
            f"{strategy.value} allocation: owner(s) {id_list(extra)} are not participating"
        )
    return values


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
    check_total(total_minor)
    if strategy is Strategy.NONE:
        return {}
    if strategy is Strategy.TARIFF:
        raise ValidationFailed("TARIFF allocation needs tariffs and consumption: allocate_tariff")
    if not owners:
        raise ValidationFailed(
            f"{strategy.value} allocation: there are no participating owners to share the amount"
        )

    if strategy is Strategy.PROPORTIONAL:
        return largest_remainder_scaled(
            total_minor, scaled_weights(owners, "share weight"), "share weight"
        )

    if strategy is Strategy.FIXED_FEE:
        return equal_shares(total_minor, owners)

    if strategy is Strategy.USAGE_BASED:
        if consumption is None:
            raise ValidationFailed("USAGE_BASED allocation needs the owners' consumption")
        usage = {k: consumption.get(k, 0) for k in owners}
        w = scaled_weights(usage, "consumption")
        for k, n in zip(w.ids, w.nums, strict=True):
            if n < 0:
                raise ValidationFailed(f"consumption of owner {k} is negative: {usage[k]}")
        if not any(w.nums):
            raise ValidationFailed(
                "zero total consumption: USAGE_BASED allocation needs meter readings with "
                f"consumption for at least one of the {len(w.ids)} participating owner(s)"
            )
        return largest_remainder_scaled(total_minor, w, "consumption")

    vals = _require_values(strategy, owners, values)
    ordered = {k: vals[k] for k in owners}

    if strategy is Strategy.SHARES:
        w = scaled_weights(ordered, "share units")
        if w.den != 1 or min(w.nums) <= 0:
            for k, v in ordered.items():
                n, d = ratio(k, v, "share units")
                if d != 1 or n <= 0:
                    raise ValidationFailed(
                        f"share units of owner {k} must be a positive whole number, got {v}"
                    )
        return largest_remainder_scaled(total_minor, w, "share units")

    if strategy is Strategy.PERCENTAGE:
        w = scaled_weights(ordered, "percentage")
        for k, n in zip(w.ids, w.nums, strict=True):
            if n <= 0:
                raise ValidationFailed(f"percentage of owner {k} must be above 0, got {ordered[k]}")
        total_pct = sum(w.nums)
        if total_pct != 100 * w.den:
            raise ValidationFailed(
                f"percentages total {fraction_text(Fraction(total_pct, w.den))}, not exactly 100"
            )
        return largest_remainder_scaled(total_minor, w, "percentage")

    # EXACT: amounts in minor units, returned as they are.
    amounts: dict[int, int] = {}
    for k, v in ordered.items():
        n, d = ratio(k, v, "exact amount")
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
