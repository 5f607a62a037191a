"""An expense with an ITEM_BASED split through the HTTP API (SPEC §3)."""

from __future__ import annotations

from typing import Any

from tests.api._support import counts

P = "/api/payments/periods"


def _owners(client: Any, admin: dict[str, str], *ids: int) -> None:
    for o in ids:
        r = client.post("/api/payments/owners", json={"owner_id": o}, headers=admin)
        assert r.status_code == 201, r.text


def test_item_based_expense_is_allocated_by_items_and_delivery(client, admin, period):
    pid = period["id"]
    _owners(client, admin, 11, 12, 13)
    split = {
        "strategy": "item_based",
        "items": [
            {"description": "seedlings", "price": "150.50", "quantity": 2, "owner_id": 11},
            {"description": "seedlings", "price": "150.50", "quantity": 1, "owner_id": 12},
            {"description": "fertiliser for the common bed", "price": "100.00"},
        ],
    }
    # items 301.00 + 150.50 + 100.00 (everyone's) = 551.50; delivery 48.51 -> 148.51 shared
    r = client.post(
        f"{P}/{pid}/expenses",
        json={"amount": "600.01", "payment_type": "Seedlings", "split": split},
        headers=admin,
    )
    assert r.status_code == 201, r.text
    assert r.json()["split"]["strategy"] == "ITEM_BASED"
    assert r.json()["split"]["items"][2]["owner_id"] is None
    sheet = client.get(f"{P}/{pid}/balance-sheet", headers=admin).json()
    allocated = {e["owner_id"]: e["total_allocated"] for e in sheet["entries"]}
    # 148.51 over owners 11 and 12 -> 74.25 and 74.26 (the cent to the larger id); 13 nothing
    assert allocated == {11: "375.25", 12: "224.76", 13: "0.00"}


def test_items_above_the_amount_are_400_and_store_nothing(client, admin, period, community):
    pid = period["id"]
    _owners(client, admin, 21)
    before = counts(community["id"])
    r = client.post(
        f"{P}/{pid}/expenses",
        json={
            "amount": "100.00",
            "payment_type": "Gravel",
            "split": {
                "strategy": "ITEM_BASED",
                "items": [{"price": "60.00", "quantity": 2, "owner_id": 21}],
            },
        },
        headers=admin,
    )
    assert r.status_code == 400
    assert r.headers["content-type"].startswith("application/problem+json")
    assert "the items total 120.00, more than the expense amount 100.00" in r.json()["detail"]
    assert counts(community["id"]) == before


def test_item_based_cannot_be_a_budget_items_strategy(client, admin, period, community):
    before = counts(community["id"])
    r = client.post(
        f"{P}/{period['id']}/budget-items",
        json={
            "payment_type": "Gravel",
            "budgeted_amount": "10.00",
            "allocation_strategy": "ITEM_BASED",
        },
        headers=admin,
    )
    assert r.status_code == 400, r.text
    assert "expense's split" in r.json()["detail"]
    assert counts(community["id"]) == before
