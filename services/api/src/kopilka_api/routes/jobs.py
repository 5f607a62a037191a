"""Asynchronous jobs: 202 with Location, GET the status, ``Prefer: wait=N`` to wait."""

from __future__ import annotations

import re

from fastapi import Request, Response
from fastapi.encoders import jsonable_encoder
from fastapi.responses import JSONResponse

from kopilka.config import get_settings
from kopilka.context import Ctx
from kopilka.jobs import service
from kopilka.jobs.schemas import JobOut
from kopilka.models import Job
from kopilka_api.http import CtxDep, api_router

router = api_router(tags=["jobs"])

_WAIT = re.compile(r"(?:^|[,;\s])wait\s*=\s*(\d+)", re.IGNORECASE)


def prefer_wait(request: Request) -> int:
    """Seconds of ``Prefer: wait=N``, bounded by the server's limit (60 s by default)."""
    m = _WAIT.search(request.headers.get("Prefer", ""))
    if not m:
        return 0
    return min(int(m.group(1)), get_settings().max_prefer_wait_seconds)


def accepted(request: Request, ctx: Ctx, job: Job) -> JSONResponse:
    """Commit the job, then answer 202 (or 200 with the finished job when the client waits)."""
    ctx.session.commit()
    location = f"/api/jobs/{job.id}"
    wait = prefer_wait(request)
    if wait > 0:
        done = service.wait_for(job.id, wait)
        if done is not None:
            return JSONResponse(
                jsonable_encoder(service.job_out(done)),
                status_code=200,
                headers={"Location": location, "Preference-Applied": f"wait={wait}"},
            )
    ctx.session.refresh(job)
    return JSONResponse(
        jsonable_encoder(service.job_out(job)), status_code=202, headers={"Location": location}
    )


@router.get("/api/jobs/{job_id}", response_model=JobOut, summary="Status of an asynchronous job")
def get_job(job_id: int, request: Request, response: Response, ctx: Ctx = CtxDep) -> JSONResponse:
    job = service.get_job(ctx, job_id)
    wait = prefer_wait(request)
    if wait > 0 and job.status not in service.TERMINAL:
        ctx.session.commit()  # no connection held while waiting
        done = service.wait_for(job.id, wait)
        if done is not None:
            job = done
    return JSONResponse(jsonable_encoder(service.job_out(job)))
