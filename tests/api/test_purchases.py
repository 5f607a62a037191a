"""Group purchases (SPEC §3b): owners order their own items in the Mini App, admins open and
finalize the list into ONE expense with an ITEM_BASED split."""

from __future__ import annotations

from typing import Any

import httpx

from kopilka.auth.telegram import make_init_data
from tests.api._support import PAYMENTS, concurrently, counts, scalar, sql
from tests.conftest import unique_id

BOT_TOKEN = "123456:TEST-TOKEN"


def tma(telegram_id: int) -> dict[str, str]:
    return {"Authorization": "tma " + make_init_data(telegram_id, BOT_TOKEN)}


def owner(client: Any, admin: dict[str, str], name: str, telegram: bool = True) -> dict[str, Any]:
    oid = unique_id()
    body: dict[str, Any] = {"owner_id": oid, "name": name}
    if telegram:
        body["telegram_id"] = unique_id()
    r = client.post(f"{PAYMENTS}/owners", json=body, headers=admin)
    assert r.status_code == 201, r.text
    return {"id": oid, "headers": tma(body["telegram_id"]) if telegram else None}


def new_purchase(client: Any, admin: dict[str, str], pid: int, **body: Any) -> dict[str, Any]:
    r = client.post(
        f"{PAYMENTS}/periods/{pid}/purchases",
        json={"title": "Дрова", "deadline": "2099-12-31", **body},
        headers=admin,
    )
    assert r.status_code == 201, r.text
    return dict(r.json())


def add(client: Any, headers: dict[str, str], purchase_id: int, **item: Any) -> Any:
    return client.post(f"{PAYMENTS}/purchases/{purchase_id}/items", json=item, headers=headers)


def test_owners_order_their_own_items_and_see_everyones_subtotals(client, admin, period):
    anna, boris = owner(client, admin, "Anna"), owner(client, admin, "Boris")
    p = new_purchase(client, admin, period["id"])
    assert p["status"] == "OPEN" and p["accepting_items"] and p["total"] == "0.00"
    # a day is the end of that day in the community's time zone (Moscow)
    assert p["deadline"] == "2099-12-31T20:59:59.999999Z" or p["deadline"].startswith(
        "2099-12-31T23:59:59.999999+03"
    ), p["deadline"]

    r = add(client, anna["headers"], p["id"], description="берёза", price="4500.00", quantity=2)
    assert r.status_code == 201, r.text
    mine = r.json()
    assert (mine["owner_id"], mine["cost"], mine["mine"]) == (anna["id"], "9000.00", True)
    assert r.headers["Location"] == f"/api/payments/purchase-items/{mine['id']}"
    r = add(client, boris["headers"], p["id"], description="осина", price="3999.99", quantity="0.5")
    assert r.status_code == 201, r.text
    boris_item = r.json()
    assert boris_item["cost"] == "2000.00"  # 1999.995 rounds half-up per item
    # an admin adds anyone's item, or one for everyone (no owner)
    r = add(client, admin, p["id"], description="mulch", price="100.01", owner_id=anna["id"])
    assert r.status_code == 201 and r.json()["owner_id"] == anna["id"]
    r = add(client, admin, p["id"], description="tarpaulin", price="500")
    assert r.status_code == 201 and r.json()["owner_id"] is None

    # the list, live: each owner's subtotal and the total
    got = client.get(f"{PAYMENTS}/purchases/{p['id']}", headers=anna["headers"]).json()
    assert got["total"] == "11600.01" and got["unowned_total"] == "500.00"
    assert got["item_count"] == 4
    assert {o["owner_id"]: (o["subtotal"], o["items"]) for o in got["owners"]} == {
        anna["id"]: ("9100.01", 2),
        boris["id"]: ("2000.00", 1),
    }
    listed = client.get(f"{PAYMENTS}/periods/{period['id']}/purchases", headers=boris["headers"])
    assert listed.status_code == 200 and listed.json()[0]["total"] == "11600.01"

    # others' items are read-only: seen, but touching one is 404, naming another owner 403
    items = client.get(f"{PAYMENTS}/purchases/{p['id']}/items", headers=anna["headers"]).json()
    assert [i["mine"] for i in items] == [True, False, True, False]
    url = f"{PAYMENTS}/purchase-items/{boris_item['id']}"
    assert client.patch(url, json={"quantity": 3}, headers=anna["headers"]).status_code == 404
    assert client.delete(url, headers=anna["headers"]).status_code == 404
    unowned = items[3]["id"]
    assert (
        client.delete(f"{PAYMENTS}/purchase-items/{unowned}", headers=anna["headers"]).status_code
        == 404
    )
    r = add(client, anna["headers"], p["id"], price="1", owner_id=boris["id"])
    assert r.status_code == 403
    # ... and one's own item changes and goes
    r = client.patch(url, json={"quantity": 1}, headers=boris["headers"])
    assert r.status_code == 200 and r.json()["cost"] == "3999.99"
    r = client.patch(f"{PAYMENTS}/purchase-items/{mine['id']}", json={"quantity": 3}, headers=admin)
    assert r.status_code == 200 and r.json()["cost"] == "13500.00"
    assert client.delete(url, headers=boris["headers"]).status_code == 204
    got = client.get(f"{PAYMENTS}/purchases/{p['id']}", headers=admin).json()
    assert got["total"] == "14100.01"
    assert [o["owner_id"] for o in got["owners"]] == [anna["id"]]
    # every change is audited with its actor
    actions = [
        a
        for (a,) in sql(
            "SELECT action FROM audit_log WHERE entity = 'purchase_item' AND community_id = "
            "(SELECT community_id FROM purchases WHERE id = :p) ORDER BY id",
            p=p["id"],
        )
    ]
    assert actions.count("purchase_item.create") == 4 and "purchase_item.delete" in actions


