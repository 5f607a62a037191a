"""Tenant isolation: another community's key gets 404 for every id of this one, and changes
nothing (SPEC §6 "404 unknown or not yours", §7)."""

from __future__ import annotations

from typing import Any

import pytest

from tests.api._support import PAYMENTS, assert_problem, counts, make_period, post
from tests.conftest import new_community, unique_id

# the document kinds of a period
KINDS = ("contributions", "expenses", "charges", "meter-readings", "budget-items", "settlements")


def _build(client: Any) -> dict[str, Any]:
    """Community A with one of everything."""
    a = new_community(client)
    h = a["headers"]
    period = make_period(client, h)
    pid = period["id"]
    o1, o2 = unique_id(), unique_id()
    post(client, h, "/owners", {"owner_id": o1, "name": "Anna"})
    key = client.post(f"/api/communities/{a['id']}/api-keys", json={"name": "second"}, headers=h)
    assert key.status_code == 201
    return {
        "community": a,
        "headers": h,
        "period": pid,
        "owner": o1,
        "key_id": key.json()["id"],
        "contributions": post(
            client, h, f"/periods/{pid}/contributions", {"owner_id": o1, "amount": "500"}
        )["id"],
        "expenses": post(
            client,
            h,
            f"/periods/{pid}/expenses",
            {"paid_by_owner_id": o1, "amount": "200", "payment_type": "SECURITY"},
        )["id"],
        "charges": post(client, h, f"/periods/{pid}/charges", {"owner_id": o2, "amount": "50"})[
            "id"
        ],
        "meter-readings": post(
            client,
            h,
            f"/periods/{pid}/meter-readings",
            {"owner_id": o1, "meter_type": "WATER", "start_reading": 1, "end_reading": 5},
        )["id"],
        "budget-items": post(
            client,
            h,
            f"/periods/{pid}/budget-items",
            {"payment_type": "SECURITY", "budgeted_amount": 200},
        )["id"],
        "settlements": post(
            client,
            h,
            f"/periods/{pid}/settlements",
            {"from_owner_id": o1, "to_owner_id": o2, "amount": "10"},
        )["id"],
    }


def _view(client: Any, world: dict[str, Any]) -> dict[str, Any]:
    """Everything community A's admin can read about its own objects."""
    h, pid, c = world["headers"], world["period"], world["community"]["id"]
    view: dict[str, Any] = {
        "counts": counts(c),
        "period": client.get(f"{PAYMENTS}/periods/{pid}", headers=h).json(),
        "owner": client.get(f"{PAYMENTS}/owners/{world['owner']}", headers=h).json(),
        "sheet": client.get(f"{PAYMENTS}/periods/{pid}/balance-sheet", headers=h).json(),
        "keys": client.get(f"/api/communities/{c}/api-keys", headers=h).json(),
        "community": client.get(f"/api/communities/{c}", headers=h).json(),
    }
    for kind in KINDS:
        view[kind] = client.get(f"{PAYMENTS}/periods/{pid}/{kind}", headers=h).json()
    return view


def _requests(world: dict[str, Any]) -> list[tuple[str, str, dict[str, Any] | None]]:
    pid, owner, cid = world["period"], world["owner"], world["community"]["id"]
    p = f"{PAYMENTS}/periods/{pid}"
    reqs: list[tuple[str, str, dict[str, Any] | None]] = [
        ("GET", p, None),
        ("PATCH", p, {"name": "Hijacked"}),
        ("GET", f"{p}/balance-sheet", None),
        ("GET", f"{p}/balances/{owner}", None),
        ("GET", f"{p}/owner-balance/{owner}", None),
        ("GET", f"{p}/settlements/suggested", None),
        ("POST", f"{p}/contributions", {"owner_id": owner, "amount": "1"}),
        ("POST", f"{p}/expenses", {"amount": "1", "payment_type": "X"}),
        ("POST", f"{p}/charges", {"owner_id": owner, "amount": "1"}),
        (
            "POST",
            f"{p}/meter-readings",
            {"owner_id": owner, "meter_type": "GAS", "start_reading": 0, "end_reading": 1},
        ),
        ("POST", f"{p}/budget-items", {"payment_type": "GAS", "budgeted_amount": "1"}),
        ("POST", f"{p}/settlements", {"from_owner_id": owner, "to_owner_id": 3, "amount": "1"}),
        ("GET", f"{PAYMENTS}/owners/{owner}", None),
        ("PATCH", f"{PAYMENTS}/owners/{owner}", {"name": "Hijacked"}),
        ("GET", f"/api/communities/{cid}", None),
        ("GET", f"/api/communities/{cid}/api-keys", None),
        ("POST", f"/api/communities/{cid}/api-keys", {"name": "mine now"}),
        ("DELETE", f"/api/communities/{cid}/api-keys/{world['key_id']}", None),
    ]
    for kind in KINDS:
        reqs.append(("GET", f"{p}/{kind}", None))
    patches = {
        "contributions": {"amount": "1"},
        "expenses": {"amount": "1"},
        "charges": {"amount": "1"},
        "meter-readings": {"end_reading": 9},
        "budget-items": {"budgeted_amount": "1"},
    }
    for kind, body in patches.items():
        reqs.append(("PATCH", f"{PAYMENTS}/{kind}/{world[kind]}", body))
        reqs.append(("DELETE", f"{PAYMENTS}/{kind}/{world[kind]}", None))
    return reqs


