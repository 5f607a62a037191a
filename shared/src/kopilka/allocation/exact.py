"""Exact numbers for the allocation: weights as exact ratios, decimals counted, amounts as text.

Weights are ``int``, ``Decimal`` or ``Fraction``, never binary floating point.
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from decimal import Decimal
from fractions import Fraction

from kopilka.errors import ValidationFailed

Weight = Fraction | Decimal | int


def ratio(owner_id: int, weight: object, what: str) -> tuple[int, int]:
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


def check_total(total_minor: int) -> None:
    if type(total_minor) is not int:
        raise ValidationFailed(
            f"amount to allocate: {total_minor!r} is not a whole number of minor units"
        )
    if total_minor < 0:
        raise ValidationFailed(f"amount to allocate: {total_minor} is negative")


def decimals(d: Decimal) -> int:
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


def fraction_text(f: Fraction) -> str:
    if f.denominator == 1:
        return str(f.numerator)
    d = Decimal(f.numerator) / Decimal(f.denominator)
    return format(d, "f")


def minor_text(minor: int, exponent: int) -> str:
    if exponent == 0:
        return str(minor)
    sign = "-" if minor < 0 else ""
    q, r = divmod(abs(minor), 10**exponent)
    return f"{sign}{q}.{r:0{exponent}d}"


def id_list(ids: Iterable[int]) -> str:
    return ", ".join(str(i) for i in ids)


def half_up(x: Fraction) -> int:
    """Round half away from zero to an integer, exactly."""
    n = math.floor(abs(x) + Fraction(1, 2))
    return n if x >= 0 else -n
