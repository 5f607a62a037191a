"""Recurring expenses (SPEC §3b): templates through the API, and the sweep that generates their
expense into each OPEN period once, however often and however concurrently it runs."""

from __future__ import annotations

import time
from datetime import UTC, date, datetime, timedelta
from typing import Any

import pytest

from kopilka.db import transaction
from kopilka.recurring.expenses import generate_due_expenses
from tests.api._support import (
    PAYMENTS,
    assert_problem,
    at,
    audit,
    concurrently,
    counts,
    mkperiod,
    post,
    scalar,
    set_period_status,
    sql,
    three_owners,
)
from tests.conftest import new_community

R = f"{PAYMENTS}/recurring-expenses"
P = f"{PAYMENTS}/periods"


def generate(now: datetime) -> int:
    with transaction() as s:
        return generate_due_expenses(s, now)


def template(client: Any, admin: dict[str, str], **body: Any) -> dict[str, Any]:
    data = {"amount": "6000.00", "payment_type": "Охрана", "start_date": "2025-11-01", **body}
    return post(client, admin, "/recurring-expenses", data)


def expenses(community_id: int) -> dict[int, list[tuple[int, str, date]]]:
    """period_id -> the live expenses (amount in minor units, payment type, date) generated."""
    rows = sql(
        "SELECT e.period_id, e.amount_minor, e.payment_type, e.date FROM expenses e "
        "JOIN recurring_expense_runs r ON r.expense_id = e.id "
        "WHERE e.community_id = :c AND e.deleted_at IS NULL ORDER BY e.period_id, e.id",
        c=community_id,
    )
    out: dict[int, list[tuple[int, str, date]]] = {}
    for r in rows:
        out.setdefault(r.period_id, []).append((r.amount_minor, r.payment_type, r.date))
    return out


@pytest.fixture
def village(client: Any) -> dict[str, Any]:
    """Owners 1, 2 (weight 2) and 3 (inactive); November 2025 OPEN. Moscow time."""
    return three_owners(client, "2")


# ---------------------------------------------------------------- templates


def test_create_read_list_patch_delete_and_audit(client, village):
    admin, cid = village["admin"], village["id"]
    t = template(
        client,
        admin,
        vendor="ЧОП «Щит»",
        paid_by_owner_id=1,
        day_of_month=5,
        max_occurrences=12,
        split={"strategy": "SHARES", "owners": {"1": 1, "2": 3}},
    )
    assert t["amount"] == "6000.00" and t["paid_by_owner_id"] == 1
    assert (t["occurrences"], t["occurrences_left"], t["max_occurrences"]) == (0, 12, 12)
    assert t["split"] == {"strategy": "SHARES", "owners": {"1": "1", "2": "3"}}
    assert client.get(f"{R}/{t['id']}", headers=admin).json() == t
    assert [x["id"] for x in client.get(R, headers=admin).json()] == [t["id"]]
    r = client.patch(f"{R}/{t['id']}", json={"amount": "6500.00", "vendor": None}, headers=admin)
    assert r.status_code == 200, r.text
    assert (r.json()["amount"], r.json()["vendor"], r.json()["version"]) == ("6500.00", None, 2)
    assert client.delete(f"{R}/{t['id']}", headers=admin).status_code == 204
    assert client.get(f"{R}/{t['id']}", headers=admin).json()["active"] is False
    assert [a.action for a in audit(cid) if a.entity == "recurring_expense"] == [
        "recurring_expense.create",
        "recurring_expense.update",
        "recurring_expense.deactivate",
    ]
    other = new_community(client)
    assert client.get(f"{R}/{t['id']}", headers=other["headers"]).status_code == 404


@pytest.mark.parametrize(
    ("body", "needle"),
    [
        ({"amount": "0"}, "greater than zero"),
        ({"amount": "1.001"}, "decimals"),
        ({"amount": "1000000000000000000"}, "too large"),
        ({"payment_type": "  "}, "blank"),
        ({"day_of_month": 29}, "day_of_month"),
        ({"day_of_month": True}, "day_of_month"),
        ({"max_occurrences": 0}, "max_occurrences"),
        ({"end_date": "2025-10-01"}, "end_date"),
        ({"split": {"strategy": "EXACT", "owners": {"1": "1.00"}}}, "exact amounts total"),
        ({"split": {"strategy": "EQUAL", "owners": [3]}}, "not an active owner"),
        (
            {
                "amount": "100.00",
                "split": {"strategy": "ITEM_BASED", "items": [{"price": "150", "owner_id": 1}]},
            },
            "more than the expense amount",
        ),
        ({"colour": "red"}, "colour"),
    ],
)
def test_invalid_templates_are_400_and_store_nothing(client, village, body, needle):
    admin = village["admin"]
    before = counts(village["id"])
    data = {"amount": "10.00", "payment_type": "Guard", "start_date": "2025-11-01", **body}
    assert_problem(client.post(R, json=data, headers=admin), 400, needle)
    assert counts(village["id"]) == before
    assert (
        scalar(
            "SELECT count(*) FROM recurring_expense_templates WHERE community_id = :c",
            c=village["id"],
        )
        == 0
    )