def test_bad_items_are_400_and_store_nothing(client, admin, period, community):
    anna = owner(client, admin, "Anna")
    p = new_purchase(client, admin, period["id"])
    before = counts(community["id"])
    for bad in (
        {"price": "-1"},
        {"price": "1", "quantity": 0},
        {"price": "1e400"},
        {"price": "0.0000001"},
        {"price": True},
        {"price": "1", "colour": "red"},
        {},
    ):
        r = add(client, anna["headers"], p["id"], **bad)
        assert r.status_code == 400, (bad, r.text)
        assert r.headers["content-type"].startswith("application/problem+json")
    assert counts(community["id"]) == before
    r = client.post(
        f"{PAYMENTS}/periods/{period['id']}/purchases",
        json={"title": "Late", "deadline": "2020-01-01"},
        headers=admin,
    )
    assert r.status_code == 400 and "already passed" in r.json()["detail"]


def test_after_the_deadline_owners_get_409_and_admins_may_still_correct(client, admin, period):
    anna = owner(client, admin, "Anna")
    p = new_purchase(client, admin, period["id"])
    item = add(client, anna["headers"], p["id"], price="10").json()
    sql("UPDATE purchases SET deadline = now() - interval '1 minute' WHERE id = :p", p=p["id"])
    assert (
        client.get(f"{PAYMENTS}/purchases/{p['id']}", headers=admin).json()["accepting_items"]
        is False
    )
    r = add(client, anna["headers"], p["id"], price="10")
    assert r.status_code == 409 and "deadline" in r.json()["detail"]
    url = f"{PAYMENTS}/purchase-items/{item['id']}"
    assert client.patch(url, json={"quantity": 2}, headers=anna["headers"]).status_code == 409
    assert client.delete(url, headers=anna["headers"]).status_code == 409
    assert add(client, admin, p["id"], price="10", owner_id=anna["id"]).status_code == 201


def test_a_new_list_is_announced_to_the_owners_who_linked_telegram(client, admin, period):
    anna, boris = owner(client, admin, "Anna"), owner(client, admin, "Boris")
    owner(client, admin, "Vera", telegram=False)
    p = new_purchase(client, admin, period["id"], title="Саженцы")
    rows = sql(
        "SELECT o.owner_id, n.payload->>'title', n.status FROM notifications n "
        "JOIN owners o ON o.id = n.owner_pk WHERE n.kind = 'purchase_announced' "
        "AND n.payload->>'purchase_id' = :p ORDER BY o.owner_id",
        p=str(p["id"]),
    )
    assert sorted(r[0] for r in rows) == sorted([anna["id"], boris["id"]])
    assert {(r[1], r[2]) for r in rows} == {("Саженцы", "PENDING")}


def firewood(client: Any, admin: dict[str, str], pid: int) -> tuple[dict[str, Any], list[Any]]:
    """Six households order firewood at 4,500.00 a cubic metre; one of them has no Telegram."""
    households = [owner(client, admin, f"H{i}", telegram=i != 6) for i in range(1, 7)]
    p = new_purchase(client, admin, pid)
    for h, m3 in zip(households, (2, 1, 3, 1, 2, 1), strict=True):
        r = add(
            client,
            admin,
            p["id"],
            description="firewood, m³",
            price="4500.00",
            quantity=m3,
            owner_id=h["id"],
        )
        assert r.status_code == 201, r.text
    return p, households


