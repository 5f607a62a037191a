"""Fault tests: kill -9 of the worker in the middle of closes, and Redis stopped during a burst.
Every job must end SUCCEEDED exactly once and the ledger invariants must hold.

Each test runs its own Redis server (so stopping it disturbs nothing else), relay and worker."""

from __future__ import annotations

import time
import uuid
from collections.abc import Iterator
from typing import Any

import pytest
from sqlalchemy import func, select, text

from kopilka.balances.reconcile import check_totals
from kopilka.db import transaction
from kopilka.models import AuditEntry, Job, Period
from kopilka.periods.closing import check_stored
from tests.conftest import new_community
from tests.support.processes import PrivateRedis, base_env, start_relay, start_worker, wait_until

pytestmark = pytest.mark.slow

OWNERS = 1500


@pytest.fixture
def private_stack(worker_stack: dict[str, Any]) -> Iterator[dict[str, Any]]:
    """Our own Redis, relay and worker. The session's shared relay and worker read the same
    job table, so they are paused meanwhile: only the processes under test deliver jobs."""
    worker_stack["worker"].stop()
    worker_stack["relay"].stop()
    redis = PrivateRedis()
    redis.start()
    env = base_env(
        REDIS_URL=redis.url,
        KOPILKA_QUEUE=f"faults-{uuid.uuid4().hex[:8]}",
        KOPILKA_REPUBLISH_AFTER="1",
    )
    relay = start_relay(env)
    worker = start_worker(env)
    stack = {"env": env, "redis": redis, "relay": relay, "worker": worker}
    yield stack
    stack["worker"].stop()
    relay.stop()
    redis.stop()
    worker_stack["relay"] = start_relay(worker_stack["env"])
    worker_stack["worker"] = start_worker(worker_stack["env"])


def seeded_period(client: Any) -> tuple[dict[str, Any], int]:
    """A community whose period has OWNERS owners with contributions, charges and expenses,
    loaded with set-based SQL so the close has real work to do."""
    c = new_community(client)
    r = client.post(
        "/api/payments/periods",
        json={"name": "Nov", "start_date": "2025-11-01", "end_date": "2025-11-30"},
        headers=c["headers"],
    )
    pid = r.json()["id"]
    with transaction() as s:
        s.execute(
            text(
                "INSERT INTO owners (community_id, owner_id, share_weight, language, is_active, version) "
                "SELECT :c, g, 1 + (g % 3), 'en', true, 1 FROM generate_series(1, :n) g"
            ),
            {"c": c["id"], "n": OWNERS},
        )
        s.execute(
            text(
                """
                WITH new AS (
                  INSERT INTO contributions (community_id, period_id, owner_pk, amount_minor, date, created_by, version)
                  SELECT :c, :p, id, 10000 + (owner_id % 7) * 13, '2025-11-05', 'test', 1
                  FROM owners WHERE community_id = :c RETURNING id, owner_pk, amount_minor)
                INSERT INTO ledger_entries (community_id, period_id, owner_pk, kind, amount_minor, source_type, source_id)
                SELECT :c, :p, owner_pk, 'CONTRIBUTION', amount_minor, 'contribution', id FROM new
                """
            ),
            {"c": c["id"], "p": pid},
        )
    for ptype, amount in (("SECURITY", "123456.78"), ("ROADS", "99999.99"), ("GARBAGE", "1000.01")):
        r = client.post(
            f"/api/payments/periods/{pid}/expenses",
            json={"amount": amount, "payment_type": ptype, "paid_by_owner_id": 1},
            headers=c["headers"],
        )
        assert r.status_code == 201, r.text
    client.post(
        f"/api/payments/periods/{pid}/budget-items",
        json={
            "payment_type": "ROADS",
            "budgeted_amount": "100000",
            "allocation_strategy": "FIXED_FEE",
        },
        headers=c["headers"],
    )
    return c, pid


def request_close(client: Any, c: dict[str, Any], pid: int) -> int:
    r = client.post(f"/api/payments/periods/{pid}/close", headers=c["headers"])
    assert r.status_code == 202, r.text
    return int(r.json()["id"])


def wait_all(job_ids: list[int], stack: dict[str, Any], timeout: float = 180) -> None:
    """Waits for every job to end; on a timeout the job rows and the last lines of the private
    relay's and worker's logs are in the failure, so a hang says where it hung."""

    def done() -> bool:
        with transaction() as s:
            statuses = s.scalars(select(Job.status).where(Job.id.in_(job_ids))).all()
        return all(st in ("SUCCEEDED", "FAILED") for st in statuses)

    try:
        wait_until(done, timeout, "every job to end", interval=0.5)
    except TimeoutError as exc:
        with transaction() as s:
            jobs = s.scalars(select(Job).where(Job.id.in_(job_ids)).order_by(Job.id)).all()
            rows = "\n".join(
                f"job {j.id}: {j.status} attempts={j.attempts} published={j.published_at} "
                f"started={j.started_at} finished={j.finished_at} error={j.error!r}"
                for j in jobs
            )
        logs = "\n".join(
            f"--- {name} (alive={stack[name].alive}) ---\n{stack[name].output()[-6000:]}"
            for name in ("relay", "worker")
        )
        raise AssertionError(f"{exc}\n{rows}\n{logs}") from exc