def test_create_honours_idempotency_key(client, village):
    h = {**village["admin"], "Idempotency-Key": "monthly-guard"}
    body = {"amount": "10.00", "payment_type": "Guard"}
    a, b = client.post(R, json=body, headers=h), client.post(R, json=body, headers=h)
    assert (a.status_code, b.status_code) == (201, 201) and a.json() == b.json()


# ---------------------------------------------------------------- generation


def test_generated_once_in_each_open_period_and_allocated(client, village):
    admin, cid, nov = village["admin"], village["id"], village["nov"]
    t = template(client, admin, paid_by_owner_id=1, day_of_month=5)
    generate(at("2025-11-04"))  # not its day yet
    assert expenses(cid) == {}
    assert generate(at("2025-11-05")) == 1
    assert generate(at("2025-11-06")) == 0  # never twice
    assert expenses(cid) == {nov: [(600000, "Охрана", date(2025, 11, 5))]}
    # posted like any expense: the payer's ledger entry, the audit, the sheet's allocation
    assert (
        scalar(
            "SELECT sum(amount_minor) FROM ledger_entries WHERE community_id = :c "
            "AND kind = 'EXPENSE_PAID'",
            c=cid,
        )
        == 600000
    )
    assert len(audit(cid, "expense.create")) == 1
    assert len(audit(cid, "recurring_expense.generate")) == 1
    sheet = client.get(f"{P}/{nov}/balance-sheet", headers=admin).json()
    rows = {e["owner_id"]: e for e in sheet["entries"]}
    assert (rows[1]["total_allocated"], rows[2]["total_allocated"]) == ("2000.00", "4000.00")
    assert rows[1]["balance"] == "4000.00"
    got = client.get(f"{R}/{t['id']}", headers=admin).json()
    assert (got["occurrences"], got["occurrences_left"]) == (1, None)
    # a new period gets its own occurrence, once
    dec = mkperiod(client, admin, "December 2025", "2025-12-01", "2025-12-31")
    generate(at("2025-12-05"))
    generate(at("2025-12-06"))
    assert set(expenses(cid)) == {nov, dec} and len(expenses(cid)[dec]) == 1


def test_a_split_is_carried_into_each_expense(client, village):
    admin, cid, nov = village["admin"], village["id"], village["nov"]
    template(
        client,
        admin,
        amount="100.00",
        split={"strategy": "EXACT", "owners": {"1": "30", "2": "70"}},
    )
    generate(at("2025-11-02"))
    stored = sql("SELECT split FROM expenses WHERE community_id = :c", c=cid)[0][0]
    assert stored == {"strategy": "EXACT", "owners": {"1": "30.00", "2": "70.00"}}
    sheet = client.get(f"{P}/{nov}/balance-sheet", headers=admin).json()
    assert {e["owner_id"]: e["total_allocated"] for e in sheet["entries"]} == {
        1: "30.00",
        2: "70.00",
    }


def test_catch_up_after_downtime_stops_at_max_occurrences(client, village):
    admin, cid, nov = village["admin"], village["id"], village["nov"]
    oct_ = mkperiod(client, admin, "October 2025", "2025-10-01", "2025-10-31")
    dec = mkperiod(client, admin, "December 2025", "2025-12-01", "2025-12-31")
    jan = mkperiod(client, admin, "January 2026", "2026-01-01", "2026-01-31")
    capped = template(
        client, admin, payment_type="Internet", start_date="2025-10-01", max_occurrences=2
    )
    template(client, admin, payment_type="Refuse", start_date="2025-10-15", end_date="2025-12-31")
    # nothing ran for months: one sweep on 10 January catches up every OPEN period due by then
    generate(at("2026-01-10"))
    got = {(p, pt) for p, rows in expenses(cid).items() for _, pt, _ in rows}
    assert got == {
        (oct_, "Internet"),
        (nov, "Internet"),  # the two earliest periods, then no occurrences left
        (nov, "Refuse"),  # October's day (the 1st) is before the template starts
        (dec, "Refuse"),
    }
    assert client.get(f"{R}/{capped['id']}", headers=admin).json()["occurrences_left"] == 0
    generate(at("2026-01-11"))
    assert sum(len(v) for v in expenses(cid).values()) == 4
    assert jan not in expenses(cid)


