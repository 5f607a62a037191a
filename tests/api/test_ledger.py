"""Recording money and the inputs of allocation: every endpoint's success and error paths,
edits and deletions that keep history, the OPEN-period rule and If-Match."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import pytest

from tests.api._support import (
    PAYMENTS,
    all_pages,
    assert_problem,
    audit,
    counts,
    ledger,
    make_period,
    one_of_each,
    owner_pk,
    post,
    scalar,
    set_period_status,
)
from tests.conftest import unique_id


def refused(
    client: Any, community: dict[str, Any], admin: dict[str, str], period: Any, kind: str, body: Any
) -> None:
    """Posting ``body`` to the period's ``kind`` is a 400 problem and stores nothing."""
    before = counts(community["id"])
    r = client.post(f"{PAYMENTS}/periods/{period['id']}/{kind}", json=body, headers=admin)
    assert_problem(r, 400)
    assert counts(community["id"]) == before


# ---------------------------------------------------------------- contributions


def test_record_and_list_contributions(client, community, admin, period):
    a, b = unique_id(), unique_id()
    pid = period["id"]
    r = client.post(
        f"{PAYMENTS}/periods/{pid}/contributions",
        json={"owner_id": a, "amount": "500.00", "date": "2025-11-05", "comment": "Monthly"},
        headers=admin,
    )
    assert r.status_code == 201, r.text
    c = r.json()
    assert c["owner_id"] == a
    assert c["amount"] == "500.00"
    assert c["date"] == "2025-11-05"
    assert c["comment"] == "Monthly"
    assert c["period_id"] == pid
    assert c["is_opening"] is False
    assert c["version"] == 1
    assert r.headers["Location"] == f"{PAYMENTS}/contributions/{c['id']}"
    c2 = post(client, admin, f"/periods/{pid}/contributions", {"user_id": b, "amount": 250})
    assert c2["owner_id"] == b and c2["amount"] == "250.00"

    listed = client.get(f"{PAYMENTS}/periods/{pid}/contributions", headers=admin).json()
    assert [x["id"] for x in listed] == [c["id"], c2["id"]]
    only_b = client.get(f"{PAYMENTS}/periods/{pid}/contributions?owner_id={b}", headers=admin)
    assert [x["id"] for x in only_b.json()] == [c2["id"]]

    assert ledger("contribution", c["id"]) == [
        (owner_pk(community["id"], a), "CONTRIBUTION", 50000)
    ]
    (entry,) = [
        e for e in audit(community["id"], "contribution.create") if e.entity_id == str(c["id"])
    ]
    assert entry.actor.startswith("api_key:")
    assert entry.after["amount_minor"] == 50000


def test_omitted_date_is_booked_inside_the_period(client, admin, period):
    c = post(client, admin, f"/periods/{period['id']}/contributions", {"owner_id": 1, "amount": 1})
    assert period["start_date"] <= c["date"] <= period["end_date"]


@pytest.mark.parametrize(
    "day", ["2025-10-31", "2025-12-01", "2025-11-30T22:00:00+00:00"], ids=["before", "after", "tz"]
)
def test_date_outside_the_period_is_400(client, community, admin, period, day):
    # 22:00 UTC on Nov 30 is already Dec 1 in Moscow, the community's time zone.
    before = counts(community["id"])
    r = client.post(
        f"{PAYMENTS}/periods/{period['id']}/contributions",
        json={"owner_id": unique_id(), "amount": "10.00", "date": day},
        headers=admin,
    )
    assert_problem(r, 400, "outside", "November 2025")
    assert counts(community["id"]) == before


def test_unknown_period_is_404(client, community, admin):
    before = counts(community["id"])
    r = client.post(
        f"{PAYMENTS}/periods/987654321/contributions",
        json={"owner_id": unique_id(), "amount": "10.00"},
        headers=admin,
    )
    assert_problem(r, 404, "987654321")
    assert_problem(client.get(f"{PAYMENTS}/periods/987654321/contributions", headers=admin), 404)
    assert counts(community["id"]) == before


