"""Recurring charges (SPEC §4a): templates through the API, and the sweep that generates their
charges into each OPEN period once, however often and however concurrently it runs."""

from __future__ import annotations

from datetime import UTC, date, datetime
from typing import Any

import pytest

from kopilka.db import transaction
from kopilka.recurring.service import charge_date, generate_due_charges
from tests.api._support import (
    PAYMENTS,
    assert_problem,
    at,
    audit,
    concurrently,
    mkperiod,
    post,
    scalar,
    sql,
    three_owners,
)
from tests.conftest import new_community

R = f"{PAYMENTS}/recurring-charges"
P = f"{PAYMENTS}/periods"


def generate(now: datetime) -> int:
    with transaction() as s:
        return generate_due_charges(s, now)


def template(client: Any, admin: dict[str, str], **body: Any) -> dict[str, Any]:
    data = {"description": "Security", "amount": "500.00", "start_date": "2025-11-01", **body}
    return post(client, admin, "/recurring-charges", data)


def charges(community_id: int, period_id: int | None = None) -> dict[tuple[int, int], int]:
    """(period_id, owner_id) -> amount in minor units of the generated, live charges."""
    rows = sql(
        "SELECT sc.period_id, o.owner_id, sc.amount_minor FROM service_charges sc "
        "JOIN owners o ON o.id = sc.owner_pk "
        "WHERE sc.community_id = :c AND sc.recurring_template_id IS NOT NULL "
        "AND sc.deleted_at IS NULL AND (CAST(:p AS bigint) IS NULL OR sc.period_id = :p)",
        c=community_id,
        p=period_id,
    )
    return {(r.period_id, r.owner_id): r.amount_minor for r in rows}


@pytest.fixture
def village(client: Any) -> dict[str, Any]:
    """Owners 1 (weight 1), 2 (weight 2.5), 3 (inactive); November 2025 OPEN. Moscow time."""
    return three_owners(client, "2.5")


# ---------------------------------------------------------------- templates


def test_create_read_list_and_audit(client, village):
    admin = village["admin"]
    r = client.post(
        R,
        json={
            "description": "Security",
            "amount": 500,
            "basis": "per_share_weight",
            "day_of_month": 5,
            "start_date": "2025-11-01",
            "end_date": "2026-10-31",
        },
        headers=admin,
    )
    assert r.status_code == 201, r.text
    t = r.json()
    assert r.headers["Location"] == f"{R}/{t['id']}"
    assert {k: t[k] for k in ("amount", "basis", "day_of_month", "start_date", "end_date")} == {
        "amount": "500.00",
        "basis": "PER_SHARE_WEIGHT",
        "day_of_month": 5,
        "start_date": "2025-11-01",
        "end_date": "2026-10-31",
    }
    assert t["active"] is True and t["periods_generated"] == 0
    assert client.get(f"{R}/{t['id']}", headers=admin).json() == t
    assert [x["id"] for x in client.get(R, headers=admin).json()] == [t["id"]]
    entries = audit(village["id"], "recurring_charge.create")
    assert [e.entity_id for e in entries] == [str(t["id"])]
    assert entries[0].after["amount_minor"] == 50000
    other = new_community(client)
    assert_problem(client.get(f"{R}/{t['id']}", headers=other["headers"]), 404)
    assert client.get(R, headers=other["headers"]).json() == []


def test_start_date_defaults_to_today(client, village):
    t = post(client, village["admin"], "/recurring-charges", {"description": "Fee", "amount": "1"})
    assert abs((date.fromisoformat(t["start_date"]) - date.today()).days) <= 1
    assert t["basis"] == "PER_OWNER" and t["day_of_month"] == 1 and t["end_date"] is None


