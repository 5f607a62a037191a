"""The balance sheet and one owner's balance (SPEC §1 balance, §3, §6), with the seeds' numbers."""

from __future__ import annotations

from typing import Any

import pytest

from tests.api._support import PAYMENTS, assert_problem, post
from tests.conftest import new_community, unique_id

ENTRY_FIELDS = {
    "owner_id",
    "name",
    "opening_balance",
    "total_contributions",
    "total_paid_expenses",
    "total_allocated",
    "total_service_charges",
    "total_charges",
    "net_settlements",
    "balance",
}


def _sheet(client: Any, admin: dict[str, str], pid: int) -> dict[str, Any]:
    r = client.get(f"{PAYMENTS}/periods/{pid}/balance-sheet", headers=admin)
    assert r.status_code == 200, r.text
    return r.json()


def _by_owner(sheet: dict[str, Any]) -> dict[int, dict[str, Any]]:
    return {e["owner_id"]: e for e in sheet["entries"]}


def _quickstart(client: Any, admin: dict[str, str], pid: int) -> tuple[int, int]:
    """The seeds' quickstart: two owners pay 500 each, owner 1 pays SECURITY 200, owner 2
    UTILITIES 100, SECURITY is PROPORTIONAL by budget item."""
    o1, o2 = sorted((unique_id(), unique_id()))
    post(client, admin, "/owners", {"owner_id": o1, "name": "Owner 1"})
    post(client, admin, "/owners", {"owner_id": o2, "name": "Owner 2"})
    for o in (o1, o2):
        post(
            client,
            admin,
            f"/periods/{pid}/contributions",
            {"owner_id": o, "amount": 500.00, "date": "2025-11-05", "comment": "Monthly payment"},
        )
    post(
        client,
        admin,
        f"/periods/{pid}/expenses",
        {
            "paid_by_owner_id": o1,
            "amount": 200.00,
            "payment_type": "SECURITY",
            "date": "2025-11-10",
            "vendor": "SecureGuard",
        },
    )
    post(
        client,
        admin,
        f"/periods/{pid}/expenses",
        {
            "paid_by_owner_id": o2,
            "amount": 100.00,
            "payment_type": "UTILITIES",
            "date": "2025-11-15",
        },
    )
    post(
        client,
        admin,
        f"/periods/{pid}/budget-items",
        {
            "payment_type": "SECURITY",
            "budgeted_amount": 200.00,
            "allocation_strategy": "PROPORTIONAL",
        },
    )
    return o1, o2


def test_quickstart_balance_sheet(client, admin, period):
    pid = period["id"]
    o1, o2 = _quickstart(client, admin, pid)
    sheet = _sheet(client, admin, pid)
    assert (sheet["period_id"], sheet["period_name"], sheet["status"], sheet["currency"]) == (
        pid,
        "November 2025",
        "OPEN",
        "RUB",
    )
    assert [e["owner_id"] for e in sheet["entries"]] == [o1, o2]
    assert all(set(e) == ENTRY_FIELDS for e in sheet["entries"])
    e1, e2 = _by_owner(sheet)[o1], _by_owner(sheet)[o2]
    # SECURITY 200 by weight 1:1 -> 100 each; UTILITIES 100 by the default PROPORTIONAL -> 50 each
    assert e1 == {
        "owner_id": o1,
        "name": "Owner 1",
        "opening_balance": "0.00",
        "total_contributions": "500.00",
        "total_paid_expenses": "200.00",
        "total_allocated": "150.00",
        "total_service_charges": "0.00",
        "total_charges": "150.00",
        "net_settlements": "0.00",
        "balance": "550.00",
    }
    assert (e2["total_paid_expenses"], e2["total_allocated"], e2["balance"]) == (
        "100.00",
        "150.00",
        "450.00",
    )
    assert sheet["total_opening_balance"] == "0.00"
    assert sheet["total_contributions"] == "1000.00"
    assert sheet["total_paid_expenses"] == "300.00"
    assert sheet["total_allocated"] == "300.00"
    assert sheet["total_service_charges"] == "0.00"
    assert sheet["total_charges"] == "300.00"
    assert sheet["net_settlements"] == "0.00"
    assert sheet["total_period_balance"] == "1000.00"
    assert sheet["total_expenses"] == "300.00"
    assert sheet["total_unallocated"] == "0.00"
    assert sheet["unallocated"] == []
    pools = {p["payment_type"]: p for p in sheet["pools"]}
    assert pools["SECURITY"]["strategy"] == "PROPORTIONAL"
    assert (pools["SECURITY"]["amount"], pools["SECURITY"]["allocated"]) == ("200.00", "200.00")
    assert pools["UTILITIES"]["allocated"] == "100.00"

    # one owner's balance, and its alias, say the same
    one = client.get(f"{PAYMENTS}/periods/{pid}/balances/{o1}", headers=admin)
    alias = client.get(f"{PAYMENTS}/periods/{pid}/owner-balance/{o1}", headers=admin)
    assert one.status_code == alias.status_code == 200
    assert one.json() == alias.json()
    assert {k: one.json()[k] for k in ENTRY_FIELDS} == e1
    assert (one.json()["period_id"], one.json()["status"], one.json()["currency"]) == (
        pid,
        "OPEN",
        "RUB",
    )