def test_contribution_edit_keeps_history(client, community, admin, period):
    a, b = unique_id(), unique_id()
    pid = period["id"]
    c = post(client, admin, f"/periods/{pid}/contributions", {"owner_id": a, "amount": "500.00"})
    url = f"{PAYMENTS}/contributions/{c['id']}"
    r = client.patch(url, json={"amount": "700.00", "comment": "corrected"}, headers=admin)
    assert r.status_code == 200, r.text
    assert r.json()["amount"] == "700.00"
    assert r.json()["comment"] == "corrected"
    assert r.json()["version"] == 2
    assert r.json()["id"] == c["id"]
    assert r.headers["ETag"] == '"2"'

    pa = owner_pk(community["id"], a)
    assert ledger("contribution", c["id"]) == [
        (pa, "CONTRIBUTION", 50000),
        (pa, "CONTRIBUTION", -50000),
        (pa, "CONTRIBUTION", 70000),
    ]
    (entry,) = audit(community["id"], "contribution.update")
    assert entry.before["amount_minor"] == 50000
    assert entry.after["amount_minor"] == 70000
    assert entry.actor.startswith("api_key:")

    # moving it to another owner reverses the first owner's posting
    r = client.patch(url, json={"user_id": b}, headers=admin)
    assert r.status_code == 200, r.text
    assert r.json()["owner_id"] == b
    pb = owner_pk(community["id"], b)
    sums: dict[tuple[int, str], int] = {}
    for pk, kind, amount in ledger("contribution", c["id"]):
        sums[pk, kind] = sums.get((pk, kind), 0) + amount
    assert sums == {(pa, "CONTRIBUTION"): 0, (pb, "CONTRIBUTION"): 70000}

    sheet = client.get(f"{PAYMENTS}/periods/{pid}/balance-sheet", headers=admin).json()
    by_owner = {e["owner_id"]: e for e in sheet["entries"]}
    assert by_owner[a]["total_contributions"] == "0.00"
    assert by_owner[b]["total_contributions"] == "700.00"


def test_contribution_delete_keeps_history(client, community, admin, period):
    a = unique_id()
    pid = period["id"]
    c = post(client, admin, f"/periods/{pid}/contributions", {"owner_id": a, "amount": "500.00"})
    keep = post(client, admin, f"/periods/{pid}/contributions", {"owner_id": a, "amount": "1.00"})
    url = f"{PAYMENTS}/contributions/{c['id']}"
    r = client.delete(url, headers=admin)
    assert r.status_code == 204
    assert r.content == b""

    pa = owner_pk(community["id"], a)
    assert ledger("contribution", c["id"]) == [
        (pa, "CONTRIBUTION", 50000),
        (pa, "CONTRIBUTION", -50000),
    ]
    row = scalar("SELECT deleted_by FROM contributions WHERE id = :i", i=c["id"])
    assert row.startswith("api_key:")
    (entry,) = audit(community["id"], "contribution.delete")
    assert entry.before["amount_minor"] == 50000
    assert entry.before["deleted_at"] is None
    assert entry.after["deleted_at"] is not None
    assert entry.after["deleted_by"] == entry.actor
    assert entry.entity_id == str(c["id"])

    listed = client.get(f"{PAYMENTS}/periods/{pid}/contributions", headers=admin).json()
    assert [x["id"] for x in listed] == [keep["id"]]
    balance = client.get(f"{PAYMENTS}/periods/{pid}/balances/{a}", headers=admin).json()
    assert balance["total_contributions"] == "1.00"
    assert_problem(client.delete(url, headers=admin), 404)
    assert_problem(client.patch(url, json={"amount": "1"}, headers=admin), 404)


def test_if_match(client, community, admin, period):
    c = post(
        client, admin, f"/periods/{period['id']}/contributions", {"owner_id": 1, "amount": "5"}
    )
    url = f"{PAYMENTS}/contributions/{c['id']}"
    ok = client.patch(url, json={"amount": "6"}, headers={**admin, "If-Match": '"1"'})
    assert ok.status_code == 200, ok.text
    before = counts(community["id"])
    stale = client.patch(url, json={"amount": "7"}, headers={**admin, "If-Match": '"1"'})
    assert_problem(stale, 412, "version 2")
    assert_problem(client.delete(url, headers={**admin, "If-Match": "1"}), 412)
    assert_problem(client.patch(url, json={"amount": "7"}, headers={**admin, "If-Match": "x"}), 412)
    assert counts(community["id"]) == before
    assert (
        client.patch(url, json={"amount": "8"}, headers={**admin, "If-Match": "2"}).json()["amount"]
        == "8.00"
    )
    assert client.delete(url, headers={**admin, "If-Match": 'W/"3"'}).status_code == 204


