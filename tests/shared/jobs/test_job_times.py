"""A job's times say how long its work took: ``finished_at`` is when the work ended, not when its
transaction began (PostgreSQL's now())."""

from __future__ import annotations

import time
from typing import Any

from kopilka.context import Ctx
from kopilka.db import get_engine, transaction
from kopilka.jobs.service import SUCCEEDED, enqueue, run
from kopilka.models import Job


def test_finished_at_minus_started_at_is_the_run_time(database: str) -> None:
    with transaction() as s:
        job = enqueue(s, community_id=None, kind="test.sleep", payload={}, actor="test")
        assert job is not None
        job_id = job.id

    def sleepy(ctx: Ctx, payload: dict[str, Any]) -> dict[str, Any]:
        time.sleep(0.4)
        return {"slept": 0.4}

    assert run(job_id, {"test.sleep": sleepy}, engine=get_engine()) == "succeeded"
    with transaction() as s:
        done = s.get(Job, job_id)
        assert done is not None and done.status == SUCCEEDED
        assert done.started_at is not None and done.finished_at is not None
        assert (done.finished_at - done.started_at).total_seconds() >= 0.4
