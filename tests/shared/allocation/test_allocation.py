"""Allocation: largest remainder, strategies and splits (SPEC §2, §3). Pure: no database."""

from __future__ import annotations

import json
import random
from decimal import Decimal
from fractions import Fraction
from itertools import pairwise
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from kopilka.allocation.remainder import largest_remainder
from kopilka.allocation.splits import Split, parse_split, split_to_json, split_values_minor
from kopilka.allocation.strategies import Strategy, allocate, parse_strategy
from kopilka.errors import ValidationFailed

PROPS = settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])

amounts = st.integers(min_value=0, max_value=10**12)
owner_ids = st.integers(min_value=1, max_value=10**12)
decimal_weights = st.decimals(
    min_value=Decimal(0), max_value=Decimal(10**6), places=4, allow_nan=False, allow_infinity=False
)
any_weight = st.one_of(
    st.integers(min_value=0, max_value=10**6),
    decimal_weights,
    st.fractions(min_value=0, max_value=10**4, max_denominator=97),
)


def weight_maps(values: st.SearchStrategy[Any], max_size: int = 500) -> st.SearchStrategy[Any]:
    return st.dictionaries(owner_ids, values, min_size=1, max_size=max_size).filter(
        lambda m: sum(Fraction(v) for v in m.values()) > 0
    )


def shuffled(mapping: dict[int, Any], seed: int) -> dict[int, Any]:
    items = list(mapping.items())
    random.Random(seed).shuffle(items)
    return dict(items)


def assert_largest_remainder(total: int, weights: dict[int, Any], shares: dict[int, int]) -> None:
    assert set(shares) == set(weights)
    assert sum(shares.values()) == total
    weight_sum = sum(Fraction(w) for w in weights.values())
    for owner, share in shares.items():
        assert share >= 0
        exact = Fraction(total) * Fraction(weights[owner]) / weight_sum
        assert abs(share - exact) < 1, (owner, share, exact)
        if weights[owner] == 0:
            assert share == 0