def assert_invariants(periods: list[tuple[dict[str, Any], int]], job_ids: list[int]) -> None:
    with transaction() as s:
        jobs = s.scalars(select(Job).where(Job.id.in_(job_ids))).all()
        assert [j.status for j in jobs] == ["SUCCEEDED"] * len(job_ids), [
            (j.id, j.status, j.error) for j in jobs
        ]
        for c, pid in periods:
            period = s.get(Period, pid)
            assert period is not None and period.status == "CLOSED"
            closes = s.scalar(
                select(func.count())
                .select_from(AuditEntry)
                .where(
                    AuditEntry.entity == "period",
                    AuditEntry.entity_id == str(pid),
                    AuditEntry.action == "period.close",
                )
            )
            assert closes == 1, f"period {pid} closed {closes} times"
            expenses = s.scalar(
                text(
                    "SELECT sum(amount_minor) FROM expenses WHERE period_id = :p AND deleted_at IS NULL"
                ),
                {"p": pid},
            )
            allocated = s.scalar(
                text("SELECT sum(amount_minor) FROM allocations WHERE period_id = :p"), {"p": pid}
            )
            assert allocated == expenses, "allocations must equal expenses exactly"
            assert (
                s.scalar(
                    text("SELECT count(*) FROM period_balances WHERE period_id = :p"), {"p": pid}
                )
                == OWNERS
            )
            dup = s.scalar(
                text(
                    "SELECT count(*) FROM (SELECT owner_pk FROM allocations WHERE period_id = :p GROUP BY owner_pk, pool HAVING count(*) > 1) d"
                ),
                {"p": pid},
            )
            assert dup == 0, "an allocation was written twice"
            live_invoices = s.scalar(
                text("SELECT count(*) FROM invoices WHERE period_id = :p AND voided_at IS NULL"),
                {"p": pid},
            )
            assert live_invoices == OWNERS
            assert check_stored(s, period) == []
            assert check_totals(s, period_id=pid) == []


def assert_totals_reconciled() -> None:
    """The maintained totals equal the rows (kopilka.balances.reconcile), right after a kill."""
    with transaction() as s:
        drifts = check_totals(s)
    assert drifts == [], drifts[:5]


def test_kill_9_of_the_worker_mid_close_loses_and_doubles_nothing(client, private_stack):
    periods = [seeded_period(client) for _ in range(5)]
    job_ids = [request_close(client, c, pid) for c, pid in periods]
    kills = 0
    deadline = time.monotonic() + 120
    while kills < 4 and time.monotonic() < deadline:
        # Wait until a close is under way (its attempt committed, its work not yet), then kill -9.
        with transaction() as s:
            running = s.scalar(
                select(func.count())
                .select_from(Job)
                .where(Job.id.in_(job_ids), Job.status == "RUNNING")
            )
            pending = s.scalar(
                select(func.count())
                .select_from(Job)
                .where(Job.id.in_(job_ids), Job.status.in_(["PENDING", "RUNNING"]))
            )
        if not pending:
            break
        if running:
            private_stack["worker"].kill9()
            kills += 1
            assert_totals_reconciled()
            private_stack["worker"] = start_worker(private_stack["env"])
        else:
            time.sleep(0.02)
    wait_all(job_ids, private_stack)
    assert_invariants(periods, job_ids)
    with transaction() as s:
        attempts = s.scalars(select(Job.attempts).where(Job.id.in_(job_ids))).all()
    assert kills >= 1
    assert max(attempts) >= 2, "at least one close was interrupted and run again"


def test_redis_stopped_during_a_burst_of_closes(client, private_stack):
    periods = [seeded_period(client) for _ in range(6)]
    redis: PrivateRedis = private_stack["redis"]
    first = [request_close(client, c, pid) for c, pid in periods[:2]]
    time.sleep(0.3)
    redis.stop()  # Redis goes away in the middle of the burst
    # The API still records close requests: the job rows are in PostgreSQL.
    rest = [request_close(client, c, pid) for c, pid in periods[2:]]
    time.sleep(2)
    with transaction() as s:
        waiting = s.scalar(
            select(func.count()).select_from(Job).where(Job.id.in_(rest), Job.status == "PENDING")
        )
    assert waiting >= 1
    assert_totals_reconciled()
    redis.start()  # same port, empty: every message it held is gone
    wait_all(first + rest, private_stack)
    assert_invariants(periods, first + rest)
