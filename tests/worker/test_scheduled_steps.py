"""Issue 13, items 2-4: scheduled steps per community, rollover through the close path once,
recurring charges before rollover. With a real Celery worker and relay."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from prometheus_client import REGISTRY

from kopilka.scheduler import sweep
from tests.api._support import PAYMENTS, assert_problem, mkperiod, post, sql
from tests.conftest import new_community, unique_id

pytestmark = pytest.mark.usefixtures("worker_stack")

P = f"{PAYMENTS}/periods"


def rollover_jobs(community_id: int) -> list[int]:
    return [
        r[0]
        for r in sql(
            "SELECT id FROM jobs WHERE community_id = :c AND kind = 'rollover_period' ORDER BY id",
            c=community_id,
        )
    ]


def status(client: Any, admin: dict[str, str], pid: int) -> str:
    return str(client.get(f"{P}/{pid}", headers=admin).json()["status"])


# ---------------------------------------------------------------- item 2


def test_a_template_whose_derived_charge_cannot_be_stored_is_400(client, admin):
    before = sql("SELECT count(*) FROM recurring_charge_templates")[0][0]
    r = client.post(
        f"{PAYMENTS}/recurring-charges",
        json={"description": "Huge", "amount": "99999999999.00", "basis": "PER_SHARE_WEIGHT"},
        headers=admin,
    )
    assert_problem(r, 400, "share weight")
    assert sql("SELECT count(*) FROM recurring_charge_templates")[0][0] == before
    ok = client.post(
        f"{PAYMENTS}/recurring-charges",
        json={"description": "Per m2", "amount": "999999.99", "basis": "PER_SHARE_WEIGHT"},
        headers=admin,
    )
    assert ok.status_code == 201, ok.text
    r = client.patch(
        f"{PAYMENTS}/recurring-charges/{ok.json()['id']}",
        json={"amount": "1000000.00"},
        headers=admin,
    )
    assert_problem(r, 400, "share weight")


def _failures(step: str) -> float:
    return REGISTRY.get_sample_value("kopilka_scheduled_step_failures_total", {"step": step}) or 0.0


def test_one_communitys_failing_step_stops_no_other_and_is_visible(client, wait_job):
    bad = new_community(client)
    good = new_community(client)
    now = datetime(2026, 3, 2, 12, tzinfo=UTC)
    for c in (bad, good):
        mkperiod(client, c["headers"], "March 2026", "2026-03-01", "2026-03-31")
    # a template written before its derived charge was checked: 99,999,999,999.00 per unit of
    # share weight for an owner of share weight 1,000,000 overflows BIGINT
    heavy = unique_id()
    post(client, bad["headers"], "/owners", {"owner_id": heavy, "share_weight": "1000000"})
    sql(
        "INSERT INTO recurring_charge_templates (community_id, description, amount_minor, basis,"
        " day_of_month, start_date, active, created_by) VALUES (:c, 'Overflow',"
        " 9999999999900, 'PER_SHARE_WEIGHT', 1, '2026-01-01', true, 'legacy')",
        c=bad["id"],
    )
    post(
        client,
        good["headers"],
        "/recurring-charges",
        {"description": "Security", "amount": "500.00", "start_date": "2026-01-01"},
    )
    post(client, good["headers"], "/owners", {"owner_id": unique_id()})
    failures = _failures("recurring_charges")

    out = sweep(now)

    # the other community got its charge
    assert (
        sql(
            "SELECT count(*) FROM service_charges WHERE community_id = :c "
            "AND recurring_template_id IS NOT NULL",
            c=good["id"],
        )[0][0]
        == 1
    )
    assert {"step": "recurring_charges", "community_id": bad["id"]} in [
        {k: f[k] for k in ("step", "community_id")} for f in out["failed"]
    ]
    # the failing community's admins see it, with the step and the reason; others do not
    r = client.get("/api/jobs?status=FAILED", headers=bad["headers"])
    assert r.status_code == 200, r.text
    failed = [j for j in r.json() if j["kind"] == "scheduled:recurring_charges"]
    assert len(failed) == 1, r.json()
    assert "recurring_charges" in failed[0]["error"] and "Error" in failed[0]["error"]
    assert client.get("/api/jobs?status=FAILED", headers=good["headers"]).json() == []
    assert _failures("recurring_charges") == failures + 1
    sweep(now)  # failing again the same day: still one job row, the metric counts both
    r = client.get("/api/jobs?status=FAILED", headers=bad["headers"])
    assert len([j for j in r.json() if j["kind"] == "scheduled:recurring_charges"]) == 1
    assert _failures("recurring_charges") == failures + 2
    sql("UPDATE recurring_charge_templates SET active = false WHERE community_id = :c", c=bad["id"])


# ---------------------------------------------------------------- items 3 and 4


def test_a_recurring_charge_is_generated_before_rollover_closes_its_period(client, wait_job):
    c = new_community(client, rollover="MONTHLY")
    admin = c["headers"]
    oct_id = mkperiod(client, admin, "October 2025", "2025-10-01", "2025-10-31")
    owner = unique_id()
    post(client, admin, "/owners", {"owner_id": owner})
    post(
        client,
        admin,
        "/recurring-charges",
        {"description": "Fee", "amount": "100.00", "start_date": "2025-09-01"},
    )
    sweep(datetime(2025, 11, 2, 12, tzinfo=UTC))
    [job] = rollover_jobs(c["id"])
    assert wait_job(job, admin)["status"] == "SUCCEEDED"
    assert status(client, admin, oct_id) == "CLOSED"
    sheet = client.get(f"{P}/{oct_id}/balance-sheet", headers=admin).json()
    assert {e["owner_id"]: e["total_service_charges"] for e in sheet["entries"]} == {
        owner: "100.00"
    }


def test_rollover_closes_a_period_once_and_leaves_a_reopened_one_to_people(client, wait_job):
    c = new_community(client, rollover="MONTHLY")
    admin = c["headers"]
    oct_id = mkperiod(client, admin, "October 2025", "2025-10-01", "2025-10-31")
    post(client, admin, f"/periods/{oct_id}/contributions", {"owner_id": 7, "amount": "10"})
    day = datetime(2025, 11, 2, 12, tzinfo=UTC)
    sweep(day)
    [job] = rollover_jobs(c["id"])
    assert wait_job(job, admin)["status"] == "SUCCEEDED"
    r = client.post(f"{P}/{oct_id}/reopen", headers=admin)
    assert r.status_code == 200, r.text
    for later in (day + timedelta(days=1), day + timedelta(days=2)):
        sweep(later)
    assert rollover_jobs(c["id"]) == [job]
    assert status(client, admin, oct_id) == "OPEN"
    # a person closes it again; the chain into November is recomputed by that close
    r = client.post(f"{P}/{oct_id}/close", headers={**admin, "Prefer": "wait=60"})
    assert r.status_code == 200 and r.json()["status"] == "SUCCEEDED", r.text


def test_rollover_takes_the_close_path_recompute_and_the_one_target_rule(client, wait_job):
    """A period closed and carried forward by a person, reopened, and (legacy data) not marked
    as closed before: the rollover's close recomputes the chain like POST /close, and does not
    carry into a second target."""
    c = new_community(client, rollover="MONTHLY")
    admin = c["headers"]
    sep = mkperiod(client, admin, "September 2025", "2025-09-01", "2025-09-30")
    dec = mkperiod(client, admin, "December 2025", "2025-12-01", "2025-12-31")
    post(client, admin, f"/periods/{sep}/contributions", {"owner_id": 7, "amount": "10"})
    r = client.post(f"{P}/{sep}/close", headers={**admin, "Prefer": "wait=60"})
    assert r.json()["status"] == "SUCCEEDED", r.text
    r = client.post(
        f"{P}/carry-forward",
        json={"from_period_id": sep, "to_period_id": dec},
        headers={**admin, "Prefer": "wait=60"},
    )
    assert r.json()["status"] == "SUCCEEDED", r.text
    assert client.post(f"{P}/{sep}/reopen", headers=admin).status_code == 200
    post(client, admin, f"/periods/{sep}/contributions", {"owner_id": 7, "amount": "5"})
    sql("UPDATE periods SET first_closed_at = NULL WHERE id = :p", p=sep)  # legacy row

    sweep(datetime(2025, 10, 2, 12, tzinfo=UTC))
    [job] = rollover_jobs(c["id"])
    done = wait_job(job, admin)
    assert done["status"] == "SUCCEEDED", done
    assert done["result"]["close"]["recomputed_periods"] == [dec]
    assert "already carried forward" in done["result"]["carry_forward"]["skipped"]
    opening = client.get(f"{P}/{dec}/opening-transactions", headers=admin).json()
    assert [o["amount"] for o in opening["opening_contributions"]] == ["15.00"]
    links = sql("SELECT to_period_id FROM carry_forwards WHERE from_period_id = :p", p=sep)
    assert [r[0] for r in links] == [dec]
