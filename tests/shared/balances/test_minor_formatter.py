"""The sheet's fast amount formatter says exactly what ``format_minor`` says."""

from hypothesis import given
from hypothesis import strategies as st

from kopilka.balances.output import minor_formatter
from kopilka.money import format_minor


@given(st.integers(min_value=-(10**15), max_value=10**15), st.sampled_from(["RUB", "JPY", "KWD"]))
def test_minor_formatter_equals_format_minor(minor: int, currency: str) -> None:
    assert minor_formatter(currency)(minor) == format_minor(minor, currency)