@pytest.mark.parametrize(
    "body",
    [
        {"amount": "0"},
        {"amount": "-5.00"},
        {"amount": "5.001"},
        {"amount": None},
        {"owner_id": None},
        {"owner_id": 0},
        {"date": "2025-12-01"},
        {"date": None},
        {"period_id": 5},
        {"amount": "abc"},
    ],
)
def test_invalid_contribution_patch_is_400_and_changes_nothing(
    client, community, admin, period, body
):
    c = post(
        client, admin, f"/periods/{period['id']}/contributions", {"owner_id": 1, "amount": "5"}
    )
    before = counts(community["id"])
    r = client.patch(f"{PAYMENTS}/contributions/{c['id']}", json=body, headers=admin)
    assert_problem(r, 400)
    assert counts(community["id"]) == before
    listed = client.get(f"{PAYMENTS}/periods/{period['id']}/contributions", headers=admin).json()
    assert listed == [c]


# ---------------------------------------------------------------- non-OPEN periods


NEW_BODIES: dict[str, dict[str, Any]] = {
    "contributions": {"owner_id": 7, "amount": "1"},
    "expenses": {"amount": "1", "payment_type": "OTHER"},
    "charges": {"owner_id": 7, "amount": "1"},
    "meter-readings": {"owner_id": 7, "meter_type": "GAS", "start_reading": 0, "end_reading": 1},
    "budget-items": {"payment_type": "GAS", "budgeted_amount": "1"},
    "settlements": {"from_owner_id": 7, "to_owner_id": 8, "amount": "1"},
}
PATCH_BODIES: dict[str, dict[str, Any]] = {
    "contributions": {"amount": "2"},
    "expenses": {"amount": "2"},
    "charges": {"amount": "2"},
    "meter-readings": {"end_reading": 3},
    "budget-items": {"budgeted_amount": "2"},
}


@pytest.mark.parametrize("status", ["CLOSING", "CLOSED"])
def test_only_an_open_period_accepts_new_or_edited_transactions(
    client, community, admin, period, status
):
    pid = period["id"]
    docs = one_of_each(client, admin, pid)
    set_period_status(pid, status)
    before = counts(community["id"])
    for kind, body in NEW_BODIES.items():
        r = client.post(f"{PAYMENTS}/periods/{pid}/{kind}", json=body, headers=admin)
        problem = assert_problem(r, 409, "November 2025", status)
        assert problem["period_id"] == pid
        assert problem["period_status"] == status
    for kind, body in PATCH_BODIES.items():
        url = f"{PAYMENTS}/{kind}/{docs[kind]['id']}"
        assert_problem(client.patch(url, json=body, headers=admin), 409, "November 2025", status)
        assert_problem(client.delete(url, headers=admin), 409, "November 2025", status)
    assert counts(community["id"]) == before
    # reading is still fine
    for kind in NEW_BODIES:
        r = client.get(f"{PAYMENTS}/periods/{pid}/{kind}", headers=admin)
        assert r.status_code == 200 and len(r.json()) == 1, (kind, r.text)
    # and reopening (OPEN again) accepts edits
    set_period_status(pid, "OPEN")
    url = f"{PAYMENTS}/contributions/{docs['contributions']['id']}"
    assert client.patch(url, json={"amount": "2"}, headers=admin).status_code == 200


# ---------------------------------------------------------------- expenses


