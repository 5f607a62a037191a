"""ITEM_BASED (SPEC §3): each owner pays their items; the rest is shared equally.

Also the one parser of a priced item, which group purchases use too.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from decimal import Decimal
from fractions import Fraction
from typing import Any

from kopilka.allocation.exact import check_total, decimals
from kopilka.allocation.remainder import equal_shares
from kopilka.errors import ValidationFailed
from kopilka.money import MAX_MINOR, parse_decimal

_ITEM_FIELDS = ("description", "price", "quantity", "owner_id")
_OWNER_ID = re.compile(r"-?[0-9]{1,19}")
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


def parse_owner_id(raw: object) -> int:
    if type(raw) is int:
        return raw
    if isinstance(raw, str) and _OWNER_ID.fullmatch(raw):
        return int(raw)
    raise ValidationFailed(f"split: {raw!r} is not an owner id (a whole number)")


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
    check_total(total_minor)
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
    extra = equal_shares(shared, own) if shared else dict.fromkeys(own, 0)
    return {k: own[k] + extra[k] for k in sorted(own)}


def _item_decimal(raw: object, field: str) -> Decimal:
    d = parse_decimal(raw, field)
    if decimals(d) > MAX_ITEM_DECIMALS:
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
    owner_id = None if owner_raw is None else parse_owner_id(owner_raw)
    cost = item_cost_minor(price, quantity, currency_exponent)
    if cost > MAX_MINOR:
        raise ValidationFailed(f"{where}: price x quantity is too large")
    return SplitItem(description, price, quantity, owner_id), cost
