"""Issue 13, item 11: a recorded transfer between owners can be corrected or deleted (PATCH and
DELETE ``/settlements/{id}``): a reversal and a new posting in the ledger, audited, If-Match
like every money edit, only in an OPEN period."""

from __future__ import annotations

from tests.api._support import (
    PAYMENTS,
    assert_problem,
    audit,
    ledger,
    owner_pk,
    post,
    set_period_status,
)
from tests.conftest import unique_id


def _balances(client, admin, pid):
    sheet = client.get(f"{PAYMENTS}/periods/{pid}/balance-sheet", headers=admin).json()
    return {e["owner_id"]: e["net_settlements"] for e in sheet["entries"]}


def test_a_settlement_is_corrected_and_deleted_through_the_ledger(client, community, admin, period):
    a, b, c = unique_id(), unique_id(), unique_id()
    pid = period["id"]
    t = post(
        client,
        admin,
        f"/periods/{pid}/settlements",
        {"from_owner_id": a, "to_owner_id": b, "amount": "40.00"},
    )
    assert t["version"] == 1
    url = f"{PAYMENTS}/settlements/{t['id']}"

    r = client.patch(
        url, json={"amount": "30.00", "to_owner_id": c}, headers={**admin, "If-Match": '"1"'}
    )
    assert r.status_code == 200, r.text
    assert r.json()["amount"] == "30.00" and r.json()["to_owner_id"] == c
    assert r.json()["version"] == 2 and r.headers["ETag"] == '"2"'
    assert _balances(client, admin, pid)[a] == "30.00"
    assert _balances(client, admin, pid)[c] == "-30.00"
    assert _balances(client, admin, pid).get(b, "0.00") == "0.00"
    pa, pb, pc = (owner_pk(community["id"], o) for o in (a, b, c))
    assert sorted(ledger("settlement", t["id"])) == sorted(
        [
            (pa, "SETTLEMENT_PAID", 4000),
            (pb, "SETTLEMENT_RECEIVED", 4000),
            (pa, "SETTLEMENT_PAID", -4000),
            (pb, "SETTLEMENT_RECEIVED", -4000),
            (pa, "SETTLEMENT_PAID", 3000),
            (pc, "SETTLEMENT_RECEIVED", 3000),
        ]
    )
    # a stale If-Match is 412 and changes nothing
    stale = client.patch(url, json={"amount": "1.00"}, headers={**admin, "If-Match": '"1"'})
    assert_problem(stale, 412)
    # the same two owners is 400
    assert_problem(client.patch(url, json={"to_owner_id": a}, headers=admin), 400)

    r = client.delete(url, headers={**admin, "If-Match": '"2"'})
    assert r.status_code == 204, r.text
    assert_problem(client.delete(url, headers=admin), 404)
    assert sum(amount for *_, amount in ledger("settlement", t["id"])) == 0
    assert all(v == "0.00" for v in _balances(client, admin, pid).values())
    actions = [e.action for e in audit(community["id"]) if e.entity == "settlement"]
    assert actions == ["settlement.create", "settlement.update", "settlement.delete"]
    listed = client.get(f"{PAYMENTS}/periods/{pid}/settlements", headers=admin).json()
    assert t["id"] not in [s["id"] for s in listed]


def test_only_an_open_period_accepts_a_settlement_edit(client, admin, period):
    t = post(
        client,
        admin,
        f"/periods/{period['id']}/settlements",
        {"from_owner_id": unique_id(), "to_owner_id": unique_id(), "amount": "5.00"},
    )
    set_period_status(period["id"], "CLOSED")
    url = f"{PAYMENTS}/settlements/{t['id']}"
    assert_problem(client.patch(url, json={"amount": "6.00"}, headers=admin), 409, "CLOSED")
    assert_problem(client.delete(url, headers=admin), 409, "CLOSED")
