"""One expense's shares and settling one share on its own (SPEC §3b)."""

from __future__ import annotations

from typing import Any

from tests.api._support import PAYMENTS, concurrently, counts, scalar, set_period_status
from tests.conftest import unique_id

P = PAYMENTS


def owners(client: Any, admin: dict[str, str], n: int) -> list[int]:
    ids = sorted(unique_id() for _ in range(n))
    for o in ids:
        assert client.post(f"{P}/owners", json={"owner_id": o}, headers=admin).status_code == 201
    return ids


def expense(client: Any, admin: dict[str, str], pid: int, **body: Any) -> dict[str, Any]:
    r = client.post(f"{P}/periods/{pid}/expenses", json=body, headers=admin)
    assert r.status_code == 201, r.text
    return dict(r.json())


def two_share(
    client: Any, admin: dict[str, str], pid: int, amount: str, payment_type: str
) -> tuple[int, int, dict[str, Any]]:
    """Two new owners a and b, and an EQUAL expense of ``amount`` that a paid: (a, b, it)."""
    a, b = owners(client, admin, 2)
    split = {"strategy": "EQUAL"}
    e = expense(
        client,
        admin,
        pid,
        amount=amount,
        payment_type=payment_type,
        paid_by_owner_id=a,
        split=split,
    )
    return a, b, e


def shares(client: Any, admin: dict[str, str], eid: int) -> dict[int, tuple[str, str, str]]:
    r = client.get(f"{P}/expenses/{eid}", headers=admin)
    assert r.status_code == 200, r.text
    return {s["owner_id"]: (s["amount"], s["paid"], s["status"]) for s in r.json()["shares"]}


def settle(client: Any, admin: dict[str, str], eid: int, owner: int, amount: str) -> Any:
    return client.post(
        f"{P}/expenses/{eid}/shares/{owner}/settle", json={"amount": amount}, headers=admin
    )


def test_an_owner_settles_half_then_the_rest_of_a_bill_a_neighbour_paid(client, admin, period):
    pid = period["id"]
    anna, boris, vera = owners(client, admin, 3)
    bill = expense(
        client,
        admin,
        pid,
        amount="3000.00",
        payment_type="Electricity of the guard house",
        paid_by_owner_id=anna,
        split={"strategy": "EQUAL"},
    )
    assert shares(client, admin, bill["id"]) == {
        anna: ("1000.00", "1000.00", "PAID"),  # the payer's own share
        boris: ("1000.00", "0.00", "UNPAID"),
        vera: ("1000.00", "0.00", "UNPAID"),
    }
    r = settle(client, admin, bill["id"], boris, "500.00")
    assert r.status_code == 201, r.text
    out = r.json()
    assert out["settlement"]["from_owner_id"] == boris and out["settlement"]["to_owner_id"] == anna
    assert out["share"] == {
        "owner_id": boris,
        "amount": "1000.00",
        "paid": "500.00",
        "remaining": "500.00",
        "status": "PARTIALLY_PAID",
    }
    assert r.headers["Location"] == f"/api/payments/settlements/{out['settlement']['id']}"
    assert shares(client, admin, bill["id"])[boris] == ("1000.00", "500.00", "PARTIALLY_PAID")

    r = settle(client, admin, bill["id"], boris, "500.01")
    assert r.status_code == 400
    assert "more than the unpaid remainder 500.00" in r.json()["detail"]
    r = settle(client, admin, bill["id"], boris, "500.00")
    assert r.status_code == 201 and r.json()["share"]["status"] == "PAID"
    r = settle(client, admin, bill["id"], boris, "0.01")
    assert r.status_code == 400 and "unpaid remainder 0.00" in r.json()["detail"]
    assert shares(client, admin, bill["id"]) == {
        anna: ("1000.00", "1000.00", "PAID"),
        boris: ("1000.00", "1000.00", "PAID"),
        vera: ("1000.00", "0.00", "UNPAID"),
    }
    # the balance sheet counts the settlements like any other
    sheet = client.get(f"{P}/periods/{pid}/balance-sheet", headers=admin).json()
    rows = {e["owner_id"]: e for e in sheet["entries"]}
    assert (rows[anna]["net_settlements"], rows[anna]["balance"]) == ("-1000.00", "1000.00")
    assert (rows[boris]["net_settlements"], rows[boris]["balance"]) == ("1000.00", "0.00")
    assert (rows[vera]["net_settlements"], rows[vera]["balance"]) == ("0.00", "-1000.00")
    listed = client.get(f"{P}/periods/{pid}/settlements", headers=admin).json()
    assert [(t["from_owner_id"], t["amount"]) for t in listed] == [
        (boris, "500.00"),
        (boris, "500.00"),
    ]


