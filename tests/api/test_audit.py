"""Every write is in the audit log with its actor (SPEC §2, §7); reads write nothing."""

from __future__ import annotations

from tests.api._support import PAYMENTS, audit, counts, mkperiod, post, scalar
from tests.conftest import unique_id


def test_every_write_is_audited_with_its_actor(client, community, admin):
    cid = community["id"]
    key_id = scalar("SELECT id FROM api_keys WHERE community_id = :c", c=cid)
    start = len(audit(cid))
    a, b = unique_id(), unique_id()
    post(client, admin, "/owners", {"owner_id": a})
    pid = mkperiod(client, admin, "P", "2025-11-01", "2025-11-30")
    assert client.patch(f"{PAYMENTS}/periods/{pid}", json={"name": "Q"}, headers=admin).is_success
    assert client.patch(f"{PAYMENTS}/owners/{a}", json={"name": "A"}, headers=admin).is_success
    docs = {
        "contribution": post(
            client, admin, f"/periods/{pid}/contributions", {"owner_id": b, "amount": "1"}
        ),
        "expense": post(
            client, admin, f"/periods/{pid}/expenses", {"amount": "1", "payment_type": "X"}
        ),
        "service_charge": post(
            client, admin, f"/periods/{pid}/charges", {"owner_id": a, "amount": "1"}
        ),
        "meter_reading": post(
            client,
            admin,
            f"/periods/{pid}/meter-readings",
            {"owner_id": a, "meter_type": "W", "start_reading": 0, "end_reading": 1},
        ),
        "budget_item": post(
            client,
            admin,
            f"/periods/{pid}/budget-items",
            {"payment_type": "X", "budgeted_amount": 1},
        ),
    }
    post(
        client,
        admin,
        f"/periods/{pid}/settlements",
        {"from_owner_id": a, "to_owner_id": b, "amount": "1"},
    )
    paths = {
        "contribution": "contributions",
        "expense": "expenses",
        "service_charge": "charges",
        "meter_reading": "meter-readings",
        "budget_item": "budget-items",
    }
    patches = {
        "contribution": {"amount": "2"},
        "expense": {"amount": "2"},
        "service_charge": {"amount": "2"},
        "meter_reading": {"end_reading": 2},
        "budget_item": {"budgeted_amount": "2"},
    }
    for entity, doc in docs.items():
        url = f"{PAYMENTS}/{paths[entity]}/{doc['id']}"
        assert client.patch(url, json=patches[entity], headers=admin).status_code == 200
        assert client.delete(url, headers=admin).status_code == 204
    new_key = client.post(f"/api/communities/{cid}/api-keys", json={}, headers=admin).json()
    client.delete(f"/api/communities/{cid}/api-keys/{new_key['id']}", headers=admin)

    # reads write nothing
    before_reads = counts(cid)
    for url in (
        f"{PAYMENTS}/periods",
        f"{PAYMENTS}/periods/{pid}/balance-sheet",
        f"{PAYMENTS}/periods/{pid}/contributions",
        f"{PAYMENTS}/owners",
    ):
        assert client.get(url, headers=admin).status_code == 200
    assert counts(cid) == before_reads

    entries = audit(cid)[start:]
    actions = [e.action for e in entries]
    assert actions == [
        "owner.create",
        "period.create",
        "period.update",
        "owner.update",
        "owner.auto_create",
        "contribution.create",
        "expense.create",
        "service_charge.create",
        "meter_reading.create",
        "budget_item.create",
        "settlement.create",
        "contribution.update",
        "contribution.delete",
        "expense.update",
        "expense.delete",
        "service_charge.update",
        "service_charge.delete",
        "meter_reading.update",
        "meter_reading.delete",
        "budget_item.update",
        "budget_item.delete",
        "api_key.issue",
        "api_key.revoke",
    ]
    assert {e.actor for e in entries} == {f"api_key:{key_id}"}
    assert all(e.at is not None and e.request_id for e in entries)
    for e in entries:
        if e.action.endswith((".update", ".delete")) and not e.action.startswith("api_key"):
            assert e.before is not None and e.after is not None, e.action
