"""Issue 3 through the HTTP API: the seeds' worked examples, the cases where naive rounding
over-allocates, split validation, the budget report and settlements."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import pytest
from sqlalchemy import func, select

from kopilka.db import transaction
from kopilka.models import Expense, LedgerEntry
from tests.api._support import usage_budget_item

P = "/api/payments/periods"


def add_owner(client: Any, admin: dict[str, str], owner_id: int, weight: str = "1") -> None:
    r = client.post(
        "/api/payments/owners", json={"owner_id": owner_id, "share_weight": weight}, headers=admin
    )
    assert r.status_code == 201, r.text


def expense(client: Any, admin: dict[str, str], pid: int, **body: Any) -> Any:
    return client.post(f"{P}/{pid}/expenses", json=body, headers=admin)


def allocated(client: Any, admin: dict[str, str], pid: int) -> dict[int, str]:
    r = client.get(f"{P}/{pid}/balance-sheet", headers=admin)
    assert r.status_code == 200, r.text
    sheet = r.json()
    total = sum(Decimal(e["total_allocated"]) for e in sheet["entries"])
    assert total + Decimal(sheet["total_unallocated"]) == Decimal(sheet["total_expenses"])
    assert Decimal(sheet["total_allocated"]) == total
    return {e["owner_id"]: e["total_allocated"] for e in sheet["entries"]}


def test_1000_over_three_owners_gives_the_cent_to_the_largest_id(client, admin, period):
    for o in (1, 2, 3):
        add_owner(client, admin, o)
    assert (
        expense(client, admin, period["id"], amount="1000.00", payment_type="ROADS").status_code
        == 201
    )
    assert allocated(client, admin, period["id"]) == {1: "333.33", 2: "333.33", 3: "333.34"}


def test_proportional_weights_1_2_3(client, admin, period):
    for o, w in ((11, "1"), (12, "2"), (13, "3")):
        add_owner(client, admin, o, w)
    client.post(
        f"{P}/{period['id']}/budget-items",
        json={
            "payment_type": "SECURITY",
            "budgeted_amount": "600",
            "allocation_strategy": "PROPORTIONAL",
        },
        headers=admin,
    )
    expense(
        client, admin, period["id"], amount="600.00", payment_type="security", paid_by_owner_id=11
    )
    assert allocated(client, admin, period["id"]) == {11: "100.00", 12: "200.00", 13: "300.00"}


def test_fixed_fee_ignores_weights(client, admin, period):
    for o, w in ((21, "1"), (22, "5")):
        add_owner(client, admin, o, w)
    client.post(
        f"{P}/{period['id']}/budget-items",
        json={"payment_type": "GARBAGE", "budgeted_amount": "90", "allocation_strategy": "EQUAL"},
        headers=admin,
    )
    expense(client, admin, period["id"], amount="90.00", payment_type="Garbage")
    assert allocated(client, admin, period["id"]) == {21: "45.00", 22: "45.00"}


def test_usage_based_150_and_100_units(client, admin, period):
    pid = period["id"]
    for o in (31, 32):
        add_owner(client, admin, o)
    usage_budget_item(client, admin, pid, "UTILITIES", "WATER", "100.00")
    client.post(
        f"{P}/{pid}/meter-readings",
        json={"owner_id": 31, "meter_type": "WATER", "start_reading": 1000, "end_reading": 1150},
        headers=admin,
    )
    client.post(
        f"{P}/{pid}/meter-readings",
        json={"owner_id": 32, "meter_type": "water", "start_reading": "20", "end_reading": "120"},
        headers=admin,
    )
    expense(client, admin, pid, amount="100.00", payment_type="UTILITIES", paid_by_owner_id=32)
    assert allocated(client, admin, pid) == {31: "60.00", 32: "40.00"}


def test_usage_based_with_zero_consumption_is_reported_unallocated(client, admin, period):
    pid = period["id"]
    add_owner(client, admin, 41)
    usage_budget_item(client, admin, pid, "POWER", "ELECTRICITY", "10")
    expense(client, admin, pid, amount="10.00", payment_type="POWER")
    sheet = client.get(f"{P}/{pid}/balance-sheet", headers=admin).json()
    assert sheet["total_unallocated"] == "10.00"
    assert "zero total consumption" in sheet["unallocated"][0]["reason"]


def test_a_charge_hits_one_owner_only(client, admin, period):
    for o in (51, 52):
        add_owner(client, admin, o)
    r = client.post(
        f"{P}/{period['id']}/charges",
        json={"owner_id": 51, "amount": "50.00", "description": "Repair - door lock"},
        headers=admin,
    )
    assert r.status_code == 201
    sheet = client.get(f"{P}/{period['id']}/balance-sheet", headers=admin).json()
    by = {e["owner_id"]: e for e in sheet["entries"]}
    assert by[51]["total_service_charges"] == "50.00" and by[51]["balance"] == "-50.00"
    assert by[52]["total_service_charges"] == "0.00" and by[52]["balance"] == "0.00"


@pytest.mark.parametrize(
    ("amount", "owners", "expected_counts"),
    [("10.00", 6, {"1.66": 2, "1.67": 4}), ("0.05", 7, {"0.00": 2, "0.01": 5})],
)
def test_where_naive_rounding_over_allocates(
    client, admin, period, amount, owners, expected_counts
):
    ids = list(range(61, 61 + owners))
    for o in ids:
        add_owner(client, admin, o)
    expense(client, admin, period["id"], amount=amount, payment_type="MISC")
    shares = allocated(client, admin, period["id"])
    assert sum(Decimal(v) for v in shares.values()) == Decimal(amount)
    counts: dict[str, int] = {}
    for v in shares.values():
        counts[v] = counts.get(v, 0) + 1
    assert counts == expected_counts
    if amount == "0.05":  # the leftover cents go to the largest ids (equal weights)
        assert [shares[o] for o in ids[-5:]] == ["0.01"] * 5


def test_splits_of_every_kind(client, admin, period):
    pid = period["id"]
    for o in (71, 72, 73):
        add_owner(client, admin, o)
    splits = [
        ("60.00", "A", {"strategy": "SHARES", "owners": {"71": 1, "72": 2, "73": 3}}),
        ("100.00", "B", {"strategy": "PERCENTAGE", "owners": {"71": "50", "72": "25", "73": "25"}}),
        ("10.00", "C", {"strategy": "EXACT", "owners": {"71": "7.50", "73": "2.50"}}),
        ("9.00", "D", {"strategy": "EQUAL", "owners": [72, 73]}),
        ("5.00", "E", {"strategy": "NONE"}),
    ]
    for amount, payment_type, split in splits:
        r = expense(client, admin, pid, amount=amount, payment_type=payment_type, split=split)
        assert r.status_code == 201
    shares = allocated(client, admin, pid)
    # SHARES 10/20/30 + PERCENTAGE 50/25/25 + EXACT 7.50/-/2.50 + EQUAL -/4.50/4.50
    assert shares == {71: "67.50", 72: "49.50", 73: "62.00"}
    sheet = client.get(f"{P}/{pid}/balance-sheet", headers=admin).json()
    assert sheet["total_unallocated"] == "5.00" and sheet["unallocated"][0]["reason"].startswith(
        "NONE"
    )


@pytest.mark.parametrize(
    "split",
    [
        {"strategy": "PERCENTAGE", "owners": {"81": "50", "82": "40"}},
        {"strategy": "EXACT", "owners": {"81": "30.00", "82": "30.00"}},
        {"strategy": "SHARES", "owners": {"81": 1, "999999": 2}},
        {"strategy": "EQUAL", "owners": []},
        {"strategy": "BOGUS"},
        {"strategy": "SHARES", "owners": [81, 82]},
        {"strategy": "EXACT", "owners": {"81": "100.001"}},
    ],
)
def test_inconsistent_splits_are_400_and_store_nothing(client, admin, period, split):
    for o in (81, 82):
        client.post("/api/payments/owners", json={"owner_id": o}, headers=admin)
    with transaction() as s:
        before = (
            s.scalar(select(func.count()).select_from(Expense)),
            s.scalar(select(func.count()).select_from(LedgerEntry)),
        )
    r = expense(
        client,
        admin,
        period["id"],
        amount="100.00",
        payment_type="X",
        split=split,
        paid_by_owner_id=81,
    )
    assert r.status_code == 400, r.text
    assert r.headers["content-type"].startswith("application/problem+json")
    assert r.json()["detail"]
    with transaction() as s:
        after = (
            s.scalar(select(func.count()).select_from(Expense)),
            s.scalar(select(func.count()).select_from(LedgerEntry)),
        )
    assert after == before


def test_an_inactive_owner_cannot_be_named_in_a_split(client, admin, period):
    add_owner(client, admin, 91)
    add_owner(client, admin, 92)
    client.patch("/api/payments/owners/92", json={"is_active": False}, headers=admin)
    r = expense(
        client,
        admin,
        period["id"],
        amount="10.00",
        payment_type="X",
        split={"strategy": "EQUAL", "owners": [91, 92]},
    )
    assert r.status_code == 400 and "92" in r.json()["detail"]
    # inactive owners do not share pooled expenses either
    expense(client, admin, period["id"], amount="10.00", payment_type="Y")
    assert allocated(client, admin, period["id"]) == {91: "10.00"}


def test_invalid_allocation_inputs(client, admin, period):
    pid = period["id"]
    r = client.post(
        f"{P}/{pid}/meter-readings",
        json={"owner_id": 1, "meter_type": "WATER", "start_reading": 10, "end_reading": 5},
        headers=admin,
    )
    assert r.status_code == 400 and "below" in r.json()["detail"]
    r = client.post(
        f"{P}/{pid}/budget-items",
        json={"payment_type": "W", "budgeted_amount": "1", "allocation_strategy": "USAGE_BASED"},
        headers=admin,
    )
    assert r.status_code == 400 and "meter_type" in r.json()["detail"]
    client.post(
        f"{P}/{pid}/budget-items",
        json={"payment_type": "Dup", "budgeted_amount": "1"},
        headers=admin,
    )
    r = client.post(
        f"{P}/{pid}/budget-items",
        json={"payment_type": "DUP", "budgeted_amount": "1"},
        headers=admin,
    )
    assert r.status_code == 409


def test_budget_report_gives_actuals_and_variance(client, admin, period):
    pid = period["id"]
    add_owner(client, admin, 101)
    client.post(
        f"{P}/{pid}/budget-items",
        json={"payment_type": "SECURITY", "budgeted_amount": "200.00"},
        headers=admin,
    )
    expense(client, admin, pid, amount="150.00", payment_type="security")
    expense(client, admin, pid, amount="70.00", payment_type="SECURITY")
    items = client.get(f"{P}/{pid}/budget-items", headers=admin).json()
    assert [
        (i["payment_type"], i["budgeted_amount"], i["actual_amount"], i["variance"]) for i in items
    ] == [("SECURITY", "200.00", "220.00", "-20.00")]


def test_settlements_suggested_recorded_and_stable(client, admin, period):
    pid = period["id"]
    for o in (111, 112, 113):
        add_owner(client, admin, o)
    # 111 paid the whole 300.00: it is owed 200.00, the others owe 100.00 each
    expense(client, admin, pid, amount="300.00", payment_type="ROADS", paid_by_owner_id=111)
    plan = client.get(f"{P}/{pid}/settlements/suggested", headers=admin).json()
    transfers = [(t["from_owner_id"], t["to_owner_id"], t["amount"]) for t in plan["transfers"]]
    assert sorted(transfers) == [(112, 111, "100.00"), (113, 111, "100.00")]
    first = plan["transfers"][0]
    r = client.post(
        f"{P}/{pid}/settlements",
        json={
            "from_owner_id": first["from_owner_id"],
            "to_owner_id": first["to_owner_id"],
            "amount": first["amount"],
        },
        headers=admin,
    )
    assert r.status_code == 201, r.text
    again = client.get(f"{P}/{pid}/settlements/suggested", headers=admin).json()["transfers"]
    assert again == plan["transfers"][1:]
    by = {
        e["owner_id"]: e
        for e in client.get(f"{P}/{pid}/balance-sheet", headers=admin).json()["entries"]
    }
    assert by[first["from_owner_id"]]["balance"] == "0.00"
    assert by[111]["net_settlements"] == "-100.00"
    assert len(client.get(f"{P}/{pid}/settlements", headers=admin).json()) == 1
    hub = client.get(f"{P}/{pid}/settlements/suggested?via=111", headers=admin).json()
    assert all(111 in (t["from_owner_id"], t["to_owner_id"]) for t in hub["transfers"])
    r = client.post(
        f"{P}/{pid}/settlements",
        json={"from_owner_id": 112, "to_owner_id": 112, "amount": "1"},
        headers=admin,
    )
    assert r.status_code == 400
