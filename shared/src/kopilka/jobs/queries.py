"""Statements of the jobs and their relay, built once (the SQL rule: Core statements per domain)."""

from __future__ import annotations

from typing import Any

from sqlalchemy import BigInteger, Interval, bindparam, func, insert, literal, or_, select, update
from sqlalchemy.dialects.postgresql import ARRAY

from kopilka.models import Job

PENDING, RUNNING = "PENDING", "RUNNING"

# Wakes the relay (LISTEN) when the request's transaction commits.
NOTIFY = select(func.pg_notify(bindparam("ch"), bindparam("id")))

# One delivery at a time: a session-level lock on its own connection, gone with the connection
# when a worker dies (so the relay can tell a dead delivery from a live one).
TRY_LOCK = select(func.pg_try_advisory_lock(bindparam("ns"), bindparam("id")))
UNLOCK = select(func.pg_advisory_unlock(bindparam("ns"), bindparam("id")))
# The relay's probe: free for a moment inside its transaction means nobody is running the job.
TRY_XACT_LOCK = select(func.pg_try_advisory_xact_lock(bindparam("ns"), bindparam("id")))

# A job's handler waits at most 30 s for a row lock (SET LOCAL: this transaction only).
LOCK_TIMEOUT = select(func.set_config("lock_timeout", "30s", True))

_stale = func.now() - bindparam("after", type_=Interval())
# Never published; published but not started for a while (the message may be lost: Redis
# restarted); or RUNNING for a while (the caller checks nobody holds its lock).
DUE = (
    select(Job.id, Job.status)
    .where(
        or_(
            (Job.status == PENDING) & (Job.published_at.is_(None) | (Job.published_at < _stale)),
            (Job.status == RUNNING) & (func.coalesce(Job.published_at, Job.started_at) < _stale),
        )
    )
    .order_by(Job.id)
    .limit(bindparam("limit"))
    .with_for_update(skip_locked=True)
)

MARK_PUBLISHED = (
    update(Job)
    .where(Job.id == func.any(bindparam("ids", type_=ARRAY(BigInteger()))))
    .values(published_at=func.now())
    .execution_options(synchronize_session=False)
)

# The scheduler's record of a step that failed for a community: a FAILED job, one a day per step.
FAILED_STEP_SEEN = (
    select(literal(1))
    .where(
        Job.community_id == bindparam("c"),
        Job.kind == bindparam("k"),
        Job.status == "FAILED",
        Job.payload["day"].astext == bindparam("d"),
    )
    .limit(1)
)
_JOBS: Any = Job.__table__  # Core: no ORM bookkeeping for a row nobody loads
FAILED_STEP = insert(_JOBS).values(
    community_id=bindparam("c"),
    kind=bindparam("k"),
    status="FAILED",
    payload=bindparam("payload"),
    actor="system:scheduler",
    error=bindparam("error"),
    attempts=1,
    max_attempts=1,
    started_at=func.now(),
    finished_at=func.clock_timestamp(),
)
