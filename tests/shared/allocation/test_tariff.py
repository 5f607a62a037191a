"""TARIFF allocation (SPEC §3): consumption x tariff per zone half-up per owner, the loss shared
by the loss strategy; tariff charges + loss shares = the bill exactly, for any input."""

from __future__ import annotations

from decimal import Decimal
from fractions import Fraction

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from kopilka.allocation.strategies import Strategy
from kopilka.allocation.tariff import allocate_tariff, parse_tariffs
from kopilka.errors import ValidationFailed

owner_ids = st.integers(min_value=1, max_value=10**12)
consumptions = st.fractions(min_value=0, max_value=100_000, max_denominator=12)
tariff_values = st.decimals(min_value=0, max_value=100, places=4, allow_nan=False)


@st.composite
def cases(
    draw: st.DrawFn,
) -> tuple[int, dict[int, Fraction], dict[int, dict[str, Fraction]], dict[str, Decimal], Strategy]:
    ids = draw(st.lists(owner_ids, min_size=1, max_size=12, unique=True))
    zones = draw(st.sampled_from([("T1",), ("T1", "T2"), ("T1", "T2", "T3")]))
    weights = {
        k: draw(st.fractions(min_value=Fraction(1, 7), max_value=1000, max_denominator=7))
        for k in ids
    }
    use = {
        k: {z: draw(consumptions) for z in zones} for k in ids if draw(st.booleans()) or k == ids[0]
    }
    tariffs = {z: draw(tariff_values) for z in zones}
    bill = draw(st.integers(min_value=0, max_value=10**11))
    strategy = draw(
        st.sampled_from([Strategy.PROPORTIONAL, Strategy.FIXED_FEE, Strategy.USAGE_BASED])
    )
    return bill, weights, use, tariffs, strategy


@settings(max_examples=200, deadline=None)
@given(cases())
def test_tariff_plus_loss_is_the_bill_exactly(case: tuple) -> None:  # type: ignore[type-arg]
    bill, weights, use, tariffs, strategy = case
    total_use = sum(sum(z.values()) for z in use.values())
    try:
        r = allocate_tariff(bill, weights, use, tariffs, 2, strategy)
    except ValidationFailed as e:
        assert strategy is Strategy.USAGE_BASED and total_use == 0, e
        return
    assert sum(r.tariff.values()) + sum(r.loss_shares.values()) == bill
    assert sum(r.total().values()) == bill
    assert r.loss == bill - sum(r.tariff.values())
    assert set(r.tariff) == set(weights) and set(r.loss_shares) == set(weights)
    for k in weights:
        exact = sum(
            (Fraction(q) * Fraction(tariffs[z]) * 100 for z, q in use.get(k, {}).items()),
            Fraction(0),
        )
        assert abs(r.tariff[k] - exact) <= Fraction(1, 2)  # half-up to the minor unit
        if exact - int(exact) == Fraction(1, 2):
            assert r.tariff[k] == int(exact) + 1  # a half goes up
    # every loss share has the loss's sign (or is zero) and stays within one unit of exact
    shares = r.loss_shares.values()
    assert all(v >= 0 for v in shares) if r.loss >= 0 else all(v <= 0 for v in shares)


@settings(max_examples=100, deadline=None)
@given(cases())
def test_a_negative_loss_is_shared_too(case: tuple) -> None:  # type: ignore[type-arg]
    _, weights, use, tariffs, strategy = case
    if not any(q for z in use.values() for q in z.values()):
        return  # nothing consumed: no tariff charge to undercut
    # a bill below what the meters add up to: the loss is negative and still sums exactly
    charged = allocate_tariff(10**12, weights, use, tariffs, 2, strategy).tariff
    total = sum(charged.values())
    if total == 0:
        return
    bill = total // 2
    r = allocate_tariff(bill, weights, use, tariffs, 2, strategy)
    assert r.loss == bill - total < 0
    assert sum(r.tariff.values()) + sum(r.loss_shares.values()) == bill


def test_the_example_of_the_readme_by_hand() -> None:
    # two owners: 100 kWh day + 40 night; 50 day + 10 night; 5.12 / 2.48; bill 1000.00
    r = allocate_tariff(
        100_000,
        {1: Decimal(600), 2: Decimal(400)},
        {1: {"T1": Fraction(100), "T2": Fraction(40)}, 2: {"T1": Fraction(50), "T2": Fraction(10)}},
        {"T1": Decimal("5.12"), "T2": Decimal("2.48")},
        2,
    )
    assert r.tariff == {1: 61_120, 2: 28_080}  # 512.00 + 99.20; 256.00 + 24.80
    assert r.loss == 10_800
    assert r.loss_shares == {1: 6_480, 2: 4_320}  # 600 : 400
    fixed = allocate_tariff(
        100_000, {1: 1, 2: 1}, {1: {"T1": Fraction(1, 3)}}, {"T1": Decimal("0.015")}, 2, "FIXED_FEE"
    )
    assert fixed.tariff == {1: 1, 2: 0}  # 0.005 -> 0.01 half-up
    assert fixed.loss_shares == {1: 49_999, 2: 50_000}


def test_refusals() -> None:
    with pytest.raises(ValidationFailed, match="no tariff"):
        allocate_tariff(100, {1: 1}, {1: {"T2": Fraction(1)}}, {"T1": Decimal(1)}, 2)
    with pytest.raises(ValidationFailed, match="cannot share a loss"):
        allocate_tariff(100, {1: 1}, {}, {"T1": Decimal(1)}, 2, "EXACT")
    with pytest.raises(ValidationFailed, match="zero"):
        allocate_tariff(100, {1: 1}, {}, {"T1": Decimal(1)}, 2, "USAGE_BASED")
    with pytest.raises(ValidationFailed, match="do not take part"):
        allocate_tariff(100, {1: 1}, {2: {"T1": Fraction(1)}}, {"T1": Decimal(1)}, 2)
    from kopilka.allocation.splits import parse_split
    from kopilka.allocation.strategies import allocate

    with pytest.raises(ValidationFailed, match="budget item's strategy"):
        parse_split(
            {"strategy": "TARIFF"}, amount_minor=100, currency_exponent=2, active_owner_ids=[1]
        )
    with pytest.raises(ValidationFailed, match="allocate_tariff"):
        allocate(Strategy.TARIFF, 100, {1: 1})
    assert parse_tariffs({"t1": "5.12", "T2": 2}, 2) == {"T1": Decimal("5.12"), "T2": Decimal(2)}
    for bad in (
        {},
        {"T4": "1"},
        {"T1": "-1"},
        {"T1": "0.0000001"},
        {"T1": 1.5},
        "5",
        {"T1": "1e20"},
    ):
        with pytest.raises(ValidationFailed):
            parse_tariffs(bad, 2)
