"""Money: integer minor units plus an ISO 4217 currency. Never binary floating point.

Parsing accepts a decimal string, an int or a Decimal (JSON numbers are parsed as Decimal at the
edge); more decimals than the currency has is an error. Formatting always gives the currency's
number of decimals.
"""

from __future__ import annotations

import re
from decimal import Decimal, InvalidOperation
from functools import cache
from typing import Annotated

from babel.numbers import (
    format_currency,
    format_decimal,
    get_currency_precision,
    get_currency_symbol,
    list_currencies,
)
from pydantic import BeforeValidator

from kopilka.errors import ValidationFailed

# Largest amount we accept in minor units (SPEC §2): 999,999,999,999.99 in a two-decimal
# currency. It fits BIGINT with room for sums; anything derived from an amount (a recurring
# charge per share weight) is checked against the same bound when its template is created.
MAX_MINOR = 10**14 - 1

# The largest share weight of an owner (owners' share_weight; derived weights are checked
# against it too): bounds what a template derives per unit of weight.
MAX_SHARE_WEIGHT = 1_000_000

# The amount grammar (SPEC §2): ASCII digits with at most one ".", nothing else: no sign,
# exponent, "_", spaces, thousands separators or non-ASCII digits (Python's Decimal() would
# take "1_0.0_0", " 5 ", "+5", "1e2", "١٠" and "５").
AMOUNT_TEXT = re.compile(r"(?:[0-9]+(?:\.[0-9]*)?|\.[0-9]+)", re.ASCII)
GRAMMAR = 'ASCII digits with at most one "." (no sign, exponent, spaces or separators)'


@cache
def known_currencies() -> frozenset[str]:
    return frozenset(list_currencies())


def check_currency(code: str) -> str:
    code = code.upper()
    if code not in known_currencies():
        raise ValidationFailed(
            f"Unknown currency {code!r}: use an ISO 4217 code such as RUB or EUR"
        )
    return code


@cache
def currency_exponent(currency: str) -> int:
    """Number of decimals of the currency (RUB 2, JPY 0, KWD 3)."""
    return int(get_currency_precision(currency))


def parse_decimal(value: object, field: str = "amount") -> Decimal:
    """An exact Decimal from a string, int or Decimal; floats and booleans are refused."""
    if isinstance(value, bool) or value is None:
        raise ValidationFailed(f'{field}: expected a decimal number such as "500.00"')
    if isinstance(value, float):
        # Never reached through the API (JSON numbers are parsed as Decimal); refuse loudly.
        raise ValidationFailed(f"{field}: binary floating point is not accepted; send a string")
    if isinstance(value, int):
        d = Decimal(value)
    elif isinstance(value, Decimal):
        d = value
    elif isinstance(value, str):
        if not AMOUNT_TEXT.fullmatch(value):
            raise ValidationFailed(
                f'{field}: {value!r} is not a decimal number such as "500.00": {GRAMMAR}'
            )
        try:
            d = Decimal(value)
        except InvalidOperation:  # pragma: no cover - the grammar admits only valid numbers
            raise ValidationFailed(f"{field}: {value!r} is not a decimal number") from None
    else:
        raise ValidationFailed(f'{field}: expected a decimal number such as "500.00"')
    if not d.is_finite():
        raise ValidationFailed(f"{field}: {value!r} is not a finite number")
    if d.is_signed():
        raise ValidationFailed(f"{field}: {value} has a sign; {GRAMMAR}")
    return d


def decimal_places(d: Decimal) -> int:
    """Decimals of a finite ``d`` ignoring trailing zeros ("1.50" has 1); no context arithmetic,
    so an exponent such as 1e-999999999 cannot underflow."""
    _, digits, exponent = d.as_tuple()
    assert isinstance(exponent, int)
    significant = "".join(map(str, digits)).rstrip("0")
    if exponent >= 0 or not significant:
        return 0
    return max(0, -(exponent + len(digits) - len(significant)))


def to_minor(value: object, currency: str, field: str = "amount") -> int:
    """Exact conversion to minor units; more decimals than the currency has is a 400."""
    d = parse_decimal(value, field)
    exp = currency_exponent(currency)
    if decimal_places(d) > exp:
        raise ValidationFailed(f"{field}: {value} has more decimals than {currency} allows ({exp})")
    # Compared before any scaling: 1e999999999 must be a 400, not a decimal.Overflow.
    if d.copy_abs() > Decimal(MAX_MINOR).scaleb(-exp):
        raise ValidationFailed(f"{field}: {value} is too large")
    return int(d.scaleb(exp))


def format_minor(minor: int, currency: str) -> str:
    """Decimal string with exactly the currency's decimals: 50000 RUB -> "500.00"."""
    exp = currency_exponent(currency)
    if exp == 0:
        return str(minor)
    sign = "-" if minor < 0 else ""
    q, r = divmod(abs(minor), 10**exp)
    return f"{sign}{q}.{r:0{exp}d}"


def human(minor: int, currency: str, locale: str = "en") -> str:
    """A person's rendering, with the currency sign and grouping: "1,000.00 ₽" / "1 000,00 ₽"."""
    exp = currency_exponent(currency)
    amount = Decimal(minor).scaleb(-exp)
    if get_currency_symbol(currency, locale=locale) == currency:
        # No sign in this locale (RUB in English): "1,000.00 RUB" reads better than "RUB1,000.00".
        pattern = "#,##0" + ("." + "0" * exp if exp else "")
        return f"{format_decimal(amount, format=pattern, locale=locale)} {currency}"
    return str(format_currency(amount, currency, locale=locale))


def _strict_amount(value: object) -> object:
    """An amount as the API takes it: a string of the strict grammar, or a JSON number (parsed
    as an int or an exact Decimal at the edge, exponents refused there); no sign either way."""
    if isinstance(value, bool | float):
        raise ValueError('send an exact decimal (a string such as "500.00" or a JSON number)')
    if isinstance(value, str | int | Decimal):
        try:
            return parse_decimal(value, "amount")
        except ValidationFailed as exc:
            raise ValueError(exc.detail.removeprefix("amount: ")) from None
    return value


# What the API takes for an amount: a JSON string or number, parsed exactly (never a float).
AmountIn = Annotated[Decimal, BeforeValidator(_strict_amount)]