def test_expenses_record_list_filter_edit_delete(client, community, admin, period):
    a, b = unique_id(), unique_id()
    pid = period["id"]
    r = client.post(
        f"{PAYMENTS}/periods/{pid}/expenses",
        json={
            "paid_by_owner_id": a,
            "amount": 200.00,
            "payment_type": "SECURITY",
            "date": "2025-11-10",
            "vendor": "SecureGuard",
            "description": "Monthly security",
        },
        headers=admin,
    )
    assert r.status_code == 201, r.text
    e1 = r.json()
    assert e1["paid_by_owner_id"] == a
    assert e1["amount"] == "200.00"
    assert (e1["payment_type"], e1["vendor"], e1["description"]) == (
        "SECURITY",
        "SecureGuard",
        "Monthly security",
    )
    assert e1["split"] is None
    assert r.headers["Location"] == f"{PAYMENTS}/expenses/{e1['id']}"
    e2 = post(
        client,
        admin,
        f"/periods/{pid}/expenses",
        {"paid_by_user_id": b, "amount": "100", "payment_type": "UTILITIES"},
    )
    assert e2["paid_by_owner_id"] == b
    fund = post(client, admin, f"/periods/{pid}/expenses", {"amount": "50", "payment_type": "x"})
    assert fund["paid_by_owner_id"] is None
    assert ledger("expense", fund["id"]) == []

    url = f"{PAYMENTS}/periods/{pid}/expenses"
    assert [e["id"] for e in client.get(url, headers=admin).json()] == [
        e1["id"],
        e2["id"],
        fund["id"],
    ]
    assert [e["id"] for e in client.get(f"{url}?paid_by={b}", headers=admin).json()] == [e2["id"]]

    pa, pb = owner_pk(community["id"], a), owner_pk(community["id"], b)
    assert ledger("expense", e1["id"]) == [(pa, "EXPENSE_PAID", 20000)]

    # the fund takes over e1: the payer's credit is reversed
    r = client.patch(
        f"{PAYMENTS}/expenses/{e1['id']}", json={"paid_by_owner_id": None}, headers=admin
    )
    assert r.status_code == 200, r.text
    assert r.json()["paid_by_owner_id"] is None
    assert ledger("expense", e1["id"]) == [
        (pa, "EXPENSE_PAID", 20000),
        (pa, "EXPENSE_PAID", -20000),
    ]
    # owner b pays the fund's expense instead; amount corrected
    r = client.patch(
        f"{PAYMENTS}/expenses/{fund['id']}",
        json={"paid_by_user_id": b, "amount": "60.00", "vendor": "Shop"},
        headers=admin,
    )
    assert r.status_code == 200, r.text
    assert (r.json()["paid_by_owner_id"], r.json()["amount"], r.json()["vendor"]) == (
        b,
        "60.00",
        "Shop",
    )
    assert ledger("expense", fund["id"]) == [(pb, "EXPENSE_PAID", 6000)]
    (entry,) = [
        e for e in audit(community["id"], "expense.update") if e.entity_id == str(fund["id"])
    ]
    assert entry.before["paid_by_owner_pk"] is None and entry.before["amount_minor"] == 5000
    assert entry.after["paid_by_owner_pk"] == pb and entry.after["amount_minor"] == 6000

    assert client.delete(f"{PAYMENTS}/expenses/{e2['id']}", headers=admin).status_code == 204
    assert ledger("expense", e2["id"]) == [
        (pb, "EXPENSE_PAID", 10000),
        (pb, "EXPENSE_PAID", -10000),
    ]
    assert [e["id"] for e in client.get(url, headers=admin).json()] == [e1["id"], fund["id"]]
    assert len(audit(community["id"], "expense.delete")) == 1


def test_expense_with_a_split(client, community, admin, period):
    a, b = unique_id(), unique_id()
    pid = period["id"]
    for o in (a, b):
        post(client, admin, "/owners", {"owner_id": o})
    e = post(
        client,
        admin,
        f"/periods/{pid}/expenses",
        {
            "amount": "100.00",
            "payment_type": "PARTY",
            "split": {"strategy": "EXACT", "owners": {str(a): 60, str(b): "40.00"}},
        },
    )
    assert e["split"] == {"strategy": "EXACT", "owners": {str(a): "60.00", str(b): "40.00"}}
    sheet = client.get(f"{PAYMENTS}/periods/{pid}/balance-sheet", headers=admin).json()
    by_owner = {x["owner_id"]: x["total_allocated"] for x in sheet["entries"]}
    assert by_owner == {a: "60.00", b: "40.00"}

    # changing the amount alone breaks the exact split: 400, nothing changes
    before = counts(community["id"])
    r = client.patch(f"{PAYMENTS}/expenses/{e['id']}", json={"amount": "90.00"}, headers=admin)
    assert_problem(r, 400, "exact")
    assert counts(community["id"]) == before


