"""ITEM_BASED split (SPEC §3): each owner pays their items, the rest is shared equally. Pure."""

from __future__ import annotations

from decimal import Decimal
from fractions import Fraction
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from kopilka.allocation.items import allocate_items, item_cost_minor
from kopilka.allocation.splits import parse_split, split_to_json, split_values_minor
from kopilka.allocation.strategies import Strategy, allocate
from kopilka.errors import ValidationFailed

PROPS = settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])

owner = st.one_of(st.none(), st.integers(min_value=1, max_value=12))
item = st.tuples(owner, st.integers(min_value=0, max_value=10**9))


@PROPS
@given(items=st.lists(item, min_size=1, max_size=40), extra=st.integers(0, 10**9))
def test_shares_sum_to_the_amount_exactly_for_any_items(
    items: list[tuple[int | None, int]], extra: int
) -> None:
    owners = {o for o, _ in items if o is not None}
    total = sum(c for _, c in items) + extra
    if not owners:
        with pytest.raises(ValidationFailed, match="no item has an owner"):
            allocate_items(total, items)
        return
    shares = allocate_items(total, items)
    assert sum(shares.values()) == total
    assert set(shares) == owners
    own = {o: sum(c for oo, c in items if oo == o) for o in owners}
    shared = total - sum(own.values())
    for o, share in shares.items():
        # each owner pays their items plus an equal part (within one minor unit) of the rest
        rest = share - own[o]
        assert abs(Fraction(rest) - Fraction(shared, len(owners))) < 1
    # the minor units left over go to the largest owner ids
    rests = [shares[o] - own[o] for o in sorted(owners)]
    assert rests == sorted(rests)


@PROPS
@given(items=st.lists(item, min_size=1, max_size=20), short=st.integers(1, 10**6))
def test_items_above_the_amount_are_refused(
    items: list[tuple[int | None, int]], short: int
) -> None:
    total = sum(c for _, c in items) - short
    if total < 0:
        return
    with pytest.raises(ValidationFailed, match="more than the amount"):
        allocate_items(total, items)


@PROPS
@given(
    raw_items=st.lists(
        st.tuples(
            owner,
            st.decimals(min_value=0, max_value=10**6, places=3),
            st.decimals(min_value=Decimal("0.001"), max_value=1000, places=3),
        ),
        min_size=1,
        max_size=15,
    ),
    extra=st.integers(0, 10**7),
)
def test_a_parsed_split_allocates_exactly_and_survives_storage(
    raw_items: list[tuple[int | None, Decimal, Decimal]], extra: int
) -> None:
    items = [
        {"description": f"item {i}", "price": str(p), "quantity": str(q), "owner_id": o}
        for i, (o, p, q) in enumerate(raw_items)
    ]
    costs = [item_cost_minor(p, q, 2) for _, p, q in raw_items]
    amount = sum(costs) + extra
    owners = sorted({o for o, _, _ in raw_items if o is not None})
    raw = {"strategy": "ITEM_BASED", "items": items}
    if not owners:
        with pytest.raises(ValidationFailed):
            parse_split(raw, amount_minor=amount, currency_exponent=2, active_owner_ids=range(13))
        return
    split = parse_split(raw, amount_minor=amount, currency_exponent=2, active_owner_ids=range(13))
    assert split.strategy is Strategy.ITEM_BASED
    assert list(split.owner_ids) == owners
    values = split_values_minor(split, 2)
    assert values is not None
    shares = allocate(Strategy.ITEM_BASED, amount, dict.fromkeys(owners, Decimal(1)), values=values)
    assert sum(shares.values()) == amount
    again = parse_split(
        split_to_json(split), amount_minor=amount, currency_exponent=2, active_owner_ids=owners
    )
    assert again == split


def test_price_times_quantity_rounds_half_up_per_item() -> None:
    assert item_cost_minor(Decimal("0.125"), Decimal(1), 2) == 13  # 12.5 -> 13 (not even 12)
    assert item_cost_minor(Decimal("0.115"), Decimal(1), 2) == 12  # 11.5 -> 12
    assert item_cost_minor(Decimal("33.333"), Decimal(3), 2) == 10000  # 9999.9 -> 10000
    assert item_cost_minor(Decimal("12.34"), Decimal("2.5"), 2) == 3085
    assert item_cost_minor(Decimal("100"), Decimal("0.335"), 0) == 34  # 33.5 -> 34, yen-like


def test_firewood_for_six_households_with_delivery() -> None:
    # 6 households order firewood at 4,500.00 a cubic metre; delivery 3,000.00; one pack of
    # bark mulch (no owner) 1,000.01 is for everyone.
    items = [(101, 2 * 450000), (102, 450000), (103, 3 * 450000), (104, 450000)]
    items += [(105, 2 * 450000), (106, 450000), (None, 100001)]
    total = 10 * 450000 + 300000 + 100001
    shares = allocate_items(total, items)
    # 400,001 minor units shared by 6: 66,666 each, 5 left: to the five largest ids
    assert shares == {
        101: 900000 + 66666,
        102: 450000 + 66667,
        103: 1350000 + 66667,
        104: 450000 + 66667,
        105: 900000 + 66667,
        106: 450000 + 66667,
    }
    assert sum(shares.values()) == total


def test_an_owner_with_a_free_item_shares_the_delivery() -> None:
    assert allocate_items(1000, [(1, 0), (2, 500)]) == {1: 250, 2: 750}


@pytest.mark.parametrize(
    ("raw", "message"),
    [
        ({"strategy": "ITEM_BASED"}, "non-empty list of items"),
        ({"strategy": "ITEM_BASED", "items": []}, "non-empty list of items"),
        ({"strategy": "ITEM_BASED", "items": [{"price": "1"}]}, "no item has an owner"),
        ({"strategy": "ITEM_BASED", "items": [{"owner_id": 1}]}, "price is required"),
        ({"strategy": "ITEM_BASED", "items": [{"price": "-1", "owner_id": 1}]}, "no sign"),
        (
            {"strategy": "ITEM_BASED", "items": [{"price": "1", "quantity": 0, "owner_id": 1}]},
            "quantity must be greater than zero",
        ),
        ({"strategy": "ITEM_BASED", "items": [{"price": 1.5, "owner_id": 1}]}, "price"),
        ({"strategy": "ITEM_BASED", "items": [{"price": "1", "owner_id": 99}]}, "99"),
        ({"strategy": "ITEM_BASED", "items": [{"price": "1", "owner_id": 1, "x": 1}]}, "x"),
        ({"strategy": "ITEM_BASED", "owners": [1], "items": []}, "owners"),
        (
            {"strategy": "ITEM_BASED", "items": [{"price": "0.0000001", "owner_id": 1}]},
            "decimals",
        ),
        (
            {"strategy": "ITEM_BASED", "items": [{"price": "600", "quantity": 2, "owner_id": 1}]},
            "the items total 1200.00, more than the expense amount 1000.00",
        ),
    ],
)
def test_inconsistent_item_splits_are_refused(raw: dict[str, Any], message: str) -> None:
    with pytest.raises(ValidationFailed, match=message):
        parse_split(raw, amount_minor=100000, currency_exponent=2, active_owner_ids=[1, 2])


def test_item_based_is_split_only_without_values() -> None:
    with pytest.raises(ValidationFailed):
        allocate(Strategy.ITEM_BASED, 100, {1: Decimal(1)})
