"""Answers the seed documents promise (SPEC §2, §6): job results carry amounts as decimal strings,
never minor units (close, carry-forward, re-close after reopen with its recomputed chain,
rollover); the carry-forward result has ``carried_forward_owners``, ``total_carried`` and
``message``; opening transactions have ``total_opening_contributions`` and
``total_opening_charges``."""

from __future__ import annotations

import re
from datetime import UTC, datetime
from typing import Any

import pytest
from sqlalchemy import select

from kopilka.db import transaction
from kopilka.models import Job
from tests.api._support import mkperiod
from tests.conftest import new_community

pytestmark = pytest.mark.usefixtures("worker_stack")

P = "/api/payments/periods"
AMOUNT = re.compile(r"^-?\d+\.\d{2}$")


def no_minor_units(value: Any, where: str = "result") -> None:
    """No key says minor units and no amount is an integer, at any depth."""
    if isinstance(value, dict):
        for k, v in value.items():
            assert not str(k).endswith("_minor"), f"{where}.{k}: minor units in an answer"
            # counts named like amounts (carried_forward_owners, totals_drifts) are not amounts
            if any(w in str(k) for w in ("total", "amount", "balance", "carried")) and not str(
                k
            ).endswith(("_owners", "_drifts")):
                assert isinstance(v, str) and AMOUNT.match(v), f"{where}.{k} = {v!r}"
            no_minor_units(v, f"{where}.{k}")
    elif isinstance(value, list):
        for i, v in enumerate(value):
            no_minor_units(v, f"{where}[{i}]")


def seed(client: Any, admin: dict[str, str], pid: int) -> None:
    """101 ends with a credit of 600.00, 102 with a debt of 300.00."""
    posts = [
        ("contributions", {"owner_id": 101, "amount": "500.00"}),
        ("contributions", {"owner_id": 102, "amount": "500.00"}),
        ("expenses", {"paid_by_owner_id": 101, "amount": "200.00", "payment_type": "SECURITY"}),
        ("charges", {"owner_id": 102, "amount": "700.00", "description": "Repair"}),
    ]
    for what, body in posts:
        r = client.post(f"{P}/{pid}/{what}", json=body, headers=admin)
        assert r.status_code == 201, r.text


def finished(client: Any, admin: dict[str, str], r: Any) -> dict[str, Any]:
    assert r.status_code in (200, 202), r.text
    job = r.json()
    if job["status"] not in ("SUCCEEDED", "FAILED"):
        job = client.get(f"/api/jobs/{job['id']}", headers={**admin, "Prefer": "wait=60"}).json()
    assert job["status"] == "SUCCEEDED", job
    return dict(job)


def close(client: Any, admin: dict[str, str], pid: int) -> dict[str, Any]:
    return finished(
        client, admin, client.post(f"{P}/{pid}/close", headers={**admin, "Prefer": "wait=60"})
    )


def carry(client: Any, admin: dict[str, str], src: int, dst: int) -> dict[str, Any]:
    r = client.post(
        f"{P}/carry-forward",
        json={"from_period_id": src, "to_period_id": dst},
        headers={**admin, "Prefer": "wait=60"},
    )
    return finished(client, admin, r)