SPLITS = {
    "pct-not-100": lambda a, b: {"strategy": "PERCENTAGE", "owners": {str(a): "60", str(b): "30"}},
    "exact-not-total": lambda a, b: {"strategy": "EXACT", "owners": {str(a): "60", str(b): "20"}},
    "exact-too-precise": lambda a, b: {
        "strategy": "EXACT",
        "owners": {str(a): "60.005", str(b): "29.995"},
    },
    "unknown-owner": lambda a, b: {"strategy": "EQUAL", "owners": [a, 999999999999]},
    "named-twice": lambda a, b: {"strategy": "EQUAL", "owners": [a, a]},
    "empty": lambda a, b: {"strategy": "EQUAL", "owners": []},
    "shares-fraction": lambda a, b: {"strategy": "SHARES", "owners": {str(a): 1.5, str(b): 1}},
    "bad-strategy": lambda a, b: {"strategy": "WHATEVER"},
    "no-strategy": lambda a, b: {"owners": [a]},
    "extra-field": lambda a, b: {"strategy": "EQUAL", "owners": [a], "extra": 1},
    "none-with-owners": lambda a, b: {"strategy": "NONE", "owners": [a]},
}


@pytest.mark.parametrize("case", list(SPLITS))
def test_inconsistent_split_is_400_and_stores_nothing(client, community, admin, period, case):
    a, b = unique_id(), unique_id()
    for o in (a, b):
        post(client, admin, "/owners", {"owner_id": o})
    before = counts(community["id"])
    r = client.post(
        f"{PAYMENTS}/periods/{period['id']}/expenses",
        json={
            "amount": "90.00",
            "payment_type": "X",
            "paid_by_owner_id": unique_id(),
            "split": SPLITS[case](a, b),
        },
        headers=admin,
    )
    assert_problem(r, 400, "split" if case not in ("bad-strategy",) else "strategy")
    assert counts(community["id"]) == before  # not even the payer was created


# ---------------------------------------------------------------- service charges


def test_charges_record_list_edit_delete(client, community, admin, period):
    a, b = unique_id(), unique_id()
    pid = period["id"]
    c = post(
        client,
        admin,
        f"/periods/{pid}/charges",
        {"owner_id": a, "amount": "150.50", "description": "Fence repair", "date": "2025-11-20"},
    )
    assert (c["owner_id"], c["amount"], c["description"], c["date"]) == (
        a,
        "150.50",
        "Fence repair",
        "2025-11-20",
    )
    assert c["is_opening"] is False and c["recurring_template_id"] is None
    other = post(client, admin, f"/periods/{pid}/charges", {"user_id": b, "amount": 5})
    url = f"{PAYMENTS}/periods/{pid}/charges"
    assert [x["id"] for x in client.get(url, headers=admin).json()] == [c["id"], other["id"]]
    assert [x["id"] for x in client.get(f"{url}?owner_id={b}", headers=admin).json()] == [
        other["id"]
    ]

    pa = owner_pk(community["id"], a)
    r = client.patch(f"{PAYMENTS}/charges/{c['id']}", json={"amount": "100"}, headers=admin)
    assert r.status_code == 200 and r.json()["amount"] == "100.00"
    assert ledger("service_charge", c["id"]) == [
        (pa, "SERVICE_CHARGE", 15050),
        (pa, "SERVICE_CHARGE", -15050),
        (pa, "SERVICE_CHARGE", 10000),
    ]
    assert len(audit(community["id"], "service_charge.update")) == 1
    bal = client.get(f"{PAYMENTS}/periods/{pid}/balances/{a}", headers=admin).json()
    assert (bal["total_service_charges"], bal["balance"]) == ("100.00", "-100.00")

    assert client.delete(f"{PAYMENTS}/charges/{c['id']}", headers=admin).status_code == 204
    assert sum(x[2] for x in ledger("service_charge", c["id"])) == 0
    assert [x["id"] for x in client.get(url, headers=admin).json()] == [other["id"]]
    assert len(audit(community["id"], "service_charge.delete")) == 1


# ---------------------------------------------------------------- meter readings