def test_an_expense_without_a_split_takes_its_part_of_the_pool(client, admin, period):
    pid = period["id"]
    a, b, c = owners(client, admin, 3)
    first = expense(client, admin, pid, amount="100.00", payment_type="Roads", paid_by_owner_id=a)
    expense(client, admin, pid, amount="200.00", payment_type="roads", paid_by_owner_id=b)
    got = shares(client, admin, first["id"])
    assert sum(float(v[0]) * 100 for v in got.values()) == 10000
    assert {k: v[0] for k, v in got.items()} == {a: "33.33", b: "33.33", c: "33.34"}
    assert got[a][2] == "PAID"


def test_settle_refusals_store_nothing(client, admin, period, community):
    pid = period["id"]
    a, b, c = owners(client, admin, 3)
    fund = expense(client, admin, pid, amount="90.00", payment_type="Snow")
    split = expense(
        client,
        admin,
        pid,
        amount="90.00",
        payment_type="Snow",
        paid_by_owner_id=a,
        split={"strategy": "EQUAL", "owners": [a, b]},
    )
    none = expense(
        client,
        admin,
        pid,
        amount="5.00",
        payment_type="X",
        paid_by_owner_id=a,
        split={"strategy": "NONE"},
    )
    before = counts(community["id"])
    cases = [
        (fund["id"], b, "1.00", 409, "paid by the fund"),
        (split["id"], a, "1.00", 409, "their own share"),
        (split["id"], c, "1.00", 404, f"Owner {c} has no share"),
        (none["id"], b, "1.00", 404, "NONE"),
        (split["id"], 999999999, "1.00", 404, "Owner 999999999 not found"),
        (split["id"], b, "-1.00", 400, "amount"),
        (split["id"], b, "0", 400, "greater than zero"),
        (split["id"], b, "1.001", 400, "decimals"),
        (123456789, b, "1.00", 404, "Expense 123456789 not found"),
    ]
    for eid, owner, amount, status, words in cases:
        r = settle(client, admin, eid, owner, amount)
        assert r.status_code == status, (eid, owner, amount, r.text)
        assert words in r.json()["detail"], r.text
    assert counts(community["id"]) == before
    set_period_status(pid, "CLOSED")
    r = settle(client, admin, split["id"], b, "1.00")
    assert r.status_code == 409 and "CLOSED" in r.json()["detail"]
    # reading still works, and shows the shares
    assert shares(client, admin, split["id"])[b] == ("45.00", "0.00", "UNPAID")


def test_settle_honours_idempotency_key(client, admin, period):
    _, b, e = two_share(client, admin, period["id"], "10.00", "T")
    h = {**admin, "Idempotency-Key": f"settle-{e['id']}"}
    first = client.post(
        f"{P}/expenses/{e['id']}/shares/{b}/settle", json={"amount": "5.00"}, headers=h
    )
    again = client.post(
        f"{P}/expenses/{e['id']}/shares/{b}/settle", json={"amount": "5.00"}, headers=h
    )
    assert (first.status_code, again.status_code) == (201, 201)
    assert again.headers.get("Idempotent-Replayed") == "true" and again.json() == first.json()
    assert shares(client, admin, e["id"])[b] == ("5.00", "5.00", "PAID")


def test_concurrent_settles_never_overpay(api_server, client, admin, period):
    import httpx

    _, b, e = two_share(client, admin, period["id"], "2000.00", "Gate")
    url = f"{api_server}{P}/expenses/{e['id']}/shares/{b}/settle"
    with httpx.Client(timeout=60) as http:
        answers = concurrently(
            8, lambda _: http.post(url, json={"amount": "300.00"}, headers=admin)
        )
    codes = sorted(r.status_code for r in answers)
    assert codes == [201] * 3 + [400] * 5, [r.text for r in answers]
    assert shares(client, admin, e["id"])[b] == ("1000.00", "900.00", "PARTIALLY_PAID")
    assert scalar("SELECT count(*) FROM settlements WHERE settles_expense_id = :e", e=e["id"]) == 3


def test_a_share_settlement_edited_or_deleted_keeps_the_share_true(client, admin, period):
    a, b, e = two_share(client, admin, period["id"], "200.00", "Well")
    first = settle(client, admin, e["id"], b, "60.00").json()["settlement"]
    settle(client, admin, e["id"], b, "30.00")
    url = f"{P}/settlements/{first['id']}"
    # 60 -> 70 fits the share (100.00: 30.00 paid by the other transfer); 60 -> 71 does not
    r = client.patch(url, json={"amount": "71.00"}, headers=admin)
    assert r.status_code == 400 and "unpaid remainder 70.00" in r.json()["detail"], r.text
    r = client.patch(url, json={"amount": "70.00"}, headers=admin)
    assert r.status_code == 200, r.text
    assert shares(client, admin, e["id"])[b] == ("100.00", "100.00", "PAID")
    r = client.patch(url, json={"to_owner_id": b, "from_owner_id": a}, headers=admin)
    assert r.status_code == 409 and "cannot change" in r.json()["detail"]
    # deleting the transfer un-pays that part of the share
    assert client.delete(url, headers=admin).status_code == 204
    assert shares(client, admin, e["id"])[b] == ("100.00", "30.00", "PARTIALLY_PAID")