def test_a_deleted_generated_expense_is_not_generated_again(client, village):
    admin, cid = village["admin"], village["id"]
    template(client, admin)
    generate(at("2025-11-02"))
    eid = sql("SELECT id FROM expenses WHERE community_id = :c", c=cid)[0][0]
    assert client.delete(f"{PAYMENTS}/expenses/{eid}", headers=admin).status_code == 204
    generate(at("2025-11-03"))
    assert expenses(cid) == {}


def test_a_closed_period_gets_none_and_a_reopened_one_gets_it_once(client, village):
    admin, cid, nov = village["admin"], village["id"], village["nov"]
    set_period_status(nov, "CLOSED")
    template(client, admin)
    generate(at("2025-11-20"))
    assert expenses(cid) == {}
    set_period_status(nov, "OPEN")
    generate(at("2025-11-21"))
    generate(at("2025-11-22"))
    assert list(expenses(cid)) == [nov] and len(expenses(cid)[nov]) == 1


def test_concurrent_sweeps_generate_once_and_respect_max(client, village):
    admin, cid = village["admin"], village["id"]
    mkperiod(client, admin, "December 2025", "2025-12-01", "2025-12-31")
    template(client, admin, payment_type="A")
    template(client, admin, payment_type="B", max_occurrences=1)
    concurrently(6, lambda _: generate(at("2025-12-15")))  # any error in a sweep fails the test
    per_type = sql(
        "SELECT payment_type, count(*) FROM expenses WHERE community_id = :c GROUP BY 1", c=cid
    )
    runs = sql(
        "SELECT t.payment_type, r.period_id, r.expense_id FROM recurring_expense_runs r "
        "JOIN recurring_expense_templates t ON t.id = r.template_id WHERE t.community_id = :c",
        c=cid,
    )
    assert dict(per_type) == {"A": 2, "B": 1}, (per_type, runs)
    assert len(audit(cid, "recurring_expense.generate")) == 3, runs


def test_a_template_whose_split_no_longer_fits_is_skipped_and_others_go_on(client, village):
    admin, cid, nov = village["admin"], village["id"], village["nov"]
    template(client, admin, payment_type="Pair", split={"strategy": "EQUAL", "owners": [1, 2]})
    template(client, admin, payment_type="All")
    r = client.patch(f"{PAYMENTS}/owners/2", json={"is_active": False}, headers=admin)
    assert r.status_code == 200, r.text
    assert generate(at("2025-11-02")) == 1
    assert [pt for _, pt, _ in expenses(cid)[nov]] == ["All"]
    client.patch(f"{PAYMENTS}/owners/2", json={"is_active": True}, headers=admin)
    assert generate(at("2025-11-03")) == 1  # retried on the next sweep
    assert sorted(pt for _, pt, _ in expenses(cid)[nov]) == ["All", "Pair"]


def test_the_scheduler_sweep_runs_the_generation(client, village):
    from kopilka.scheduler import sweep

    template(client, village["admin"])
    out = sweep(at("2025-11-02"))
    assert out["recurring_expenses"] >= 1
    assert list(expenses(village["id"])) == [village["nov"]]


def test_the_celery_worker_sweep_generates_into_this_months_period(client, worker_stack):
    """The beat's task, run by a real Celery worker at the real time."""
    from kopilka_worker.app import celery_app

    c = new_community(client, timezone="UTC")
    admin = c["headers"]
    post(client, admin, "/owners", {"owner_id": 1})
    today = datetime.now(UTC).date()
    first = today.replace(day=1)
    last = (first + timedelta(days=32)).replace(day=1) - timedelta(days=1)
    pid = mkperiod(client, admin, "This month", str(first), str(last))
    template(client, admin, start_date=str(first), day_of_month=1)
    celery_app.send_task("kopilka.sweep", queue=worker_stack["env"]["KOPILKA_QUEUE"])
    deadline = time.monotonic() + 60
    while not expenses(c["id"]) and time.monotonic() < deadline:
        time.sleep(0.3)
    assert expenses(c["id"]) == {pid: [(600000, "Охрана", first)]}
