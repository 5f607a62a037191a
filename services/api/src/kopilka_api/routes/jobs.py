"""Asynchronous jobs: 202 with Location, GET the status, ``Prefer: wait=N`` to wait.

A request that waits for a job is authenticated and admitted like any other; once it knows the
job it gives its admission slot back (``release_admission``) and waits on the event loop, holding
no thread and no database connection (a short pooled read now and then, ``wait_for_async``)."""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any, Literal

from fastapi import Query, Request
from fastapi.encoders import jsonable_encoder
from fastapi.responses import JSONResponse
from starlette.concurrency import run_in_threadpool

from kopilka.config import get_settings
from kopilka.context import Ctx
from kopilka.jobs import service
from kopilka.jobs.schemas import JobOut
from kopilka_api import crud
from kopilka_api.http import CtxDep, api_router
from kopilka_api.middleware import release_admission

router = api_router(tags=["jobs"])

_WAIT = re.compile(r"(?:^|[,;\s])wait\s*=\s*(\d+)", re.IGNORECASE)


def prefer_wait(request: Request) -> int:
    """Seconds of ``Prefer: wait=N``, bounded by the server's limit (60 s by default)."""
    m = _WAIT.search(request.headers.get("Prefer", ""))
    if not m:
        return 0
    return min(int(m.group(1)), get_settings().max_prefer_wait_seconds)


def _commit_job(ctx: Ctx, produce: Callable[[], Any]) -> JobOut:
    job_id = produce().id
    ctx.session.commit()
    out = service.job_now(ctx, job_id)
    ctx.session.commit()  # the connection goes back to the pool before any wait
    return out


async def start_job(request: Request, ctx: Ctx, produce: Callable[[], Any]) -> JSONResponse:
    """Run ``produce`` (which queues a job) and commit it in one thread-pool trip, then answer
    202 with Location, or 200 with the finished job when the client waits (``Prefer: wait``)."""
    job = await run_in_threadpool(_commit_job, ctx, produce)
    return await accepted(request, job)


async def accepted(request: Request, job: JobOut) -> JSONResponse:
    """202 with the committed job (or 200 with the finished job when the client waits)."""
    location = f"/api/jobs/{job.id}"
    wait = prefer_wait(request)
    if wait > 0 and job.status not in service.TERMINAL:
        release_admission(request)
        done = await service.wait_for_async(job.id, wait)
        if done is not None:
            return JSONResponse(
                jsonable_encoder(service.job_out(done)),
                status_code=200,
                headers={"Location": location, "Preference-Applied": f"wait={wait}"},
            )
    return JSONResponse(jsonable_encoder(job), status_code=202, headers={"Location": location})


def _read_job(ctx: Ctx, job_id: int) -> JobOut:
    out = service.job_out(service.get_job(ctx, job_id))
    ctx.session.commit()
    return out


crud.Resource(router, "/api/jobs", out=JobOut).listing(
    "list_jobs",
    service.list_jobs,
    lambda ctx, jobs: [service.job_out(j) for j in jobs],
    filters=[
        crud.arg(
            "status",
            Literal["PENDING", "RUNNING", "SUCCEEDED", "FAILED"] | None,
            Query(default=None),
        ),
        crud.arg("kind", str | None, Query(default=None, max_length=100)),
    ],
    summary="The community's jobs",
)


@router.get("/api/jobs/{job_id}", response_model=JobOut, summary="Status of an asynchronous job")
async def get_job(job_id: int, request: Request, ctx: Ctx = CtxDep) -> JSONResponse:
    job = await run_in_threadpool(_read_job, ctx, job_id)
    wait = prefer_wait(request)
    if wait > 0 and job.status not in service.TERMINAL:
        release_admission(request)
        done = await service.wait_for_async(job.id, wait)
        if done is not None:
            job = service.job_out(done)
    return JSONResponse(jsonable_encoder(job))