def test_meter_readings_record_list_edit_delete(client, community, admin, period):
    a, b = unique_id(), unique_id()
    pid = period["id"]
    r1 = post(
        client,
        admin,
        f"/periods/{pid}/meter-readings",
        {"owner_id": a, "meter_type": "water", "start_reading": "100.5", "end_reading": 130},
    )
    assert (r1["meter_type"], r1["start_reading"], r1["end_reading"], r1["consumption"]) == (
        "WATER",
        "100.5",
        "130",
        "29.5",
    )
    r2 = post(
        client,
        admin,
        f"/periods/{pid}/meter-readings",
        {"user_id": b, "meter_type": "WATER", "start_reading": 0, "end_reading": 0},
    )
    assert r2["consumption"] == "0"
    url = f"{PAYMENTS}/periods/{pid}/meter-readings"
    assert [x["id"] for x in client.get(url, headers=admin).json()] == [r1["id"], r2["id"]]
    assert [x["id"] for x in client.get(f"{url}?owner_id={a}", headers=admin).json()] == [r1["id"]]

    r = client.patch(
        f"{PAYMENTS}/meter-readings/{r1['id']}", json={"end_reading": 140}, headers=admin
    )
    assert r.status_code == 200, r.text
    assert r.json()["consumption"] == "39.5"
    (entry,) = audit(community["id"], "meter_reading.update")
    assert Decimal(entry.before["end_reading"]) == 130
    assert Decimal(entry.after["end_reading"]) == 140
    got = client.get(f"{url}?owner_id={a}", headers=admin).json()[0]
    assert (got["start_reading"], got["end_reading"], got["consumption"]) == (
        "100.5",
        "140",
        "39.5",
    )

    before = counts(community["id"])
    r = client.patch(
        f"{PAYMENTS}/meter-readings/{r1['id']}", json={"end_reading": 50}, headers=admin
    )
    assert_problem(r, 400, "end_reading")
    assert counts(community["id"]) == before

    assert client.delete(f"{PAYMENTS}/meter-readings/{r2['id']}", headers=admin).status_code == 204
    assert [x["id"] for x in client.get(url, headers=admin).json()] == [r1["id"]]
    assert len(audit(community["id"], "meter_reading.delete")) == 1
    assert scalar("SELECT count(*) FROM ledger_entries WHERE source_type = 'meter_reading'") == 0


@pytest.mark.parametrize(
    "body",
    [
        {"owner_id": 1, "meter_type": "WATER", "start_reading": 10, "end_reading": 5},
        {"owner_id": 1, "meter_type": "WATER", "start_reading": -1, "end_reading": 5},
        {"owner_id": 1, "meter_type": "WATER", "start_reading": "1.12345", "end_reading": 5},
        {"owner_id": 1, "meter_type": "", "start_reading": 1, "end_reading": 5},
        {"owner_id": 1, "meter_type": "   ", "start_reading": 1, "end_reading": 5},
        {"owner_id": 1, "meter_type": "WATER", "start_reading": 1},
        {"owner_id": 1, "meter_type": "WATER", "start_reading": "x", "end_reading": 5},
        {"meter_type": "WATER", "start_reading": 1, "end_reading": 5},
    ],
)
def test_invalid_meter_readings_are_400(client, community, admin, period, body):
    refused(client, community, admin, period, "meter-readings", body)


# ---------------------------------------------------------------- budget items


def test_budget_items_record_list_edit_delete(client, community, admin, period):
    pid = period["id"]
    r = client.post(
        f"{PAYMENTS}/periods/{pid}/budget-items",
        json={
            "payment_type": "SECURITY",
            "budgeted_amount": 200.00,
            "allocation_strategy": "PROPORTIONAL",
        },
        headers=admin,
    )
    assert r.status_code == 201, r.text
    b = r.json()
    assert (b["payment_type"], b["budgeted_amount"], b["allocation_strategy"]) == (
        "SECURITY",
        "200.00",
        "PROPORTIONAL",
    )
    assert (b["actual_amount"], b["variance"]) == ("0.00", "200.00")
    water = post(
        client,
        admin,
        f"/periods/{pid}/budget-items",
        {
            "payment_type": "Water",
            "budgeted_amount": "0",
            "allocation_strategy": "usage_based",
            "meter_type": "water",
        },
    )
    assert (water["allocation_strategy"], water["meter_type"]) == ("USAGE_BASED", "WATER")
    post(client, admin, f"/periods/{pid}/expenses", {"amount": "250", "payment_type": "security"})

    listed = client.get(f"{PAYMENTS}/periods/{pid}/budget-items", headers=admin).json()
    assert [x["id"] for x in listed] == [b["id"], water["id"]]
    assert (listed[0]["actual_amount"], listed[0]["variance"]) == ("250.00", "-50.00")

    # one budget item per payment type, case-insensitively
    before = counts(community["id"])
    r = client.post(
        f"{PAYMENTS}/periods/{pid}/budget-items",
        json={"payment_type": "security", "budgeted_amount": 1},
        headers=admin,
    )
    assert_problem(r, 409, "security")
    r = client.patch(
        f"{PAYMENTS}/budget-items/{water['id']}", json={"payment_type": "SECURITY"}, headers=admin
    )
    assert_problem(r, 409)
    assert counts(community["id"]) == before

    r = client.patch(
        f"{PAYMENTS}/budget-items/{b['id']}",
        json={"budgeted_amount": "300", "allocation_strategy": "EQUAL"},
        headers=admin,
    )
    assert r.status_code == 200, r.text
    assert (r.json()["budgeted_amount"], r.json()["allocation_strategy"], r.json()["variance"]) == (
        "300.00",
        "FIXED_FEE",
        "50.00",
    )
    (entry,) = audit(community["id"], "budget_item.update")
    assert entry.before["budgeted_amount_minor"] == 20000
    assert entry.after["budgeted_amount_minor"] == 30000

    assert client.delete(f"{PAYMENTS}/budget-items/{b['id']}", headers=admin).status_code == 204
    listed = client.get(f"{PAYMENTS}/periods/{pid}/budget-items", headers=admin).json()
    assert [x["id"] for x in listed] == [water["id"]]
    # the type is free again
    post(
        client,
        admin,
        f"/periods/{pid}/budget-items",
        {"payment_type": "SECURITY", "budgeted_amount": 1},
    )


