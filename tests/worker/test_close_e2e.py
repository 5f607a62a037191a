"""End to end with a real Celery worker and relay: close, carry-forward, reopen, rollover."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest
from sqlalchemy import func, select, text

from kopilka.db import transaction
from kopilka.models import AuditEntry, Invoice, Job, Period
from kopilka.periods.closing import check_stored
from tests.api._support import mkperiod, usage_budget_item
from tests.conftest import new_community

pytestmark = pytest.mark.usefixtures("worker_stack")

P = "/api/payments/periods"


def seed(client: Any, admin: dict[str, str], pid: int) -> None:
    """The seeds' worked example: two owners, SECURITY paid by owner 1, proportional."""
    for owner, amount in ((101, "500.00"), (102, "500.00")):
        r = client.post(
            f"{P}/{pid}/contributions", json={"owner_id": owner, "amount": amount}, headers=admin
        )
        assert r.status_code == 201, r.text
    r = client.post(
        f"{P}/{pid}/expenses",
        json={"paid_by_owner_id": 101, "amount": "200.00", "payment_type": "SECURITY"},
        headers=admin,
    )
    assert r.status_code == 201, r.text
    r = client.post(f"{P}/{pid}/charges", json={"owner_id": 102, "amount": "50.00"}, headers=admin)
    assert r.status_code == 201, r.text


def close(client: Any, admin: dict[str, str], pid: int, wait: int = 60) -> dict[str, Any]:
    r = client.post(f"{P}/{pid}/close", headers={**admin, "Prefer": f"wait={wait}"})
    assert r.status_code == 200, r.text
    return dict(r.json())


def sheet(client: Any, admin: dict[str, str], pid: int) -> dict[str, Any]:
    r = client.get(f"{P}/{pid}/balance-sheet", headers=admin)
    assert r.status_code == 200, r.text
    return dict(r.json())


def test_close_stores_the_preview_and_refuses_later_writes(client, community, admin, wait_job):
    pid = mkperiod(client, admin, "Nov", "2025-11-01", "2025-11-30")
    seed(client, admin, pid)
    preview = sheet(client, admin, pid)

    r = client.post(f"{P}/{pid}/close", headers=admin)
    assert r.status_code == 202
    job = r.json()
    assert r.headers["Location"] == f"/api/jobs/{job['id']}"
    assert job["kind"] == "close_period" and job["status"] in ("PENDING", "RUNNING", "SUCCEEDED")
    # CLOSING is set by the request itself: nothing slips in.
    assert client.get(f"{P}/{pid}", headers=admin).json()["status"] in ("CLOSING", "CLOSED")

    done = wait_job(job["id"], admin)
    assert done["status"] == "SUCCEEDED", done
    assert done["result"]["total_allocated"] == "200.00"
    period = client.get(f"{P}/{pid}", headers=admin).json()
    assert period["status"] == "CLOSED" and period["closed_at"]

    stored = sheet(client, admin, pid)
    assert stored["status"] == "CLOSED"
    preview["status"] = "CLOSED"
    assert stored == preview
    by_owner = {e["owner_id"]: e for e in stored["entries"]}
    assert by_owner[101]["balance"] == "600.00"  # 500 + 200 paid - 100 allocated
    assert by_owner[102]["balance"] == "350.00"  # 500 - 100 allocated - 50 charge

    r = client.post(
        f"{P}/{pid}/contributions", json={"owner_id": 101, "amount": "1.00"}, headers=admin
    )
    assert r.status_code == 409
    assert "Nov" in r.json()["detail"] and "CLOSED" in r.json()["detail"]
    r = client.post(f"{P}/{pid}/close", headers=admin)
    assert r.status_code == 409

    with transaction() as s:
        p = s.get(Period, pid)
        assert check_stored(s, p) == []
        invoices = (
            s.execute(select(Invoice.amount_minor).where(Invoice.period_id == pid)).scalars().all()
        )
        assert sorted(invoices) == [10000, 15000]  # allocations (+ the charge for 102)


def test_a_weight_change_moves_open_previews_only(client, community, admin):
    pid = mkperiod(client, admin, "Nov", "2025-11-01", "2025-11-30")
    seed(client, admin, pid)
    close(client, admin, pid)
    before = sheet(client, admin, pid)
    r = client.patch("/api/payments/owners/101", json={"share_weight": "3"}, headers=admin)
    assert r.status_code == 200, r.text
    assert sheet(client, admin, pid) == before