def test_finalize_records_one_expense_with_exact_shares_and_tells_each_owner(client, admin, period):
    p, hh = firewood(client, admin, period["id"])
    payer = hh[0]["id"]
    body = {"amount": "48000.00", "paid_by_owner_id": payer, "vendor": "Лесхоз"}
    r = client.post(f"{PAYMENTS}/purchases/{p['id']}/finalize", json=body, headers=admin)
    assert r.status_code == 200, r.text
    out = r.json()
    # items 45,000.00; delivery 3,000.00 over 6 households: 500.00 each
    assert out["status"] == "FINALIZED" and out["accepting_items"] is False
    assert out["expense"]["amount"] == "48000.00"
    assert out["expense"]["split"]["strategy"] == "ITEM_BASED"
    assert out["expense"]["paid_by_owner_id"] == payer
    assert out["expense"]["vendor"] == "Лесхоз"
    assert [(s["owner_id"], s["items"], s["share"]) for s in out["shares"]] == sorted(
        (h["id"], f"{4500 * m:.2f}", f"{4500 * m + 500:.2f}")
        for h, m in zip(hh, (2, 1, 3, 1, 2, 1), strict=True)
    )
    assert r.headers["Location"] == f"/api/payments/expenses/{out['expense_id']}"
    # the balance sheet allocates exactly those shares
    sheet = client.get(f"{PAYMENTS}/periods/{period['id']}/balance-sheet", headers=admin).json()
    allocated = {e["owner_id"]: e["total_allocated"] for e in sheet["entries"]}
    assert {s["owner_id"]: s["share"] for s in out["shares"]} == {
        k: v for k, v in allocated.items() if k in {h["id"] for h in hh}
    }
    # finalizing again answers the same expense; another amount is 409; the list is read-only
    again = client.post(f"{PAYMENTS}/purchases/{p['id']}/finalize", json=body, headers=admin)
    assert again.status_code == 200 and again.json()["expense_id"] == out["expense_id"]
    other = client.post(
        f"{PAYMENTS}/purchases/{p['id']}/finalize", json={"amount": "1.00"}, headers=admin
    )
    assert other.status_code == 409 and "already finalized" in other.json()["detail"]
    assert scalar("SELECT count(*) FROM expenses WHERE period_id = :p", p=period["id"]) == 1
    assert add(client, admin, p["id"], price="1").status_code == 409
    assert add(client, hh[1]["headers"], p["id"], price="1").status_code == 409
    r = client.patch(f"{PAYMENTS}/purchases/{p['id']}", json={"title": "x"}, headers=admin)
    assert r.status_code == 409
    # each household that ordered and linked Telegram is told its share, once
    rows = sql(
        "SELECT o.owner_id, (n.payload->>'share_minor')::bigint FROM notifications n "
        "JOIN owners o ON o.id = n.owner_pk WHERE n.kind = 'purchase_share' "
        "AND n.payload->>'purchase_id' = :p",
        p=str(p["id"]),
    )
    assert dict(rows) == {
        h["id"]: (4500 * m + 500) * 100 for h, m in zip(hh[:5], (2, 1, 3, 1, 2), strict=True)
    }


def test_finalize_refusals(client, admin, period, community):
    anna = owner(client, admin, "Anna")
    p = new_purchase(client, admin, period["id"])
    url = f"{PAYMENTS}/purchases/{p['id']}/finalize"
    r = client.post(url, json={"amount": "10.00"}, headers=admin)
    assert r.status_code == 400 and "no items with an owner" in r.json()["detail"]
    add(client, anna["headers"], p["id"], price="600.00", quantity=2)
    before = counts(community["id"])
    r = client.post(url, json={"amount": "1000.00"}, headers=admin)
    assert r.status_code == 400
    assert "the items total 1200.00, more than the expense amount 1000.00" in r.json()["detail"]
    assert counts(community["id"]) == before
    assert client.get(f"{PAYMENTS}/purchases/{p['id']}", headers=admin).json()["status"] == "OPEN"
    assert client.post(url, json={"amount": "1200.00"}, headers=anna["headers"]).status_code == 403


def test_finalize_honours_idempotency_key(client, admin, period):
    p, _ = firewood(client, admin, period["id"])
    headers = {**admin, "Idempotency-Key": f"fin-{p['id']}"}
    url = f"{PAYMENTS}/purchases/{p['id']}/finalize"
    a = client.post(url, json={"amount": "48000"}, headers=headers)
    b = client.post(url, json={"amount": "48000"}, headers=headers)
    assert (a.status_code, b.status_code) == (200, 200)
    assert b.headers.get("Idempotent-Replayed") == "true" and a.json() == b.json()
    assert client.post(url, json={"amount": "48001"}, headers=headers).status_code == 422


# ---------------------------------------------------------------- real concurrency


def test_concurrent_finalizes_record_one_expense(api_server, client, admin, period):
    p, _ = firewood(client, admin, period["id"])
    url = f"{api_server}{PAYMENTS}/purchases/{p['id']}/finalize"
    with httpx.Client(timeout=60) as http:
        answers = concurrently(
            8, lambda _: http.post(url, json={"amount": "48000.00"}, headers=admin)
        )
    assert [r.status_code for r in answers] == [200] * 8, [r.text for r in answers]
    assert len({r.json()["expense_id"] for r in answers}) == 1
    assert scalar("SELECT count(*) FROM expenses WHERE period_id = :p", p=period["id"]) == 1
    assert (
        scalar(
            "SELECT count(*) FROM audit_log WHERE action = 'purchase.finalize' AND entity_id = :p",
            p=str(p["id"]),
        )
        == 1
    )