@pytest.mark.parametrize(
    ("body", "needle"),
    [
        ({"amount": "0"}, "amount"),
        ({"amount": "-5.00"}, "amount"),
        ({"amount": "1.001"}, "decimals"),
        ({"day_of_month": 29}, "day_of_month"),
        ({"day_of_month": 0}, "day_of_month"),
        ({"basis": "PER_SQUARE_METRE"}, "basis"),
        ({"start_date": "2025-11-10", "end_date": "2025-11-09"}, "end_date"),
        ({"description": "  "}, "description"),
    ],
)
def test_invalid_templates_are_400_and_store_nothing(client, village, body, needle):
    data = {"description": "Security", "amount": "500.00", "start_date": "2025-11-01", **body}
    assert_problem(client.post(R, json=data, headers=village["admin"]), 400, needle)
    assert (
        scalar(
            "SELECT count(*) FROM recurring_charge_templates WHERE community_id = :c",
            c=village["id"],
        )
        == 0
    )


def test_patch_and_delete_deactivate(client, village):
    admin = village["admin"]
    t = template(client, admin)
    r = client.patch(f"{R}/{t['id']}", json={"amount": "600.00", "day_of_month": 10}, headers=admin)
    assert r.status_code == 200, r.text
    assert (r.json()["amount"], r.json()["day_of_month"]) == ("600.00", 10)
    assert_problem(
        client.patch(f"{R}/{t['id']}", json={"end_date": "2025-10-01"}, headers=admin),
        400,
        "end_date",
    )
    assert_problem(client.patch(f"{R}/{t['id']}", json={"amount": None}, headers=admin), 400)
    assert client.delete(f"{R}/{t['id']}", headers=admin).status_code == 204
    assert client.delete(f"{R}/{t['id']}", headers=admin).status_code == 204  # idempotent
    got = client.get(f"{R}/{t['id']}", headers=admin).json()
    assert got["active"] is False
    assert client.get(R, params={"active": "true"}, headers=admin).json() == []
    assert [x["id"] for x in client.get(R, params={"active": "false"}, headers=admin).json()] == [
        t["id"]
    ]
    assert len(audit(village["id"], "recurring_charge.update")) == 1
    assert len(audit(village["id"], "recurring_charge.deactivate")) == 1
    # an inactive template generates nothing
    assert generate(at("2025-11-20")) >= 0
    assert charges(village["id"]) == {}
    # and reactivated, it does
    r = client.patch(f"{R}/{t['id']}", json={"active": True}, headers=admin)
    assert r.status_code == 200 and r.json()["active"] is True
    generate(at("2025-11-20"))
    assert charges(village["id"]) == {(village["nov"], 1): 60000, (village["nov"], 2): 60000}


def test_create_honours_idempotency_key(client, village):
    headers = {**village["admin"], "Idempotency-Key": "tmpl-1"}
    body = {"description": "Security", "amount": "500.00", "start_date": "2025-11-01"}
    first = client.post(R, json=body, headers=headers)
    again = client.post(R, json=body, headers=headers)
    assert first.status_code == again.status_code == 201
    assert again.json() == first.json()
    assert again.headers.get("Idempotent-Replayed") == "true"
    assert len(client.get(R, headers=village["admin"]).json()) == 1


# ---------------------------------------------------------------- generation


def test_charge_date():
    assert charge_date(date(2025, 11, 1), date(2025, 11, 30), 5) == date(2025, 11, 5)
    # a period starting mid-month: the first such day on or after its start
    assert charge_date(date(2025, 11, 15), date(2025, 12, 14), 1) == date(2025, 12, 1)
    assert charge_date(date(2025, 12, 15), date(2026, 1, 14), 20) == date(2025, 12, 20)
    # a period shorter than the wait: its last day
    assert charge_date(date(2025, 11, 10), date(2025, 11, 20), 5) == date(2025, 11, 20)
    # a quarter: in its first month
    assert charge_date(date(2026, 1, 1), date(2026, 3, 31), 28) == date(2026, 1, 28)


