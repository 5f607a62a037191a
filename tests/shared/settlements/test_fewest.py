"""Suggested settlements between owners (SPEC §6). Pure: no database."""

from __future__ import annotations

import itertools
import random
from collections import Counter

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from kopilka.errors import ValidationFailed
from kopilka.settlements.fewest import EXACT_UP_TO, Transfer, suggest_settlements

PROPS = settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])

owner_ids = st.integers(min_value=1, max_value=10**12)
amounts = st.one_of(
    st.integers(min_value=-(10**12), max_value=10**12),
    st.integers(min_value=-50, max_value=50),  # small values: many ties and exact matches
)
balance_maps = st.dictionaries(owner_ids, amounts, max_size=60)
balanced_maps = balance_maps.map(
    lambda b: {**b, 0: -sum(b.values())} if b else b
)  # sums to zero: owner 0 takes the difference
# Beyond EXACT_UP_TO owners with a non-zero balance the suggestion is the stable line.
large = st.dictionaries(
    owner_ids, amounts.filter(bool), min_size=2 * EXACT_UP_TO + 2, max_size=40
).map(lambda b: {**b, 0: -sum(b.values())} if len(b) % 2 else b)


def nonzero(balances: dict[int, int]) -> int:
    return sum(1 for v in balances.values() if v)


def paid(balances: dict[int, int], t: Transfer) -> dict[int, int]:
    after = dict(balances)
    after[t.from_owner_id] += t.amount_minor
    after[t.to_owner_id] -= t.amount_minor
    return after


def net_flows(transfers: list[Transfer]) -> Counter[int]:
    flow: Counter[int] = Counter()
    for t in transfers:
        flow[t.from_owner_id] += t.amount_minor
        flow[t.to_owner_id] -= t.amount_minor
    return flow


def check_settles(balances: dict[int, int], transfers: list[Transfer]) -> None:
    debt = -sum(b for b in balances.values() if b < 0)
    credit = sum(b for b in balances.values() if b > 0)
    for t in transfers:
        assert t.amount_minor > 0
        assert t.from_owner_id != t.to_owner_id
        assert balances[t.from_owner_id] < 0 < balances[t.to_owner_id]
    flow = net_flows(transfers)
    for owner, balance in balances.items():
        moved = flow[owner]  # what the owner paid, minus what they received
        if balance < 0:
            assert 0 <= moved <= -balance
        elif balance > 0:
            assert balance >= -moved >= 0
        else:
            assert moved == 0
    assert sum(t.amount_minor for t in transfers) == min(debt, credit)


@PROPS
@given(balances=balance_maps, seed=st.integers())
def test_settles_as_much_as_can_be_settled(balances: dict[int, int], seed: int) -> None:
    transfers = suggest_settlements(balances)
    check_settles(balances, transfers)
    nonzero = sum(1 for b in balances.values() if b)
    assert len(transfers) <= max(nonzero - 1, 0)
    # Deterministic, independent of the mapping's order, sorted by amount then ids.
    items = list(balances.items())
    random.Random(seed).shuffle(items)
    assert suggest_settlements(dict(items)) == transfers
    assert transfers == sorted(
        transfers, key=lambda t: (-t.amount_minor, t.from_owner_id, t.to_owner_id)
    )
    # One transfer per pair at most.
    assert len({(t.from_owner_id, t.to_owner_id) for t in transfers}) == len(transfers)


@PROPS
@given(balances=balanced_maps)
def test_balanced_sheet_is_settled_completely(balances: dict[int, int]) -> None:
    after = dict(balances)
    for t in suggest_settlements(balances):
        after = paid(after, t)
    assert all(b == 0 for b in after.values())


@PROPS
@given(balances=large)
def test_stable_after_paying_any_one_suggestion(balances: dict[int, int]) -> None:
    transfers = suggest_settlements(balances)
    for t in transfers:
        rest = list(transfers)
        rest.remove(t)
        after = paid(balances, t)
        if nonzero(after) > EXACT_UP_TO:
            assert suggest_settlements(after) == rest, t


@PROPS
@given(balances=large, order=st.randoms(use_true_random=False))
def test_paying_all_suggestions_in_any_order_keeps_them(
    balances: dict[int, int], order: random.Random
) -> None:
    remaining = suggest_settlements(balances)
    current = dict(balances)
    while remaining:
        t = order.choice(remaining)
        current = paid(current, t)
        remaining.remove(t)
        if nonzero(current) <= EXACT_UP_TO:
            break  # from here on the exact fewest, which may differ from the line's plan
        assert suggest_settlements(current) == remaining


def test_the_fewest_transfers_for_the_issue_example() -> None:
    # -50, +10, -60, +60, +40: the line suggested 4 transfers; 3 suffice (60 -> 60 alone)
    balances = {1: -5000, 2: 1000, 3: -6000, 4: 6000, 5: 4000}
    transfers = suggest_settlements(balances)
    check_settles(balances, transfers)
    assert len(transfers) == 3, transfers


def brute_force_fewest(balances: dict[int, int]) -> int:
    """n - the most zero-sum groups, over every partition of the owners (n <= 8)."""
    values = [v for v in balances.values() if v]

    def most_groups(items: list[int]) -> int:
        if not items:
            return 0
        first, rest = items[0], items[1:]
        best = 0
        for r in range(len(rest) + 1):
            for combo in itertools.combinations(range(len(rest)), r):
                if first + sum(rest[i] for i in combo) == 0:
                    left = [rest[i] for i in range(len(rest)) if i not in combo]
                    best = max(best, 1 + most_groups(left))
        return best

    return len(values) - most_groups(values)


