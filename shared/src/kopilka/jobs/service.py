"""Jobs: a row in PostgreSQL first, written in the transaction of the request that causes it.

Celery only delivers the id. ``run`` makes any delivery safe: it takes a session-level advisory
lock for the job (so two deliveries never run it at once, and a crashed worker's lock vanishes
with its connection), counts the attempt, and runs the handler in ONE transaction that also marks
the job SUCCEEDED, so the work and its status commit together or not at all.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import Callable
from datetime import timedelta
from typing import Any

import structlog
from sqlalchemy import Engine, func, select
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.exc import DBAPIError, OperationalError
from sqlalchemy.orm import Session

from kopilka.config import get_settings
from kopilka.context import Actor, Ctx
from kopilka.db import get_engine, session_factory
from kopilka.errors import KopilkaError, NotFound
from kopilka.jobs import queries as q
from kopilka.jobs.schemas import JobOut
from kopilka.logging import get_logger
from kopilka.models import Job
from kopilka.notifications.admin import job_finished

log = get_logger("kopilka.jobs")

PENDING, RUNNING = q.PENDING, q.RUNNING
SUCCEEDED, FAILED = "SUCCEEDED", "FAILED"
TERMINAL = (SUCCEEDED, FAILED)
JOB_LOCK_NS = 71510
NOTIFY_CHANNEL = "kopilka_jobs"

Handler = Callable[[Ctx, dict[str, Any]], dict[str, Any]]
Compensation = Callable[[Ctx, dict[str, Any], str], None]


def job_out(job: Job) -> JobOut:
    return JobOut(
        id=job.id,
        kind=job.kind,
        status=job.status,
        result=job.result,
        error=job.error,
        attempts=job.attempts,
        max_attempts=job.max_attempts,
        created_at=job.created_at,
        started_at=job.started_at,
        finished_at=job.finished_at,
    )


def enqueue(
    session: Session,
    *,
    community_id: int | None,
    kind: str,
    payload: dict[str, Any],
    actor: str,
    request_id: str | None = None,
    dedupe_key: str | None = None,
    language: str | None = None,
) -> Job | None:
    """Write the job row (and wake the relay when the transaction commits). With a dedupe key
    an existing job of that key wins and None is returned. ``language``: the Telegram language
    of the admin who started it (the payload's ``language``), for the message telling its end."""
    if language:
        payload = {**payload, "language": language}
    base = insert(Job).values(
        community_id=community_id,
        kind=kind,
        status=PENDING,
        payload=payload,
        actor=actor,
        request_id=request_id,
        dedupe_key=dedupe_key,
        max_attempts=get_settings().job_max_attempts,
        attempts=0,
    )
    if dedupe_key is not None:
        base = base.on_conflict_do_nothing(
            index_elements=["dedupe_key"], index_where=Job.dedupe_key.is_not(None)
        )
    stmt = base.returning(Job.id)
    job_id = session.execute(stmt).scalar()
    if job_id is None:
        return None
    session.execute(q.NOTIFY, {"ch": NOTIFY_CHANNEL, "id": str(job_id)})
    return session.get(Job, job_id)


def job_id_of(ctx: Ctx) -> int:
    """The id of the job a handler runs for (``run`` names its request ``job-<id>``)."""
    return int((ctx.request_id or "job-0").removeprefix("job-"))


def get_job(ctx: Ctx, job_id: int) -> Job:
    """A job of this community; jobs (closes, carry-forwards) are the admins' business."""
    job = ctx.session.get(Job, job_id)
    if job is None or job.community_id != ctx.actor.community_id:
        raise NotFound(f"Job {job_id} not found")
    ctx.require_admin()
    return job


def job_now(ctx: Ctx, job_id: int) -> JobOut:
    """The job as it stands now (re-read: the request's session may hold an older state)."""
    job = get_job(ctx, job_id)
    ctx.session.refresh(job)
    return job_out(job)


def finished_job(job_id: int, engine: Engine | None = None) -> Job | None:
    """One short read: the job if it has ended, else None (the connection goes straight back
    to the pool)."""
    with session_factory(engine)() as s:
        job = s.get(Job, job_id)
        if job is not None and job.status in TERMINAL:
            s.expunge(job)
            return job
    return None


async def wait_for_async(job_id: int, seconds: float, engine: Engine | None = None) -> Job | None:
    """Wait on the event loop until the job ends or the time is up; the finished job, else None.

    Between short reads it sleeps on the event loop, holding no thread and no connection: a
    connection is taken from the pool only for each read (every 50 ms at first, then up to every
    500 ms)."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + seconds
    delay = 0.05
    while True:
        job = await asyncio.to_thread(finished_job, job_id, engine)
        if job is not None:
            return job
        left = deadline - loop.time()
        if left <= 0:
            return None
        await asyncio.sleep(min(delay, left))
        delay = min(delay * 1.5, 0.5)


def wait_for(job_id: int, seconds: float, engine: Engine | None = None) -> Job | None:
    """Poll the job until it ends or the time is up; the finished job, else None."""
    deadline = time.monotonic() + seconds
    factory = session_factory(engine)
    delay = 0.05
    while True:
        with factory() as s:
            job = s.get(Job, job_id)
            if job is not None and job.status in TERMINAL:
                s.expunge(job)
                return job
        if time.monotonic() >= deadline:
            return None
        time.sleep(min(delay, max(0.0, deadline - time.monotonic())))
        delay = min(delay * 1.5, 0.5)


def _is_retryable(exc: BaseException) -> bool:
    code = getattr(getattr(exc, "orig", None), "sqlstate", None)
    return code in ("40001", "40P01", "55P03")


def run(
    job_id: int,
    handlers: dict[str, Handler],
    compensations: dict[str, Compensation] | None = None,
    engine: Engine | None = None,
) -> str:
    """Run one delivery of a job. Returns what happened (for logs and tests)."""
    engine = engine or get_engine()
    factory = session_factory(engine)
    lock_conn = engine.connect().execution_options(isolation_level="AUTOCOMMIT")
    try:
        got = lock_conn.execute(q.TRY_LOCK, {"ns": JOB_LOCK_NS, "id": job_id}).scalar()
        if not got:
            return "busy"  # another delivery holds it
        with factory() as s, s.begin():
            job = s.get(Job, job_id, with_for_update=True)
            if job is None:
                return "missing"
            if job.status in TERMINAL:
                return "done-already"
            if job.attempts >= job.max_attempts:
                job.status = FAILED
                job.error = f"gave up after {job.attempts} attempts (the worker kept stopping)"
                # clock_timestamp(): the end of the work, not the start of its transaction (now())
                job.finished_at = func.clock_timestamp()  # type: ignore[assignment]
                _compensate(s, job, compensations, job.error)
                told_admin(s, job)
                return "gave-up"
            structlog.contextvars.bind_contextvars(
                request_id=job.request_id or f"job-{job.id}", job_id=job.id
            )
            job.attempts += 1
            job.status = RUNNING
            job.started_at = func.now()  # type: ignore[assignment]
            kind, payload, community_id = job.kind, dict(job.payload), job.community_id
            actor = Actor.system(f"job:{job.id}", community_id)
        handler = handlers.get(kind)
        if handler is None:
            return _fail(factory, job_id, f"unknown job kind {kind!r}", compensations)
        for attempt in range(5):
            try:
                with factory() as s, s.begin():
                    s.execute(q.LOCK_TIMEOUT)
                    ctx = Ctx(session=s, actor=actor, request_id=f"job-{job_id}")
                    result = handler(ctx, payload)
                    job = s.get(Job, job_id, with_for_update=True)
                    assert job is not None
                    job.status = SUCCEEDED
                    job.result = result
                    job.error = None
                    job.finished_at = func.clock_timestamp()  # type: ignore[assignment]
                    told_admin(s, job)
                log.info("job_succeeded", job_id=job_id, kind=kind)
                return "succeeded"
            except KopilkaError as exc:
                log.info("job_failed", job_id=job_id, kind=kind, error=exc.detail)
                return _fail(factory, job_id, exc.detail, compensations)
            except (OperationalError, DBAPIError) as exc:
                if _is_retryable(exc) and attempt < 4:
                    time.sleep(0.05 * 2**attempt)
                    continue
                raise
        raise RuntimeError("unreachable")
    finally:
        # The connection may be gone; then the lock went with it.
        with contextlib.suppress(Exception):
            lock_conn.execute(q.UNLOCK, {"ns": JOB_LOCK_NS, "id": job_id})
        lock_conn.close()


def told_admin(s: Session, job: Job) -> None:
    """The admin who started the job hears how it ended (in this same transaction)."""
    job_finished(s, job)


def _compensate(
    s: Session, job: Job, compensations: dict[str, Compensation] | None, error: str
) -> None:
    comp = (compensations or {}).get(job.kind)
    if comp is not None:
        comp(
            Ctx(session=s, actor=Actor.system(f"job:{job.id}", job.community_id)),
            dict(job.payload),
            error,
        )


def _fail(
    factory: Any, job_id: int, error: str, compensations: dict[str, Compensation] | None
) -> str:
    with factory() as s, s.begin():
        job = s.get(Job, job_id, with_for_update=True)
        if job is None or job.status in TERMINAL:
            return "done-already"
        job.status = FAILED
        job.error = error
        job.finished_at = func.clock_timestamp()
        _compensate(s, job, compensations, error)
        told_admin(s, job)
    return "failed"


# ---------------------------------------------------------------- relay (outbox)


def due_for_delivery(session: Session, *, republish_after: float, limit: int = 200) -> list[int]:
    """Jobs to (re)publish: never published; published but not started for a while (the message
    may be lost: Redis restarted); or RUNNING with nobody holding its lock (the worker died)."""
    rows = session.execute(
        q.DUE, {"after": timedelta(seconds=republish_after), "limit": limit}
    ).all()
    out: list[int] = []
    for job_id, status in rows:
        if status == RUNNING:
            free = session.execute(q.TRY_XACT_LOCK, {"ns": JOB_LOCK_NS, "id": job_id}).scalar()
            if not free:
                continue  # a live worker is on it
        out.append(job_id)
    return out


def mark_published(session: Session, job_ids: list[int]) -> None:
    if job_ids:
        session.execute(q.MARK_PUBLISHED, {"ids": job_ids})


def relay_once(
    publish: Callable[[int], None], *, republish_after: float, engine: Engine | None = None
) -> int:
    """Publish what is due; a job is marked published only once the broker took it."""
    factory = session_factory(engine)
    with factory() as s, s.begin():
        ids = due_for_delivery(s, republish_after=republish_after)
        sent = []
        for job_id in ids:
            try:
                publish(job_id)
            except Exception as exc:
                log.warning("relay_publish_failed", job_id=job_id, error=str(exc)[:200])
                break
            sent.append(job_id)
        mark_published(s, sent)
    return len(sent)


def job_exists(session: Session, job_id: int) -> bool:
    return session.scalar(select(Job.id).where(Job.id == job_id)) is not None


def list_jobs(
    ctx: Ctx, *, status: str | None, kind: str | None, after: int | None, limit: int
) -> list[Job]:
    """The community's jobs (the admins' business), oldest first, paginated by id: closes,
    carry-forwards, and the scheduled steps that failed for this community (``status=FAILED``:
    the step in ``kind``, the reason in ``error``)."""
    ctx.require_admin()
    q = select(Job).where(Job.community_id == ctx.community_id)
    if status is not None:
        q = q.where(Job.status == status)
    if kind is not None:
        q = q.where(Job.kind == kind)
    if after is not None:
        q = q.where(Job.id > after)
    return list(ctx.session.scalars(q.order_by(Job.id).limit(limit + 1)))
