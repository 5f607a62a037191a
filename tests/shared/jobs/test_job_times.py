"""A job's times say how long its work took: ``finished_at`` is when the work ended, not when its
transaction began (PostgreSQL's now())."""

from __future__ import annotations

import time
import uuid
from typing import Any

from kopilka.context import Ctx
from kopilka.db import make_engine, transaction
from kopilka.jobs.service import SUCCEEDED, enqueue, run
from kopilka.models import Job
from tests.conftest import create_database, drop_database


def test_finished_at_minus_started_at_is_the_run_time(database: str) -> None:
    # A database of its own: the session's has a real worker and relay (started by earlier
    # tests) that would take this job too and hold its lock ("busy").
    url = create_database(f"jt{uuid.uuid4().hex[:6]}")
    engine = make_engine(url, pool_size=2, max_overflow=0)
    try:
        with transaction(engine) as s:
            job = enqueue(s, community_id=None, kind="test.sleep", payload={}, actor="test")
            assert job is not None
            job_id = job.id

        def sleepy(ctx: Ctx, payload: dict[str, Any]) -> dict[str, Any]:
            time.sleep(0.4)
            return {"slept": 0.4}

        assert run(job_id, {"test.sleep": sleepy}, engine=engine) == "succeeded"
        with transaction(engine) as s:
            done = s.get(Job, job_id)
            assert done is not None and done.status == SUCCEEDED
            assert done.started_at is not None and done.finished_at is not None
            assert (done.finished_at - done.started_at).total_seconds() >= 0.4
    finally:
        engine.dispose()
        drop_database(url)