small_balanced = st.lists(
    st.integers(min_value=-6, max_value=6).map(lambda v: v * 1000), min_size=1, max_size=7
).map(lambda vs: {i + 1: v for i, v in enumerate(vs)} | {100: -sum(vs)})


@PROPS
@given(balances=small_balanced)
def test_exactly_the_fewest_against_brute_force(balances: dict[int, int]) -> None:
    transfers = suggest_settlements(balances)
    check_settles(balances, transfers)
    assert len(transfers) == brute_force_fewest(balances), transfers


def test_largest_first_greedy_would_not_be_stable_but_this_is() -> None:
    # Largest debtor pays largest creditor would suggest A->C 7, B->D 6, A->E 3, B->E 3 and then,
    # after A pays E, B->C 7: a different plan. The id-ordered sweep keeps its plan.
    balances = {1: -10, 2: -9, 3: 7, 4: 6, 5: 6}
    transfers = suggest_settlements(balances)
    check_settles(balances, transfers)
    for t in transfers:
        rest = list(transfers)
        rest.remove(t)
        assert suggest_settlements(paid(balances, t)) == rest


def test_examples() -> None:
    assert suggest_settlements({}) == []
    assert suggest_settlements({1: 0, 2: 0}) == []
    assert suggest_settlements({1: 500, 2: 300}) == []  # nobody owes: the fund owes them
    assert suggest_settlements({1: -1000, 2: 600, 3: 400}) == [
        Transfer(1, 2, 600),
        Transfer(1, 3, 400),
    ]
    assert suggest_settlements({1: 1000, 2: -600, 3: -400}) == [
        Transfer(2, 1, 600),
        Transfer(3, 1, 400),
    ]
    # Unbalanced: the fund holds 500 of owner 3's credit, so only 1000 is settled between owners.
    assert suggest_settlements({1: -1000, 2: 1000, 3: 500}) == [Transfer(1, 2, 1000)]
    assert suggest_settlements({1: -1000, 2: 200, 3: 1300}) == [
        Transfer(1, 3, 800),
        Transfer(1, 2, 200),
    ]
    # Owners' debts exceed credits: the rest is owed to the fund.
    assert suggest_settlements({1: -700, 2: -700, 3: 1000}) == [
        Transfer(1, 3, 700),
        Transfer(2, 3, 300),
    ]


def test_hub_examples() -> None:
    balances = {1: -1000, 2: 600, 3: 400, 9: 0}
    assert suggest_settlements(balances, via=9) == [
        Transfer(1, 9, 1000),
        Transfer(9, 2, 600),
        Transfer(9, 3, 400),
    ]
    # The hub's own balance is settled by the difference: transfers involving only the hub skip.
    balances = {1: -1000, 2: 600, 3: 400}
    assert suggest_settlements(balances, via=2) == [Transfer(1, 2, 1000), Transfer(2, 3, 400)]
    assert suggest_settlements(balances, via=1) == [Transfer(1, 2, 600), Transfer(1, 3, 400)]
    # Unbalanced: the fund owes 500 more than owners owe; the cut falls on the last creditors.
    assert suggest_settlements({1: -1000, 2: 1000, 3: 500, 9: 0}, via=9) == [
        Transfer(1, 9, 1000),
        Transfer(9, 2, 1000),
    ]


def test_via_must_be_an_owner_of_the_sheet() -> None:
    with pytest.raises(ValidationFailed, match="owner 7"):
        suggest_settlements({1: -5, 2: 5}, via=7)


def test_balances_must_be_minor_units() -> None:
    with pytest.raises(ValidationFailed, match="whole number"):
        suggest_settlements({1: -5.0, 2: 5})  # type: ignore[dict-item]


@PROPS
@given(balances=st.one_of(balance_maps, balanced_maps).filter(bool), data=st.data())
def test_hub_mode(balances: dict[int, int], data: st.DataObject) -> None:
    hub = data.draw(st.sampled_from(sorted(balances)))
    transfers = suggest_settlements(balances, via=hub)
    assert transfers == sorted(
        transfers, key=lambda t: (-t.amount_minor, t.from_owner_id, t.to_owner_id)
    )
    for t in transfers:
        assert t.amount_minor > 0
        # Every debtor pays the hub, the hub pays every creditor.
        assert (t.to_owner_id == hub and balances[t.from_owner_id] < 0) or (
            t.from_owner_id == hub and balances[t.to_owner_id] > 0
        )
    others = [k for k, b in balances.items() if b and k != hub]
    assert len(transfers) <= len(others)
    assert len({(t.from_owner_id, t.to_owner_id) for t in transfers}) == len(transfers)
    after = dict(balances)
    for t in transfers:
        after = paid(after, t)
    # Nobody, the hub included, is pushed past zero: each balance moves towards zero.
    for k, b in balances.items():
        assert min(b, 0) <= after[k] <= max(b, 0), k
    # Everything settleable is settled: what is left is on one side, the fund's.
    total = sum(balances.values())
    if total >= 0:
        assert all(b >= 0 for b in after.values())
    if total <= 0:
        assert all(b <= 0 for b in after.values())
    # Stable: paying one suggestion leaves the others.
    for t in transfers:
        rest = list(transfers)
        rest.remove(t)
        assert suggest_settlements(paid(balances, t), via=hub) == rest, t


def test_many_owners_quick() -> None:
    rng = random.Random(7)
    balances = {i: rng.randint(-(10**9), 10**9) for i in range(1, 10_001)}
    transfers = suggest_settlements(balances)
    check_settles(balances, transfers)
    assert len(transfers) < 10_000