def test_the_sheet_reflects_edits_and_deletions(client, admin, period):
    pid = period["id"]
    o1, o2 = _quickstart(client, admin, pid)
    security = client.get(f"{PAYMENTS}/periods/{pid}/expenses?paid_by={o1}", headers=admin).json()[
        0
    ]
    r = client.patch(
        f"{PAYMENTS}/expenses/{security['id']}", json={"amount": "300.00"}, headers=admin
    )
    assert r.status_code == 200, r.text
    e1 = _by_owner(_sheet(client, admin, pid))[o1]
    assert (e1["total_paid_expenses"], e1["total_allocated"], e1["balance"]) == (
        "300.00",
        "200.00",
        "600.00",
    )
    contributions = client.get(
        f"{PAYMENTS}/periods/{pid}/contributions?owner_id={o2}", headers=admin
    ).json()
    assert (
        client.delete(
            f"{PAYMENTS}/contributions/{contributions[0]['id']}", headers=admin
        ).status_code
        == 204
    )
    sheet = _sheet(client, admin, pid)
    e2 = _by_owner(sheet)[o2]
    assert (e2["total_contributions"], e2["balance"]) == ("0.00", "-100.00")
    assert sheet["total_contributions"] == "500.00"
    assert sheet["total_period_balance"] == "500.00"


def test_share_weights_charges_and_settlements(client, admin, period):
    pid = period["id"]
    o1, o2 = sorted((unique_id(), unique_id()))
    post(client, admin, "/owners", {"owner_id": o1, "share_weight": 3})
    post(client, admin, "/owners", {"owner_id": o2, "share_weight": "1"})
    post(client, admin, f"/periods/{pid}/expenses", {"amount": "200.00", "payment_type": "ROADS"})
    post(client, admin, f"/periods/{pid}/charges", {"owner_id": o2, "amount": "25.00"})
    post(
        client,
        admin,
        f"/periods/{pid}/settlements",
        {"from_owner_id": o2, "to_owner_id": o1, "amount": "40.00"},
    )
    e = _by_owner(_sheet(client, admin, pid))
    assert (e[o1]["total_allocated"], e[o2]["total_allocated"]) == ("150.00", "50.00")
    assert (e[o2]["total_service_charges"], e[o2]["total_charges"]) == ("25.00", "75.00")
    assert (e[o1]["net_settlements"], e[o2]["net_settlements"]) == ("-40.00", "40.00")
    assert e[o1]["balance"] == "-190.00"  # -150 - 40 received
    assert e[o2]["balance"] == "-35.00"  # -50 - 25 + 40 paid


def test_fixed_fee_rounding_largest_remainder(client, admin, period):
    pid = period["id"]
    owners = sorted(unique_id() for _ in range(3))
    for o in owners:
        post(client, admin, "/owners", {"owner_id": o})
    post(
        client,
        admin,
        f"/periods/{pid}/budget-items",
        {"payment_type": "GARDEN", "budgeted_amount": 1000, "allocation_strategy": "FIXED_FEE"},
    )
    post(client, admin, f"/periods/{pid}/expenses", {"amount": "1000.00", "payment_type": "garden"})
    sheet = _sheet(client, admin, pid)
    shares = [_by_owner(sheet)[o]["total_allocated"] for o in owners]
    # the leftover cent goes to the larger owner_id on a tie
    assert shares == ["333.33", "333.33", "333.34"]
    assert sheet["total_allocated"] == "1000.00"