@pytest.mark.parametrize(
    "body",
    [
        {"payment_type": "WATER", "budgeted_amount": 10, "allocation_strategy": "USAGE_BASED"},
        {"payment_type": "WATER", "budgeted_amount": 10, "allocation_strategy": "BOGUS"},
        {"payment_type": "WATER", "budgeted_amount": 10, "allocation_strategy": "EXACT"},
        {"payment_type": "WATER", "budgeted_amount": -1},
        {"payment_type": "WATER", "budgeted_amount": "1.001"},
        {"payment_type": "", "budgeted_amount": 1},
        {"payment_type": "  ", "budgeted_amount": 1},
        {"budgeted_amount": 1},
    ],
)
def test_invalid_budget_items_are_400(client, community, admin, period, body):
    refused(client, community, admin, period, "budget-items", body)


# ---------------------------------------------------------------- settlements


def test_settlements_record_and_list(client, community, admin, period):
    a, b = unique_id(), unique_id()
    pid = period["id"]
    t = post(
        client,
        admin,
        f"/periods/{pid}/settlements",
        {"from_owner_id": a, "to_owner_id": b, "amount": "75.25", "comment": "cash"},
    )
    assert (t["from_owner_id"], t["to_owner_id"], t["amount"], t["comment"]) == (
        a,
        b,
        "75.25",
        "cash",
    )
    listed = client.get(f"{PAYMENTS}/periods/{pid}/settlements", headers=admin).json()
    assert [x["id"] for x in listed] == [t["id"]]
    pa, pb = owner_pk(community["id"], a), owner_pk(community["id"], b)
    assert ledger("settlement", t["id"]) == [
        (pa, "SETTLEMENT_PAID", 7525),
        (pb, "SETTLEMENT_RECEIVED", 7525),
    ]
    assert len(audit(community["id"], "settlement.create")) == 1
    sheet = client.get(f"{PAYMENTS}/periods/{pid}/balance-sheet", headers=admin).json()
    nets = {e["owner_id"]: e["net_settlements"] for e in sheet["entries"]}
    assert nets == {a: "75.25", b: "-75.25"}
    assert sheet["net_settlements"] == "0.00"


@pytest.mark.parametrize(
    "body",
    [
        {"from_owner_id": 1, "to_owner_id": 1, "amount": "5"},
        {"from_owner_id": 1, "to_owner_id": 2, "amount": "0"},
        {"from_owner_id": 1, "to_owner_id": 2},
        {"from_owner_id": 1, "to_owner_id": -2, "amount": "5"},
    ],
)
def test_invalid_settlements_are_400(client, community, admin, period, body):
    refused(client, community, admin, period, "settlements", body)


# ---------------------------------------------------------------- pagination of the ledger


@pytest.mark.parametrize("kind", ["contributions", "expenses", "charges"])
def test_ledger_collections_are_paginated(client, admin, kind):
    pid = make_period(client, admin)["id"]
    body = NEW_BODIES[kind]
    made = [post(client, admin, f"/periods/{pid}/{kind}", body)["id"] for _ in range(5)]
    pages = all_pages(client, admin, f"{PAYMENTS}/periods/{pid}/{kind}?limit=2")
    assert [x["id"] for x in pages] == made
