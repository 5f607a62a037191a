"""Closing, reopening and carry-forward: the requests; the worker does the work."""

from __future__ import annotations

from typing import Any

from fastapi import Request
from fastapi.responses import JSONResponse

from kopilka.context import Ctx
from kopilka.jobs.schemas import JobOut
from kopilka.periods import carry_forward as carrying
from kopilka.periods import closing
from kopilka.periods.schemas import CarryForwardRequest, PeriodOut
from kopilka.periods.service import period_out
from kopilka_api.http import CtxDep, api_router
from kopilka_api.routes.jobs import start_job

router = api_router(prefix="/api/payments/periods", tags=["periods"])

ASYNC: dict[int | str, dict[str, Any]] = {
    202: {"model": JobOut, "description": "Accepted: the job, with Location"},
    200: {"model": JobOut, "description": "With Prefer: wait=N, the finished job"},
}


@router.post(
    "/carry-forward",
    status_code=202,
    response_model=JobOut,
    responses=ASYNC,
    summary="Carry a CLOSED period's balances into an OPEN one (async)",
)
async def carry_forward(
    request: Request, data: CarryForwardRequest, ctx: Ctx = CtxDep
) -> JSONResponse:
    return await start_job(
        request,
        ctx,
        lambda: carrying.request_carry_forward(ctx, data.from_period_id, data.to_period_id),
    )


@router.post(
    "/{period_id}/close",
    status_code=202,
    response_model=JobOut,
    responses=ASYNC,
    summary="Close a period (async): CLOSING now, CLOSED when the job ends",
)
async def close_period(request: Request, period_id: int, ctx: Ctx = CtxDep) -> JSONResponse:
    return await start_job(request, ctx, lambda: closing.request_close(ctx, period_id))


@router.post("/{period_id}/reopen", response_model=PeriodOut, summary="Reopen a CLOSED period")
def reopen_period(period_id: int, ctx: Ctx = CtxDep) -> PeriodOut:
    return period_out(closing.reopen(ctx, period_id))


@router.get("/{period_id}/opening-transactions", summary="Opening contributions and charges")
def opening_transactions(period_id: int, ctx: Ctx = CtxDep) -> dict[str, Any]:
    return carrying.opening_transactions(ctx, period_id)