def test_carry_forward_twice_counts_once(client, community, admin, wait_job):
    p1 = mkperiod(client, admin, "Nov", "2025-11-01", "2025-11-30")
    p2 = mkperiod(client, admin, "Dec", "2025-12-01", "2025-12-31")
    seed(client, admin, p1)
    close(client, admin, p1)
    for _ in range(2):
        r = client.post(
            f"{P}/carry-forward",
            json={"from_period_id": p1, "to_period_id": p2},
            headers={**admin, "Prefer": "wait=60"},
        )
        assert r.status_code == 200, r.text
        assert r.json()["status"] == "SUCCEEDED", r.json()
    s2 = sheet(client, admin, p2)
    by_owner = {e["owner_id"]: e for e in s2["entries"]}
    assert by_owner[101]["opening_balance"] == "600.00"
    assert by_owner[102]["opening_balance"] == "350.00"
    assert by_owner[101]["balance"] == "600.00"
    opening = client.get(f"{P}/{p2}/opening-transactions", headers=admin).json()
    assert len(opening["opening_contributions"]) == 2
    assert opening["from_period_id"] == p1
    # closing of one period equals opening of the next
    s1 = sheet(client, admin, p1)
    assert {e["owner_id"]: e["balance"] for e in s1["entries"]} == {
        e["owner_id"]: e["opening_balance"] for e in s2["entries"]
    }


def test_carry_forward_state_rules(client, community, admin):
    p1 = mkperiod(client, admin, "Nov", "2025-11-01", "2025-11-30")
    p2 = mkperiod(client, admin, "Dec", "2025-12-01", "2025-12-31")
    r = client.post(
        f"{P}/carry-forward", json={"from_period_id": p1, "to_period_id": p2}, headers=admin
    )
    assert r.status_code == 409 and "must be CLOSED" in r.json()["detail"]
    r = client.post(
        f"{P}/carry-forward", json={"from_period_id": p2, "to_period_id": p1}, headers=admin
    )
    assert r.status_code == 400
    other = new_community(client)
    r = client.post(
        f"{P}/carry-forward",
        json={"from_period_id": p1, "to_period_id": p2},
        headers=other["headers"],
    )
    assert r.status_code == 404


def test_reopen_correct_and_close_again_recomputes_the_chain(client, community, admin):
    p1 = mkperiod(client, admin, "Nov", "2025-11-01", "2025-11-30")
    p2 = mkperiod(client, admin, "Dec", "2025-12-01", "2025-12-31")
    p3 = mkperiod(client, admin, "Jan", "2026-01-01", "2026-01-31")
    seed(client, admin, p1)
    close(client, admin, p1)
    client.post(
        f"{P}/carry-forward",
        json={"from_period_id": p1, "to_period_id": p2},
        headers={**admin, "Prefer": "wait=60"},
    )
    client.post(f"{P}/{p2}/charges", json={"owner_id": 101, "amount": "10.00"}, headers=admin)
    close(client, admin, p2)
    client.post(
        f"{P}/carry-forward",
        json={"from_period_id": p2, "to_period_id": p3},
        headers={**admin, "Prefer": "wait=60"},
    )
    assert {e["owner_id"]: e["opening_balance"] for e in sheet(client, admin, p3)["entries"]} == {
        101: "590.00",
        102: "350.00",
    }

    r = client.post(f"{P}/{p1}/reopen", headers=admin)
    assert r.status_code == 200 and r.json()["status"] == "OPEN"
    with transaction() as s:
        voided = s.scalar(
            select(func.count())
            .select_from(Invoice)
            .where(Invoice.period_id == p1, Invoice.voided_at.is_not(None))
        )
        assert voided == 2
    r = client.post(
        f"{P}/{p1}/contributions", json={"owner_id": 102, "amount": "100.00"}, headers=admin
    )
    assert r.status_code == 201
    done = close(client, admin, p1)
    assert done["status"] == "SUCCEEDED"
    assert done["result"]["recomputed_periods"] == [p2, p3]

    assert sheet(client, admin, p2)["status"] == "CLOSED"
    s2 = {e["owner_id"]: e for e in sheet(client, admin, p2)["entries"]}
    assert s2[102]["opening_balance"] == "450.00"
    assert s2[102]["balance"] == "450.00"
    assert {e["owner_id"]: e["opening_balance"] for e in sheet(client, admin, p3)["entries"]} == {
        101: "590.00",
        102: "450.00",
    }
    with transaction() as s:
        for pid in (p1, p2):
            assert check_stored(s, s.get(Period, pid)) == []
        live = s.scalar(
            select(func.count())
            .select_from(Invoice)
            .where(Invoice.period_id == p1, Invoice.voided_at.is_(None))
        )
        assert live == 2