def rank(total: int, weights: dict[int, Any], owner: int) -> tuple[Fraction, Fraction, int]:
    weight_sum = sum(Fraction(w) for w in weights.values())
    exact = Fraction(total) * Fraction(weights[owner]) / weight_sum
    return (exact - (exact.numerator // exact.denominator), Fraction(weights[owner]), owner)


# --- largest remainder: properties -----------------------------------------------------------


@PROPS
@given(total=amounts, weights=weight_maps(any_weight), seed=st.integers())
def test_largest_remainder_is_exact_close_and_order_independent(
    total: int, weights: dict[int, Any], seed: int
) -> None:
    shares = largest_remainder(total, weights)
    assert_largest_remainder(total, weights, shares)
    assert largest_remainder(total, shuffled(weights, seed)) == shares
    # The units above the floor went to the largest (remainder, weight, id): every owner who got
    # one ranks above every owner with a non-zero remainder who did not.
    weight_sum = sum(Fraction(w) for w in weights.values())
    floors = {k: int(Fraction(total) * Fraction(w) / weight_sum) for k, w in weights.items()}
    winners = [k for k in weights if shares[k] > floors[k]]
    losers = [k for k in weights if shares[k] == floors[k] and rank(total, weights, k)[0] > 0]
    if winners and losers:
        assert min(rank(total, weights, k) for k in winners) > max(
            rank(total, weights, k) for k in losers
        )


@PROPS
@given(total=amounts, weights=weight_maps(st.integers(min_value=1, max_value=3), max_size=40))
def test_equal_weights_as_int_decimal_and_fraction_agree(
    total: int, weights: dict[int, int]
) -> None:
    as_int = largest_remainder(total, weights)
    as_decimal = largest_remainder(
        total, {k: Decimal(v).scaleb(-2) * 100 for k, v in weights.items()}
    )
    as_fraction = largest_remainder(total, {k: Fraction(v, 7) for k, v in weights.items()})
    assert as_int == as_decimal == as_fraction


@PROPS
@given(total=amounts, ids=st.sets(owner_ids, min_size=1, max_size=500))
def test_fixed_fee_is_largest_remainder_with_equal_weights(total: int, ids: set[int]) -> None:
    owners = dict.fromkeys(ids, Decimal("1.5"))
    shares = allocate(Strategy.FIXED_FEE, total, owners)
    assert shares == largest_remainder(total, dict.fromkeys(ids, 1))
    assert max(shares.values()) - min(shares.values()) <= 1
    # The extra units go to the largest ids.
    ordered = sorted(ids)
    assert [shares[k] for k in ordered] == sorted(shares.values())


@PROPS
@given(
    total=amounts,
    owners=st.dictionaries(
        owner_ids, decimal_weights.filter(lambda d: d > 0), min_size=1, max_size=500
    ),
    consumption=st.dictionaries(owner_ids, decimal_weights, max_size=500),
    seed=st.integers(),
)
def test_usage_based_counts_missing_readings_as_zero(
    total: int, owners: dict[int, Decimal], consumption: dict[int, Decimal], seed: int
) -> None:
    some = dict(shuffled(owners, seed))
    first = next(iter(some))
    consumption = {**consumption, first: consumption.get(first, Decimal(0)) + 1}
    shares = allocate(Strategy.USAGE_BASED, total, owners, consumption=consumption)
    usage = {k: consumption.get(k, Decimal(0)) for k in owners}
    assert_largest_remainder(total, usage, shares)
    assert (
        allocate(Strategy.USAGE_BASED, total, shuffled(owners, seed), consumption=consumption)
        == shares
    )


@PROPS
@given(
    total=amounts,
    units=st.dictionaries(
        owner_ids, st.integers(min_value=1, max_value=10**6), min_size=1, max_size=500
    ),
)
def test_shares_strategy(total: int, units: dict[int, int]) -> None:
    owners = dict.fromkeys(units, Decimal(1))
    shares = allocate(Strategy.SHARES, total, owners, values=units)
    assert_largest_remainder(total, units, shares)


@PROPS
@given(total=amounts, cuts=st.sets(st.integers(min_value=1, max_value=10**6 - 1), max_size=199))
def test_percentage_strategy(total: int, cuts: set[int]) -> None:
    # Positive percentages with 4 decimals that total exactly 100: cut 100.0000 at the points.
    points = [0, *sorted(cuts), 10**6]
    pct = {i + 1: Decimal(b - a).scaleb(-4) for i, (a, b) in enumerate(pairwise(points))}
    assert sum(pct.values()) == 100
    shares = allocate(Strategy.PERCENTAGE, total, dict.fromkeys(pct, Decimal(1)), values=pct)
    assert_largest_remainder(total, pct, shares)


@PROPS
@given(total=amounts, weights=weight_maps(decimal_weights, max_size=500))
def test_proportional_by_share_weight(total: int, weights: dict[int, Decimal]) -> None:
    weights = {k: w for k, w in weights.items() if w > 0} or {1: Decimal(1)}
    shares = allocate(Strategy.PROPORTIONAL, total, weights)
    assert_largest_remainder(total, weights, shares)


# --- largest remainder: examples -------------------------------------------------------------


def test_thousand_over_three_owners() -> None:
    assert largest_remainder(100000, {1: 1, 2: 1, 3: 1}) == {1: 33333, 2: 33333, 3: 33334}
    # Independent of the order of the mapping.
    assert largest_remainder(100000, {3: 1, 1: 1, 2: 1}) == {1: 33333, 2: 33333, 3: 33334}
    equal = allocate(Strategy.FIXED_FEE, 100000, {3: Decimal(1), 2: Decimal(2), 1: Decimal(1)})
    assert equal == {1: 33333, 2: 33333, 3: 33334}


def test_ten_over_six_owners() -> None:
    shares = largest_remainder(1000, dict.fromkeys(range(1, 7), Decimal("1.00")))
    assert shares == {1: 166, 2: 166, 3: 167, 4: 167, 5: 167, 6: 167}


def test_five_cents_over_seven_owners() -> None:
    shares = allocate(Strategy.FIXED_FEE, 5, dict.fromkeys(range(1, 8), Decimal(1)))
    assert shares == {1: 0, 2: 0, 3: 1, 4: 1, 5: 1, 6: 1, 7: 1}


def test_proportional_one_two_three() -> None:
    owners = {1: Decimal(1), 2: Decimal(2), 3: Decimal(3)}
    # 100.00: exact shares 16.666.., 33.333.., 50 -> the one leftover cent to the largest remainder.
    assert allocate(Strategy.PROPORTIONAL, 10000, owners) == {1: 1667, 2: 3333, 3: 5000}
    assert allocate(Strategy.PROPORTIONAL, 600, owners) == {1: 100, 2: 200, 3: 300}


def test_usage_based_one_fifty_and_one_hundred() -> None:
    owners = {1: Decimal(1), 2: Decimal(1)}
    consumption = {1: Decimal("150"), 2: Decimal("100")}
    assert allocate(Strategy.USAGE_BASED, 10000, owners, consumption=consumption) == {
        1: 6000,
        2: 4000,
    }


def test_tie_goes_to_larger_weight_then_larger_id() -> None:
    # 2 over weights 1 and 3: exact 0.5 and 1.5, equal remainders: the larger weight wins even
    # though its id is smaller.
    assert largest_remainder(2, {10: 1, 5: 3}) == {10: 0, 5: 2}
    # Equal remainders and equal weights: the larger id wins.
    assert largest_remainder(1, {10: 1, 5: 1}) == {10: 1, 5: 0}
    # The remainder comes before the weight: 3 over weights 1, 1, 2 is 0.75, 0.75, 1.5, so the
    # two leftover units go to the 0.75s, not to the heavier owner.
    assert largest_remainder(3, {1: 1, 2: 1, 3: 2}) == {1: 1, 2: 1, 3: 1}
    assert largest_remainder(1, {1: 3, 2: 1}) == {1: 1, 2: 0}


def test_zero_weight_owner_gets_nothing() -> None:
    assert largest_remainder(101, {1: 0, 2: 1, 3: 1}) == {1: 0, 2: 50, 3: 51}


def test_zero_total() -> None:
    assert largest_remainder(0, {1: 1, 2: 5}) == {1: 0, 2: 0}


def test_largest_remainder_fast_enough() -> None:
    import time

    weights = {i * 7919: Decimal(1 + i % 13).scaleb(-2) for i in range(1000)}
    start = time.perf_counter()
    for _ in range(20):
        largest_remainder(123_456_789, weights)
    assert (time.perf_counter() - start) / 20 < 0.02  # generous: a few ms on a slow CI box


@pytest.mark.parametrize(
    "total, weights, message",
    [
        (100, {}, "no owners"),
        (100, {1: 0, 2: 0}, "zero"),
        (100, {1: -1, 2: 2}, "negative"),
        (-1, {1: 1}, "negative"),
        (100, {1: 1.5}, "floating point"),
        (100, {1: True}, "floating point"),
        (100, {1: Decimal("NaN")}, "finite"),
        (100, {1: Decimal("sNaN")}, "finite"),
        (100, {1: Decimal("Infinity")}, "finite"),
        (100, {1: "1"}, "not a number"),
    ],
)
def test_largest_remainder_rejects(total: int, weights: dict[int, Any], message: str) -> None:
    with pytest.raises(ValidationFailed, match=message):
        largest_remainder(total, weights)


# --- strategies ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "text, expected",
    [
        ("PROPORTIONAL", Strategy.PROPORTIONAL),
        ("proportional", Strategy.PROPORTIONAL),
        ("Equal", Strategy.FIXED_FEE),
        ("fixed_fee", Strategy.FIXED_FEE),
        (" usage_based ", Strategy.USAGE_BASED),
        ("shares", Strategy.SHARES),
        ("Percentage", Strategy.PERCENTAGE),
        ("exact", Strategy.EXACT),
        ("none", Strategy.NONE),
    ],
)
def test_parse_strategy(text: str, expected: Strategy) -> None:
    assert parse_strategy(text) is expected


def test_parse_strategy_unknown_lists_valid_names() -> None:
    with pytest.raises(ValidationFailed) as err:
        parse_strategy("FAIR")
    for name in (
        "PROPORTIONAL",
        "FIXED_FEE",
        "USAGE_BASED",
        "SHARES",
        "PERCENTAGE",
        "EXACT",
        "NONE",
        "EQUAL",
    ):
        assert name in err.value.detail


def test_none_absorbs() -> None:
    assert allocate(Strategy.NONE, 5000, {1: Decimal(1)}) == {}


def test_exact_returns_amounts() -> None:
    owners = {1: Decimal(1), 2: Decimal(1)}
    assert allocate(Strategy.EXACT, 1000, owners, values={1: 600, 2: Decimal(400)}) == {
        1: 600,
        2: 400,
    }


@pytest.mark.parametrize(
    "strategy, kwargs, message",
    [
        (Strategy.PROPORTIONAL, {"owners": {}}, "no participating owners"),
        (Strategy.FIXED_FEE, {"owners": {}}, "no participating owners"),
        (Strategy.USAGE_BASED, {}, "consumption"),
        (Strategy.USAGE_BASED, {"consumption": {}}, "zero total consumption"),
        (
            Strategy.USAGE_BASED,
            {"consumption": {1: Decimal(0), 3: Decimal(5)}},
            "zero total consumption",
        ),
        (Strategy.USAGE_BASED, {"consumption": {1: Decimal(-1), 2: Decimal(5)}}, "negative"),
        (Strategy.SHARES, {}, "needs a value"),
        (Strategy.SHARES, {"values": {1: 1}}, "no value for owner"),
        (Strategy.SHARES, {"values": {1: 1, 2: 1, 3: 1}}, "not participating"),
        (Strategy.SHARES, {"values": {1: 0, 2: 1}}, "positive whole number"),
        (Strategy.SHARES, {"values": {1: Decimal("1.5"), 2: 1}}, "positive whole number"),
        (Strategy.PERCENTAGE, {"values": {1: Decimal(50), 2: Decimal("49.99")}}, "not exactly 100"),
        (Strategy.PERCENTAGE, {"values": {1: Decimal(0), 2: Decimal(100)}}, "above 0"),
        (Strategy.EXACT, {"values": {1: 500, 2: 499}}, "total 999 .* 1000"),
        (Strategy.EXACT, {"values": {1: 1001, 2: -1}}, "negative"),
        (Strategy.EXACT, {"values": {1: Decimal("500.5"), 2: Decimal("499.5")}}, "whole number"),
    ],
)
def test_allocate_rejects(strategy: Strategy, kwargs: dict[str, Any], message: str) -> None:
    owners = kwargs.pop("owners", {1: Decimal(1), 2: Decimal(1)})
    with pytest.raises(ValidationFailed, match=message):
        allocate(strategy, 1000, owners, **kwargs)


# --- splits ----------------------------------------------------------------------------------

ACTIVE = frozenset({101, 102, 103})


def split(raw: Any, amount_minor: int = 100000, exponent: int = 2, active: Any = ACTIVE) -> Split:
    return parse_split(
        raw, amount_minor=amount_minor, currency_exponent=exponent, active_owner_ids=active
    )


def test_split_list_strategies_default_to_all_active_owners() -> None:
    s = split({"strategy": "equal"})
    assert s == Split(Strategy.FIXED_FEE, (101, 102, 103), None, all_owners=True)
    assert split_to_json(s) == {"strategy": "FIXED_FEE"}
    s = split({"strategy": "PROPORTIONAL", "owners": None})
    assert s.owner_ids == (101, 102, 103)


def test_split_list_form() -> None:
    s = split({"strategy": "USAGE_BASED", "owners": [103, "101"]})
    assert s == Split(Strategy.USAGE_BASED, (101, 103), None)
    assert split_to_json(s) == {"strategy": "USAGE_BASED", "owners": [101, 103]}
    assert split(split_to_json(s)) == s


def test_split_shares() -> None:
    s = split({"strategy": "SHARES", "owners": {"101": 1, "102": "2", "103": Decimal(3)}})
    assert s.values == {101: Decimal(1), 102: Decimal(2), 103: Decimal(3)}
    values = split_values_minor(s, 2)
    assert values == {101: 1, 102: 2, 103: 3}
    assert allocate(s.strategy, 60000, dict.fromkeys(s.owner_ids, Decimal(1)), values=values) == {
        101: 10000,
        102: 20000,
        103: 30000,
    }


def test_split_percentage() -> None:
    s = split(
        {"strategy": "percentage", "owners": {"101": "33.34", "102": "33.33", "103": "33.33"}}
    )
    assert s.values == {101: Decimal("33.34"), 102: Decimal("33.33"), 103: Decimal("33.33")}
    shares = allocate(
        s.strategy, 100000, dict.fromkeys(s.owner_ids, Decimal(1)), values=split_values_minor(s, 2)
    )
    assert shares == {101: 33340, 102: 33330, 103: 33330}


def test_split_exact_in_major_units() -> None:
    s = split(
        {"strategy": "EXACT", "owners": {"101": "600", "102": "399.99", 103: Decimal("0.01")}}
    )
    assert s.values == {101: Decimal("600.00"), 102: Decimal("399.99"), 103: Decimal("0.01")}
    values = split_values_minor(s, 2)
    assert values == {101: 60000, 102: 39999, 103: 1}
    assert (
        allocate(s.strategy, 100000, dict.fromkeys(s.owner_ids, Decimal(1)), values=values)
        == values
    )
    stored = split_to_json(s)
    assert stored == {
        "strategy": "EXACT",
        "owners": {"101": "600.00", "102": "399.99", "103": "0.01"},
    }
    assert split(stored) == s


def test_split_exact_zero_decimal_currency() -> None:
    s = split(
        {"strategy": "EXACT", "owners": {"101": 700, "102": "300"}}, amount_minor=1000, exponent=0
    )
    assert split_values_minor(s, 0) == {101: 700, 102: 300}
    with pytest.raises(ValidationFailed, match="more decimals"):
        split(
            {"strategy": "EXACT", "owners": {"101": "699.5", "102": "300.5"}},
            amount_minor=1000,
            exponent=0,
        )


def test_split_none() -> None:
    assert split({"strategy": "NONE"}) == Split(Strategy.NONE, (), None)
    assert split({"strategy": "none", "owners": []}) == Split(Strategy.NONE, (), None)
    assert split_to_json(split({"strategy": "NONE"})) == {"strategy": "NONE"}


@PROPS
@given(
    # ITEM_BASED has items, not owners: its round trip is in test_item_based.py; TARIFF is a
    # budget item's strategy, refused as a split (tests/shared/allocation/test_tariff.py)
    strategy=st.sampled_from(
        [s for s in Strategy if s not in (Strategy.ITEM_BASED, Strategy.TARIFF)]
    ),
    data=st.data(),
)
def test_split_json_round_trip(strategy: Strategy, data: st.DataObject) -> None:
    ids = sorted(data.draw(st.sets(st.integers(1, 10**12), min_size=1, max_size=30)))
    amount = data.draw(st.integers(0, 10**12))
    raw: dict[str, Any] = {"strategy": strategy.value}
    if strategy in (Strategy.PROPORTIONAL, Strategy.FIXED_FEE, Strategy.USAGE_BASED):
        if data.draw(st.booleans()):
            raw["owners"] = ids
    elif strategy is Strategy.SHARES:
        raw["owners"] = {str(k): data.draw(st.integers(1, 1000)) for k in ids}
    elif strategy is Strategy.PERCENTAGE:
        # 1% each, the rest to the last owner (at most 30 owners).
        raw["owners"] = {str(k): "1" for k in ids[:-1]} | {str(ids[-1]): str(101 - len(ids))}
    elif strategy is Strategy.EXACT:
        cut = sorted(
            data.draw(
                st.lists(st.integers(0, amount), min_size=len(ids) - 1, max_size=len(ids) - 1)
            )
        )
        parts = [b - a for a, b in zip([0, *cut], [*cut, amount], strict=True)]
        raw["owners"] = {
            str(k): str(Decimal(p).scaleb(-2)) for k, p in zip(ids, parts, strict=True)
        }
    s = split(raw, amount_minor=amount, active=set(ids))
    stored = split_to_json(s)
    assert json.loads(json.dumps(stored)) == stored
    assert split(stored, amount_minor=amount, active=set(ids)) == s
    values = split_values_minor(s, 2)
    if strategy is not Strategy.NONE:
        shares = allocate(
            s.strategy,
            amount,
            dict.fromkeys(s.owner_ids, Decimal(1)),
            consumption=dict.fromkeys(s.owner_ids, Decimal(1)),
            values=values,
        )
        assert sum(shares.values()) == amount


@pytest.mark.parametrize(
    "raw, message",
    [
        ([], "must be an object"),
        ("EQUAL", "must be an object"),
        ({}, "strategy is required"),
        ({"owners": [101]}, "strategy is required"),
        ({"strategy": None}, "strategy is required"),
        ({"strategy": 3}, "must be a name"),
        ({"strategy": "FAIR"}, "unknown strategy 'FAIR'"),
        ({"strategy": "EQUAL", "participants": [101]}, "unknown field.*participants"),
        ({"strategy": "EQUAL", "owners": []}, "participant list is empty"),
        ({"strategy": "EQUAL", "owners": {}}, "list of owner ids"),
        ({"strategy": "EQUAL", "owners": {"101": 1}}, "list of owner ids"),
        ({"strategy": "EQUAL", "owners": "101"}, "must be a list"),
        ({"strategy": "EQUAL", "owners": [101, 999]}, "owner 999 is not an active owner"),
        ({"strategy": "EQUAL", "owners": [998, 101, 999]}, "owners 998, 999 are not active"),
        ({"strategy": "EQUAL", "owners": [101, 102, 101]}, "owner 101 is named more than once"),
        ({"strategy": "EQUAL", "owners": [101, "101"]}, "owner 101 is named more than once"),
        ({"strategy": "EQUAL", "owners": [101, 1.5]}, "not an owner id"),
        ({"strategy": "EQUAL", "owners": [True]}, "not an owner id"),
        ({"strategy": "EQUAL", "owners": ["abc"]}, "not an owner id"),
        ({"strategy": "SHARES"}, "SHARES needs owners as an object"),
        ({"strategy": "SHARES", "owners": [101, 102]}, "SHARES needs owners as an object"),
        ({"strategy": "PERCENTAGE", "owners": [101]}, "PERCENTAGE needs owners as an object"),
        ({"strategy": "EXACT"}, "EXACT needs owners as an object"),
        ({"strategy": "SHARES", "owners": {}}, "participant list is empty"),
        (
            {"strategy": "SHARES", "owners": {"101": 1, "999": 1}},
            "owner 999 is not an active owner",
        ),
        ({"strategy": "SHARES", "owners": {"101": 1, 101: 2}}, "named more than once"),
        ({"strategy": "SHARES", "owners": {"x": 1}}, "not an owner id"),
        ({"strategy": "SHARES", "owners": {"101": 0}}, "positive whole number"),
        ({"strategy": "SHARES", "owners": {"101": -2}}, "has a sign"),
        ({"strategy": "SHARES", "owners": {"101": "1.5"}}, "positive whole number"),
        ({"strategy": "SHARES", "owners": {"101": "1e30"}}, "not a decimal number"),
        ({"strategy": "SHARES", "owners": {"101": 1.0}}, "floating point"),
        ({"strategy": "SHARES", "owners": {"101": True}}, "decimal number"),
        ({"strategy": "SHARES", "owners": {"101": None}}, "decimal number"),
        ({"strategy": "SHARES", "owners": {"101": "lots"}}, "not a decimal number"),
        (
            {"strategy": "PERCENTAGE", "owners": {"101": "60", "102": "30"}},
            "total 90, they must total exactly 100",
        ),
        ({"strategy": "PERCENTAGE", "owners": {"101": "60", "102": "40.5"}}, "total 100.5"),
        ({"strategy": "PERCENTAGE", "owners": {"101": "100", "102": "0"}}, "above 0"),
        ({"strategy": "PERCENTAGE", "owners": {"101": "150", "102": "-50"}}, "at most 100"),
        (
            {"strategy": "PERCENTAGE", "owners": {"101": "1e-50", "102": "100"}},
            "not a decimal number",
        ),
        (
            {"strategy": "PERCENTAGE", "owners": {"101": "0.00000000001", "102": "100"}},
            "more than 10 decimals",
        ),
        ({"strategy": "PERCENTAGE", "owners": {"101": "NaN"}}, "not a decimal number"),
        ({"strategy": "PERCENTAGE", "owners": {"101": 50.0, "102": 50.0}}, "floating point"),
        (
            {"strategy": "EXACT", "owners": {"101": "600.00", "102": "300.00"}},
            "total 900.00 but the expense amount is 1000.00",
        ),
        (
            {"strategy": "EXACT", "owners": {"101": "600.00", "102": "500.00"}},
            "total 1100.00 but the expense amount is 1000.00",
        ),
        (
            {"strategy": "EXACT", "owners": {"101": "600.001", "102": "399.999"}},
            "more decimals than the currency allows",
        ),
        (
            {"strategy": "EXACT", "owners": {"101": "1100.00", "102": "-100.00"}},
            "not a decimal number",
        ),
        ({"strategy": "EXACT", "owners": {"101": "1e40"}}, "not a decimal number"),
        ({"strategy": "EXACT", "owners": {"101": "1000000000000000.00"}}, "too large"),
        ({"strategy": "EXACT", "owners": {"101": 1000.0}}, "floating point"),
        ({"strategy": "NONE", "owners": [101]}, "NONE is not allocated"),
        ({"strategy": "NONE", "owners": {"101": "1"}}, "NONE is not allocated"),
    ],
)
def test_parse_split_rejects(raw: Any, message: str) -> None:
    with pytest.raises(ValidationFailed, match=message):
        split(raw)


def test_parse_split_no_active_owners() -> None:
    with pytest.raises(ValidationFailed, match="participant list is empty"):
        split({"strategy": "PROPORTIONAL"}, active=set())


def test_parse_split_inactive_owner_named() -> None:
    with pytest.raises(ValidationFailed) as err:
        split({"strategy": "EXACT", "owners": {"101": "500", "104": "500"}})
    assert "104" in err.value.detail
    assert err.value.status == 400