def test_generated_once_per_period_and_active_owner_on_its_day(client, village):
    admin, cid, nov = village["admin"], village["id"], village["nov"]
    t = template(client, admin, day_of_month=5)
    generate(at("2025-11-04"))  # 15:00 on the 4th in Moscow: not yet due
    assert charges(cid) == {}
    # 2025-11-04 22:00 UTC is already the 5th in Moscow
    generate(datetime(2025, 11, 4, 22, tzinfo=UTC))
    assert charges(cid) == {(nov, 1): 50000, (nov, 2): 50000}  # owner 3 is inactive
    for _ in range(3):
        generate(at("2025-11-20"))
    assert charges(cid) == {(nov, 1): 50000, (nov, 2): 50000}
    rows = sql(
        "SELECT sc.date, sc.description, le.kind, le.amount_minor, le.source_type "
        "FROM service_charges sc JOIN ledger_entries le "
        "  ON le.source_type = 'service_charge' AND le.source_id = sc.id "
        "WHERE sc.community_id = :c",
        c=cid,
    )
    assert {(r.date, r.description, r.kind, r.amount_minor, r.source_type) for r in rows} == {
        (date(2025, 11, 5), "Security", "SERVICE_CHARGE", 50000, "service_charge")
    }
    assert len(rows) == 2
    assert (
        scalar(
            "SELECT charges_created FROM recurring_charge_runs WHERE template_id = :t", t=t["id"]
        )
        == 2
    )
    assert client.get(f"{R}/{t['id']}", headers=admin).json()["periods_generated"] == 1
    # the charges are ordinary ones: listed, in the balance, and in the audit log
    listed = client.get(f"{P}/{nov}/charges", headers=admin).json()
    assert {c["recurring_template_id"] for c in listed} == {t["id"]}
    sheet = client.get(f"{P}/{nov}/balance-sheet", headers=admin).json()
    assert {e["owner_id"]: e["total_service_charges"] for e in sheet["entries"]} == {
        1: "500.00",
        2: "500.00",
    }
    generated = audit(cid, "recurring_charge.generate")
    assert len(generated) == 1 and generated[0].actor == "system:recurring"
    assert generated[0].after["charges_created"] == 2


def test_a_deleted_generated_charge_is_not_generated_again(client, village):
    admin, cid, nov = village["admin"], village["id"], village["nov"]
    template(client, admin)
    generate(at("2025-11-02"))
    doc = next(
        c for c in client.get(f"{P}/{nov}/charges", headers=admin).json() if c["owner_id"] == 1
    )
    assert client.delete(f"{PAYMENTS}/charges/{doc['id']}", headers=admin).status_code == 204
    generate(at("2025-11-03"))
    assert charges(cid) == {(nov, 2): 50000}


def test_concurrent_sweeps_generate_once(client, village):
    admin, cid, nov = village["admin"], village["id"], village["nov"]
    for i in range(3):
        template(client, admin, description=f"Fee {i}", amount=f"{i + 1}00.00")
    now = at("2025-11-15")
    concurrently(6, lambda _: generate(now))  # any error in a sweep fails the test
    assert (
        scalar(
            "SELECT count(*) FROM service_charges WHERE community_id = :c AND period_id = :p",
            c=cid,
            p=nov,
        )
        == 6
    )  # 3 templates x 2 active owners
    assert (
        scalar(
            "SELECT count(*) FROM recurring_charge_runs r JOIN recurring_charge_templates t "
            "ON t.id = r.template_id WHERE t.community_id = :c",
            c=cid,
        )
        == 3
    )
    assert (
        scalar(
            "SELECT count(*) FROM ledger_entries WHERE community_id = :c AND kind = 'SERVICE_CHARGE'",
            c=cid,
        )
        == 6
    )
    assert len(audit(cid, "recurring_charge.generate")) == 3


