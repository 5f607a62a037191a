"""Invoices (SPEC §4a): issued at close, paid oldest first by the owner's payments, VOID on
reopen and issued anew on the next close. A real worker closes the periods."""

from __future__ import annotations

from typing import Any

import pytest

from tests.api._support import (
    PAYMENTS,
    assert_problem,
    carry,
    charge,
    close,
    mkperiod,
    owner_pk,
    pay,
    post,
)
from tests.conftest import new_community

pytestmark = pytest.mark.usefixtures("worker_stack")

P = f"{PAYMENTS}/periods"


# ---------------------------------------------------------------- helpers


def reopen(client: Any, admin: dict[str, str], pid: int) -> None:
    r = client.post(f"{P}/{pid}/reopen", headers=admin)
    assert r.status_code == 200, r.text


def invoices(client: Any, admin: dict[str, str], owner: int) -> list[dict[str, Any]]:
    r = client.get(f"{PAYMENTS}/owners/{owner}/invoices", headers=admin)
    assert r.status_code == 200, r.text
    return list(r.json())


def brief(items: list[dict[str, Any]]) -> list[tuple[int, str, str, str, str]]:
    """(period_id, amount, paid, pending, status) per invoice, in the order given."""
    return [(i["period_id"], i["amount"], i["paid"], i["pending"], i["status"]) for i in items]


def statement(client: Any, admin: dict[str, str], owner: int) -> dict[str, Any]:
    r = client.get(f"{PAYMENTS}/owners/{owner}/statement", headers=admin)
    assert r.status_code == 200, r.text
    return dict(r.json())


# ---------------------------------------------------------------- SPEC §4a: oldest first


def test_two_periods_pay_oldest_first_and_pending_is_minus_the_closing_debt(
    client, community, admin
):
    """Period 1 invoices 100.00 and the owner pays 30.00: PARTIAL 30/70. Its debt of 70.00 is
    carried into period 2 (not invoiced again), which invoices 50.00; the owner pays 100.00 in
    period 2, which pays invoice 1 off (70.00) and 30.00 of invoice 2: PARTIAL 30/20. Pending
    20.00 = minus period 2's closing balance."""
    p1 = mkperiod(client, admin, "November 2025", "2025-11-01", "2025-11-30")
    p2 = mkperiod(client, admin, "December 2025", "2025-12-01", "2025-12-31")
    charge(client, admin, p1, 101, "100.00")
    pay(client, admin, p1, 101, "30.00")
    assert invoices(client, admin, 101) == []  # an OPEN period has no invoice yet

    assert close(client, admin, p1)["result"]["invoices_issued"] == 1
    assert brief(invoices(client, admin, 101)) == [(p1, "100.00", "30.00", "70.00", "PARTIAL")]

    carry(client, admin, p1, p2)
    charge(client, admin, p2, 101, "50.00")
    pay(client, admin, p2, 101, "100.00")
    # A payment in the OPEN period counts at once: invoice 1 is paid off.
    assert brief(invoices(client, admin, 101)) == [(p1, "100.00", "100.00", "0.00", "PAID")]
    live = statement(client, admin, 101)
    assert [(p["period_id"], p["status"]) for p in live["periods"]] == [
        (p1, "CLOSED"),
        (p2, "OPEN"),
    ]
    # period 2 is a preview: its 50.00 are charged but not invoiced until the close
    assert live["periods"][1]["closing_balance"] == "-20.00"
    assert live["totals"]["pending"] == "0.00"

    close(client, admin, p2)
    items = invoices(client, admin, 101)
    assert brief(items) == [
        (p1, "100.00", "100.00", "0.00", "PAID"),
        (p2, "50.00", "30.00", "20.00", "PARTIAL"),
    ]
    s = statement(client, admin, 101)
    periods = [
        (p["period_id"], p["opening_balance"], p["charges"], p["payments"], p["closing_balance"])
        for p in s["periods"]
    ]
    assert periods == [
        (p1, "0.00", "100.00", "30.00", "-70.00"),
        (p2, "-70.00", "50.00", "100.00", "-20.00"),
    ]
    assert s["totals"] == {
        "charges": "150.00",
        "payments": "130.00",
        "invoiced": "150.00",
        "paid": "130.00",
        "pending": "20.00",
        "closing_balance": "-20.00",
    }
    # the invariant: total pending = minus the latest closing balance (a debt)
    assert s["totals"]["pending"] == s["periods"][-1]["closing_balance"].removeprefix("-")
    assert s["invoices"] == items