def test_close_and_carry_forward_answer_decimal_strings_as_the_seeds_do(client, community, admin):
    p1 = mkperiod(client, admin, "November 2025", "2025-11-01", "2025-11-30")
    seed(client, admin, p1)
    closed = close(client, admin, p1)["result"]
    no_minor_units(closed)
    assert closed["total_expenses"] == "200.00" and closed["total_allocated"] == "200.00"

    p2 = mkperiod(client, admin, "December 2025", "2025-12-01", "2025-12-31")
    result = carry(client, admin, p1, p2)["result"]
    no_minor_units(result)
    assert result["carried_forward_owners"] == {"101": "600.00", "102": "-300.00"}
    assert result["total_carried"] == "300.00"
    assert result["message"] == "Successfully carried forward 2 owner balances"
    assert (result["from_period_id"], result["to_period_id"]) == (p1, p2)

    r = client.get(f"{P}/{p2}/opening-transactions", headers=admin)
    assert r.status_code == 200, r.text
    opening = r.json()
    assert opening["total_opening_contributions"] == "600.00"
    assert opening["total_opening_charges"] == "300.00"
    assert [c["amount"] for c in opening["opening_contributions"]] == ["600.00"]
    assert [c["amount"] for c in opening["opening_charges"]] == ["300.00"]
    no_minor_units(opening)

    # carried again: replaced, never doubled, and the answer says the same
    again = carry(client, admin, p1, p2)["result"]
    assert again["carried_forward_owners"] == result["carried_forward_owners"]
    r = client.get(f"{P}/{p2}/opening-transactions", headers=admin)
    assert r.json()["total_opening_contributions"] == "600.00"

    # reopen, correct, close again: the recompute of the chain answers strings too
    r = client.post(f"{P}/{p1}/reopen", headers=admin)
    assert r.status_code == 200, r.text
    no_minor_units(r.json())
    r = client.post(
        f"{P}/{p1}/contributions", json={"owner_id": 102, "amount": "100.00"}, headers=admin
    )
    assert r.status_code == 201, r.text
    reclosed = close(client, admin, p1)["result"]
    no_minor_units(reclosed)
    assert reclosed["recomputed_periods"] == [p2]
    r = client.get(f"{P}/{p2}/opening-transactions", headers=admin)
    assert r.json()["total_opening_charges"] == "200.00"


def test_an_empty_period_carries_nothing_and_says_so(client, community, admin):
    p1 = mkperiod(client, admin, "May 2025", "2025-05-01", "2025-05-31")
    close(client, admin, p1)
    p2 = mkperiod(client, admin, "June 2025", "2025-06-01", "2025-06-30")
    result = carry(client, admin, p1, p2)["result"]
    assert result["carried_forward_owners"] == {}
    assert result["total_carried"] == "0.00"
    assert result["message"] == "Successfully carried forward 0 owner balances"
    opening = client.get(f"{P}/{p2}/opening-transactions", headers=admin).json()
    assert opening["total_opening_contributions"] == opening["total_opening_charges"] == "0.00"


def test_a_zero_decimal_currency_answers_whole_units(client):
    c = new_community(client, currency="JPY", timezone="Asia/Tokyo")
    admin = c["headers"]
    p1 = mkperiod(client, admin, "Nov", "2025-11-01", "2025-11-30")
    for body in ({"owner_id": 1, "amount": "1000"}, {"owner_id": 2, "amount": "10"}):
        assert client.post(f"{P}/{p1}/contributions", json=body, headers=admin).status_code == 201
    close(client, admin, p1)
    p2 = mkperiod(client, admin, "Dec", "2025-12-01", "2025-12-31")
    result = carry(client, admin, p1, p2)["result"]
    assert result["carried_forward_owners"] == {"1": "1000", "2": "10"}
    assert result["total_carried"] == "1010"


def test_the_rollover_result_carries_strings(client):
    from kopilka.scheduler import sweep

    c = new_community(client, rollover="MONTHLY")
    admin = c["headers"]
    p1 = mkperiod(client, admin, "October 2025", "2025-10-01", "2025-10-31")
    seed(client, admin, p1)
    sweep(datetime(2025, 11, 2, 12, tzinfo=UTC))
    with transaction() as s:
        (job_id,) = s.scalars(
            select(Job.id).where(Job.community_id == c["id"], Job.kind == "rollover_period")
        ).all()
    job = client.get(f"/api/jobs/{job_id}", headers={**admin, "Prefer": "wait=60"}).json()
    assert job["status"] == "SUCCEEDED", job
    no_minor_units(job["result"])
    carried = job["result"]["carry_forward"]
    assert carried["carried_forward_owners"] == {"101": "600.00", "102": "-300.00"}
    assert carried["total_carried"] == "300.00"
    assert job["result"]["close"]["total_allocated"] == "200.00"