def test_catch_up_after_downtime_respects_start_and_end(client, village):
    admin, cid, nov = village["admin"], village["id"], village["nov"]
    oct_ = mkperiod(client, admin, "October 2025", "2025-10-01", "2025-10-31")
    dec = mkperiod(client, admin, "December 2025", "2025-12-01", "2025-12-31")
    jan = mkperiod(client, admin, "January 2026", "2026-01-01", "2026-01-31")
    # starts mid-October (October's charge day, the 1st, is before it) and ends with November
    template(client, admin, description="Road", start_date="2025-10-15", end_date="2025-11-30")
    # no end
    template(client, admin, description="Security", amount="10.00", start_date="2025-10-01")
    # nothing ran for months: one sweep on 10 January catches up every OPEN period due by then
    generate(at("2026-01-10"))
    got = sql(
        "SELECT sc.period_id, sc.description, count(*) AS n FROM service_charges sc "
        "WHERE sc.community_id = :c GROUP BY sc.period_id, sc.description",
        c=cid,
    )
    assert {(r.period_id, r.description): r.n for r in got} == {
        (nov, "Road"): 2,
        (oct_, "Security"): 2,
        (nov, "Security"): 2,
        (dec, "Security"): 2,
        (jan, "Security"): 2,
    }
    generate(at("2026-01-11"))
    assert scalar("SELECT count(*) FROM service_charges WHERE community_id = :c", c=cid) == 10


def test_a_future_period_waits_for_its_day(client, village):
    admin, cid, nov = village["admin"], village["id"], village["nov"]
    dec = mkperiod(client, admin, "December 2025", "2025-12-01", "2025-12-31")
    template(client, admin, day_of_month=1)
    generate(at("2025-11-20"))
    assert set(charges(cid)) == {(nov, 1), (nov, 2)}
    generate(at("2025-12-01", hour=6))
    assert set(charges(cid)) == {(nov, 1), (nov, 2), (dec, 1), (dec, 2)}


def test_per_share_weight_rounds_half_to_even(client):
    c = new_community(client)
    admin = c["headers"]
    weights = {1: "1", 2: "0.5", 3: "1.5", 4: "2.5", 5: "0.333333", 6: "0.004"}
    for owner, weight in weights.items():
        post(client, admin, "/owners", {"owner_id": owner, "share_weight": weight})
    nov = mkperiod(client, admin, "November 2025", "2025-11-01", "2025-11-30")
    template(client, admin, amount="1.01", basis="PER_SHARE_WEIGHT")
    generate(at("2025-11-02"))
    # 101 minor units per unit of weight: 101, 50.5 -> 50, 151.5 -> 152, 252.5 -> 252,
    # 33.666633 -> 34, 0.404 -> 0 (no charge)
    assert charges(c["id"], nov) == {
        (nov, 1): 101,
        (nov, 2): 50,
        (nov, 3): 152,
        (nov, 4): 252,
        (nov, 5): 34,
    }


def test_per_share_weight_in_a_currency_without_decimals(client):
    c = new_community(client, currency="JPY", timezone="Asia/Tokyo")
    admin = c["headers"]
    post(client, admin, "/owners", {"owner_id": 1, "share_weight": "1.25"})
    nov = mkperiod(client, admin, "November 2025", "2025-11-01", "2025-11-30")
    template(client, admin, amount="1000", basis="PER_SHARE_WEIGHT")
    generate(at("2025-11-02"))
    assert charges(c["id"], nov) == {(nov, 1): 1250}


@pytest.mark.usefixtures("worker_stack")
def test_a_closed_period_gets_none(client, village):
    admin, cid, nov = village["admin"], village["id"], village["nov"]
    r = client.post(f"{P}/{nov}/close", headers={**admin, "Prefer": "wait=60"})
    assert r.status_code == 200 and r.json()["status"] == "SUCCEEDED", r.text
    template(client, admin)
    generate(at("2025-11-20"))
    assert charges(cid) == {}
    # reopened, it is OPEN again and gets its charges once
    assert client.post(f"{P}/{nov}/reopen", headers=admin).status_code == 200
    generate(at("2025-11-21"))
    assert set(charges(cid)) == {(nov, 1), (nov, 2)}


def test_the_scheduler_sweep_runs_the_generation(client, village):
    from kopilka.scheduler import sweep

    template(client, village["admin"])
    out = sweep(at("2025-11-02"))
    assert out["recurring_charges"] >= 2
    assert set(charges(village["id"])) == {(village["nov"], 1), (village["nov"], 2)}