def test_unallocated_expenses_are_shown_with_the_reason(client, admin, period):
    pid = period["id"]
    o = unique_id()
    post(client, admin, "/owners", {"owner_id": o})
    post(
        client,
        admin,
        f"/periods/{pid}/budget-items",
        {"payment_type": "RESERVE", "budgeted_amount": 0, "allocation_strategy": "NONE"},
    )
    post(
        client,
        admin,
        f"/periods/{pid}/budget-items",
        {
            "payment_type": "WATER",
            "budgeted_amount": 0,
            "allocation_strategy": "USAGE_BASED",
            "meter_type": "WATER",
        },
    )
    post(client, admin, f"/periods/{pid}/expenses", {"amount": "70.00", "payment_type": "RESERVE"})
    post(client, admin, f"/periods/{pid}/expenses", {"amount": "30.00", "payment_type": "WATER"})
    sheet = _sheet(client, admin, pid)
    reasons = {u["payment_type"]: (u["amount"], u["reason"]) for u in sheet["unallocated"]}
    assert reasons["RESERVE"][0] == "70.00" and "NONE" in reasons["RESERVE"][1]
    assert reasons["WATER"][0] == "30.00" and "zero total consumption" in reasons["WATER"][1]
    assert sheet["total_unallocated"] == "100.00"
    assert sheet["total_allocated"] == "0.00"
    assert sheet["total_expenses"] == "100.00"

    # with readings, WATER is shared by consumption
    o2 = unique_id()
    post(
        client,
        admin,
        f"/periods/{pid}/meter-readings",
        {"owner_id": o, "meter_type": "water", "start_reading": 0, "end_reading": 2},
    )
    post(
        client,
        admin,
        f"/periods/{pid}/meter-readings",
        {"owner_id": o2, "meter_type": "WATER", "start_reading": 10, "end_reading": 11},
    )
    e = _by_owner(_sheet(client, admin, pid))
    assert (e[o]["total_allocated"], e[o2]["total_allocated"]) == ("20.00", "10.00")


def test_inactive_owners_share_nothing(client, admin, period):
    pid = period["id"]
    active, gone = unique_id(), unique_id()
    post(client, admin, "/owners", {"owner_id": active})
    post(client, admin, "/owners", {"owner_id": gone, "is_active": False})
    post(client, admin, f"/periods/{pid}/expenses", {"amount": "10.00", "payment_type": "X"})
    sheet = _sheet(client, admin, pid)
    assert [e["owner_id"] for e in sheet["entries"]] == [active]
    assert _by_owner(sheet)[active]["total_allocated"] == "10.00"


def test_owner_balance_of_a_quiet_owner_and_errors(client, admin, period):
    pid = period["id"]
    o = unique_id()
    post(client, admin, "/owners", {"owner_id": o, "name": "Quiet"})
    r = client.get(f"{PAYMENTS}/periods/{pid}/balances/{o}", headers=admin)
    assert r.status_code == 200
    assert (r.json()["name"], r.json()["balance"], r.json()["total_charges"]) == (
        "Quiet",
        "0.00",
        "0.00",
    )
    assert_problem(client.get(f"{PAYMENTS}/periods/{pid}/balances/{o + 1}", headers=admin), 404)
    assert_problem(client.get(f"{PAYMENTS}/periods/987654321/balances/{o}", headers=admin), 404)
    assert_problem(client.get(f"{PAYMENTS}/periods/987654321/balance-sheet", headers=admin), 404)


@pytest.mark.parametrize("currency", ["JPY", "KWD"])
def test_sheet_amounts_have_the_currency_decimals(client, currency):
    c = new_community(client, currency=currency)
    h = c["headers"]
    pid = post(
        client, h, "/periods", {"name": "P", "start_date": "2025-01-01", "end_date": "2025-01-31"}
    )["id"]
    owners = sorted(unique_id() for _ in range(3))
    for o in owners:
        post(client, h, "/owners", {"owner_id": o})
    post(client, h, f"/periods/{pid}/expenses", {"amount": "100", "payment_type": "X"})
    shares = [_by_owner(_sheet(client, h, pid))[o]["total_allocated"] for o in owners]
    if currency == "JPY":
        assert shares == ["33", "33", "34"]
    else:
        assert shares == ["33.333", "33.333", "33.334"]


def test_suggested_settlements_and_recording_one(client, admin, period):
    pid = period["id"]
    a, b = sorted((unique_id(), unique_id()))
    post(client, admin, "/owners", {"owner_id": a})
    post(client, admin, "/owners", {"owner_id": b})
    # a pays the whole 100.00 for both: a is owed 50.00, b owes 50.00
    post(
        client,
        admin,
        f"/periods/{pid}/expenses",
        {"paid_by_owner_id": a, "amount": "100.00", "payment_type": "X"},
    )
    r = client.get(f"{PAYMENTS}/periods/{pid}/settlements/suggested", headers=admin)
    assert r.status_code == 200, r.text
    s = r.json()
    assert (s["period_id"], s["currency"], s["via"]) == (pid, "RUB", None)
    assert s["transfers"] == [{"from_owner_id": b, "to_owner_id": a, "amount": "50.00"}]
    assert s["unsettled_by_owners"] == "0.00"
    assert_problem(
        client.get(f"{PAYMENTS}/periods/{pid}/settlements/suggested?via=12345", headers=admin), 400
    )

    # recording the suggested transfer settles both
    t = s["transfers"][0]
    post(client, admin, f"/periods/{pid}/settlements", {**t})
    e = _by_owner(_sheet(client, admin, pid))
    assert (e[a]["balance"], e[b]["balance"]) == ("0.00", "0.00")
    again = client.get(f"{PAYMENTS}/periods/{pid}/settlements/suggested", headers=admin).json()
    assert again["transfers"] == []