def test_a_failed_close_leaves_the_period_open(client, community, admin):
    pid = mkperiod(client, admin, "Nov", "2025-11-01", "2025-11-30")
    usage_budget_item(client, admin, pid, "WATER", "WATER", "100.00")
    client.post(f"{P}/{pid}/contributions", json={"owner_id": 7, "amount": "100.00"}, headers=admin)
    client.post(
        f"{P}/{pid}/expenses", json={"amount": "100.00", "payment_type": "water"}, headers=admin
    )
    done = close(client, admin, pid)
    assert done["status"] == "FAILED"
    assert "zero total consumption" in done["error"]
    assert client.get(f"{P}/{pid}", headers=admin).json()["status"] == "OPEN"
    with transaction() as s:
        assert (
            s.scalar(text("SELECT count(*) FROM period_balances WHERE period_id = :p"), {"p": pid})
            == 0
        )
        assert (
            s.scalar(text("SELECT count(*) FROM allocations WHERE period_id = :p"), {"p": pid}) == 0
        )
        assert s.scalar(text("SELECT count(*) FROM invoices WHERE period_id = :p"), {"p": pid}) == 0
        reasons = s.scalars(
            select(AuditEntry.after).where(
                AuditEntry.entity == "period",
                AuditEntry.entity_id == str(pid),
                AuditEntry.action == "period.close_failed",
            )
        ).all()
        assert reasons and "zero total consumption" in reasons[0]["error"]
    # fix it and close again
    client.post(
        f"{P}/{pid}/meter-readings",
        json={"owner_id": 7, "meter_type": "WATER", "start_reading": 0, "end_reading": 10},
        headers=admin,
    )
    assert close(client, admin, pid)["status"] == "SUCCEEDED"


def test_rollover_sweep_twice_and_concurrently_runs_once(client, wait_job):
    import threading

    from kopilka.scheduler import sweep

    c = new_community(client, rollover="MONTHLY")
    admin = c["headers"]
    p1 = mkperiod(client, admin, "October 2025", "2025-10-01", "2025-10-31")
    seed(client, admin, p1)
    now = datetime(2025, 11, 2, 12, tzinfo=UTC)
    threads = [threading.Thread(target=sweep, args=(now,)) for _ in range(3)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    sweep(now)
    with transaction() as s:
        job_ids = s.scalars(
            select(Job.id).where(Job.community_id == c["id"], Job.kind == "rollover_period")
        ).all()
    assert len(job_ids) == 1
    done = wait_job(job_ids[0], admin)
    assert done["status"] == "SUCCEEDED", done
    periods = client.get(P, headers=admin).json()["periods"]
    assert [(p["name"], p["status"]) for p in periods] == [
        ("October 2025", "CLOSED"),
        ("November 2025", "OPEN"),
    ]
    nov = periods[1]
    assert (nov["start_date"], nov["end_date"]) == ("2025-11-01", "2025-11-30")
    entries = {
        e["owner_id"]: e["opening_balance"] for e in sheet(client, admin, nov["id"])["entries"]
    }
    assert entries == {101: "600.00", 102: "350.00"}
    sweep(now)  # again: nothing more
    with transaction() as s:
        assert (
            s.scalar(select(func.count()).select_from(Job).where(Job.community_id == c["id"])) == 1
        )


def test_prefer_wait_returns_202_when_the_job_is_slower(client, community, admin):
    pid = mkperiod(client, admin, "Nov", "2025-11-01", "2025-11-30")
    r = client.post(f"{P}/{pid}/close", headers={**admin, "Prefer": "wait=0"})
    assert r.status_code == 202
    r2 = client.get(r.headers["Location"], headers={**admin, "Prefer": "wait=30"})
    assert r2.json()["status"] == "SUCCEEDED"
    other = new_community(client)
    assert client.get(r.headers["Location"], headers=other["headers"]).status_code == 404