def test_another_communitys_key_gets_404_for_every_id_and_changes_nothing(client):
    world = _build(client)
    before = _view(client, world)
    b = new_community(client)
    b_before = counts(b["id"])
    for method, url, body in _requests(world):
        r = client.request(method, url, json=body, headers=b["headers"])
        assert r.status_code == 404, (method, url, r.status_code, r.text)
        assert_problem(r, 404)
        # the same with an Idempotency-Key does not get through either
        if method == "POST":
            r = client.request(
                method, url, json=body, headers={**b["headers"], "Idempotency-Key": "k-" + url}
            )
            assert r.status_code == 404, (method, url, r.text)
    assert _view(client, world) == before
    assert counts(b["id"]) == b_before


def test_only_the_operator_changes_a_community(client):
    world = _build(client)
    before = _view(client, world)
    b = new_community(client)
    r = client.patch(
        f"/api/communities/{world['community']['id']}",
        json={"name": "Hijacked"},
        headers=b["headers"],
    )
    assert r.status_code in (403, 404)
    assert_problem(r, r.status_code)
    assert _view(client, world) == before


def test_lists_show_only_the_own_community(client):
    world = _build(client)
    b = new_community(client)
    same_owner = world["owner"]
    post(client, b["headers"], "/owners", {"owner_id": same_owner, "name": "Boris"})
    assert client.get(f"{PAYMENTS}/periods", headers=b["headers"]).json() == {"periods": []}
    owners = client.get(f"{PAYMENTS}/owners", headers=b["headers"]).json()
    assert [(o["owner_id"], o["name"]) for o in owners] == [(same_owner, "Boris")]
    assert (
        client.get(f"{PAYMENTS}/owners/{same_owner}", headers=world["headers"]).json()["name"]
        == "Anna"
    )
    # B's own period with the same name and dates, its own numbers
    pid = make_period(client, b["headers"])["id"]
    assert pid != world["period"]
    sheet = client.get(f"{PAYMENTS}/periods/{pid}/balance-sheet", headers=b["headers"]).json()
    assert sheet["total_contributions"] == "0.00"
    assert [e["owner_id"] for e in sheet["entries"]] == [same_owner]
    keys = client.get(f"/api/communities/{b['id']}/api-keys", headers=b["headers"]).json()
    assert world["key_id"] not in [k["id"] for k in keys]


@pytest.mark.parametrize("role", ["revoked", "operator"])
def test_revoked_keys_and_the_operator_see_no_money(client, role):
    world = _build(client)
    h = world["headers"]
    if role == "revoked":
        cid = world["community"]["id"]
        second = client.post(f"/api/communities/{cid}/api-keys", json={}, headers=h).json()
        headers = {"X-API-Key": second["api_key"]}
        assert client.get(f"{PAYMENTS}/periods", headers=headers).status_code == 200
        assert (
            client.delete(f"/api/communities/{cid}/api-keys/{second['id']}", headers=h).status_code
            == 204
        )
        expected = 401
    else:
        from tests.conftest import OPERATOR

        headers = OPERATOR
        expected = 403
    for method, url, body in _requests(world):
        if url.startswith("/api/communities") and role == "operator":
            continue  # the operator reads and keys communities: covered in test_communities
        r = client.request(method, url, json=body, headers=headers)
        assert r.status_code == expected, (method, url, r.status_code, r.text)