def test_reopen_voids_and_the_next_close_issues_anew_down_the_chain(client, community, admin):
    p1 = mkperiod(client, admin, "November 2025", "2025-11-01", "2025-11-30")
    p2 = mkperiod(client, admin, "December 2025", "2025-12-01", "2025-12-31")
    charge(client, admin, p1, 101, "100.00")
    pay(client, admin, p1, 101, "30.00")
    close(client, admin, p1)
    carry(client, admin, p1, p2)
    charge(client, admin, p2, 101, "50.00")
    pay(client, admin, p2, 101, "100.00")
    close(client, admin, p2)
    first = invoices(client, admin, 101)

    reopen(client, admin, p1)
    items = invoices(client, admin, 101)
    assert brief(items) == [
        (p1, "100.00", "0.00", "0.00", "VOID"),
        (p2, "50.00", "50.00", "0.00", "PAID"),  # the only live invoice takes all payments
    ]
    assert items[0]["id"] == first[0]["id"] and items[0]["voided_at"]
    s = statement(client, admin, 101)
    assert (s["totals"]["invoiced"], s["totals"]["paid"], s["totals"]["pending"]) == (
        "50.00",
        "50.00",
        "0.00",
    )
    assert s["periods"][0]["status"] == "OPEN"

    # a correction: the charge of period 1 was 80.00, not 100.00
    cid = int(
        client.get(f"{P}/{p1}/charges", params={"owner_id": 101}, headers=admin).json()[0]["id"]
    )
    r = client.patch(f"{PAYMENTS}/charges/{cid}", json={"amount": "80.00"}, headers=admin)
    assert r.status_code == 200, r.text
    done = close(client, admin, p1)
    assert done["result"]["recomputed_periods"] == [p2]

    items = invoices(client, admin, 101)
    # oldest first is by period: the new invoice of period 1 comes before period 2's
    assert [i["period_id"] for i in items] == [p1, p1, p2, p2]
    assert brief(items) == [
        (p1, "100.00", "0.00", "0.00", "VOID"),
        (p1, "80.00", "80.00", "0.00", "PAID"),
        (p2, "50.00", "0.00", "0.00", "VOID"),  # reissued by the recomputation of the chain
        (p2, "50.00", "50.00", "0.00", "PAID"),
    ]
    assert items[1]["id"] > items[2]["id"]  # issued after period 2's first invoice
    s = statement(client, admin, 101)
    assert s["periods"][-1]["closing_balance"] == "0.00"
    assert s["totals"]["pending"] == "0.00"
    assert s["totals"]["invoiced"] == "130.00"

    r = client.get(f"{P}/{p1}/statement", headers=admin)
    assert r.status_code == 200, r.text
    assert r.json()["invoice_counts"] == {"ISSUED": 0, "PARTIAL": 0, "PAID": 1, "VOID": 1}


def test_settlements_and_expenses_paid_count_as_payments(client, community, admin):
    """Owner 101 pays a 300.00 expense shared equally by three: invoices of 100.00 each. Owner
    102 settles with 101 directly (100.00): for 102 a payment, for 101 a payment taken back.
    Owner 103 pays nothing."""
    for owner in (101, 102, 103):
        post(client, admin, "/owners", {"owner_id": owner, "name": f"Owner {owner}"})
    p1 = mkperiod(client, admin, "November 2025", "2025-11-01", "2025-11-30")
    post(
        client,
        admin,
        f"/periods/{p1}/expenses",
        {
            "paid_by_owner_id": 101,
            "amount": "300.00",
            "payment_type": "ROAD",
            "split": {"strategy": "EQUAL"},
        },
    )
    post(
        client,
        admin,
        f"/periods/{p1}/settlements",
        {"from_owner_id": 102, "to_owner_id": 101, "amount": "100.00"},
    )
    close(client, admin, p1)
    assert brief(invoices(client, admin, 101)) == [(p1, "100.00", "100.00", "0.00", "PAID")]
    assert brief(invoices(client, admin, 102)) == [(p1, "100.00", "100.00", "0.00", "PAID")]
    assert brief(invoices(client, admin, 103)) == [(p1, "100.00", "0.00", "100.00", "ISSUED")]
    s101 = statement(client, admin, 101)
    # 300.00 paid for the expense - 100.00 received back = 200.00 of payments
    assert (s101["periods"][0]["payments"], s101["periods"][0]["closing_balance"]) == (
        "200.00",
        "100.00",
    )
    assert s101["totals"]["pending"] == "0.00"
    s103 = statement(client, admin, 103)
    assert s103["totals"]["pending"] == "100.00"
    assert s103["totals"]["closing_balance"] == "-100.00"


def test_an_owner_with_no_charges_gets_no_invoice(client, community, admin):
    p1 = mkperiod(client, admin, "November 2025", "2025-11-01", "2025-11-30")
    pay(client, admin, p1, 101, "10.00")
    charge(client, admin, p1, 102, "10.00")
    close(client, admin, p1)
    assert invoices(client, admin, 101) == []
    assert brief(invoices(client, admin, 102)) == [(p1, "10.00", "0.00", "10.00", "ISSUED")]


def test_invoices_are_paged_oldest_first(client, community, admin):
    ids = []
    for month in (9, 10, 11):
        pid = mkperiod(client, admin, f"M{month}", f"2025-{month:02d}-01", f"2025-{month:02d}-28")
        charge(client, admin, pid, 101, "10.00")
        close(client, admin, pid)
        ids.append(pid)
    r = client.get(f"{PAYMENTS}/owners/101/invoices", params={"limit": 2}, headers=admin)
    assert r.status_code == 200
    assert [i["period_id"] for i in r.json()] == ids[:2]
    nxt = r.headers["Link"].split(";")[0].strip("<>")
    r2 = client.get(nxt, headers=admin)
    assert [i["period_id"] for i in r2.json()] == ids[2:]
    assert "Link" not in r2.headers


def test_invoices_of_an_unknown_or_foreign_owner_are_404(client, community, admin):
    p1 = mkperiod(client, admin, "November 2025", "2025-11-01", "2025-11-30")
    charge(client, admin, p1, 101, "10.00")
    assert owner_pk(community["id"], 101)
    other = new_community(client)
    assert_problem(
        client.get(f"{PAYMENTS}/owners/101/invoices", headers=other["headers"]), 404, "101"
    )
    assert_problem(client.get(f"{PAYMENTS}/owners/999/invoices", headers=admin), 404, "999")
