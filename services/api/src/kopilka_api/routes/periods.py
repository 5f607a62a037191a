from __future__ import annotations

from fastapi import Request, Response
from fastapi.responses import JSONResponse

from kopilka.context import Ctx
from kopilka.periods import service
from kopilka.periods.schemas import PeriodCreate, PeriodList, PeriodOut, PeriodPatch
from kopilka_api.http import (
    CtxDep,
    IfMatchDep,
    Page,
    PageDep,
    RawBodyDep,
    api_router,
    etag,
    paged,
    write,
)

router = api_router(prefix="/api/payments/periods", tags=["periods"])


@router.post("", status_code=201, response_model=PeriodOut, summary="Create a period")
def create_period(
    request: Request, data: PeriodCreate, ctx: Ctx = CtxDep, body: bytes = RawBodyDep
) -> JSONResponse:
    return write(
        request,
        ctx,
        body,
        lambda: service.period_out(service.create_period(ctx, data)),
        location=lambda p: f"/api/payments/periods/{p['id']}",
    )


@router.get("", response_model=PeriodList, summary="List periods")
def list_periods(
    request: Request, response: Response, ctx: Ctx = CtxDep, page: Page = PageDep
) -> PeriodList:
    items = paged(
        request,
        response,
        service.list_periods(ctx, after=page.after, limit=page.limit),
        page,
        lambda p: p.id,
    )
    return PeriodList(periods=[service.period_out(p) for p in items])


@router.get("/{period_id}", response_model=PeriodOut)
def get_period(period_id: int, response: Response, ctx: Ctx = CtxDep) -> PeriodOut:
    p = service.get_period(ctx, period_id)
    etag(response, p.version)
    return service.period_out(p)


@router.patch("/{period_id}", response_model=PeriodOut, summary="Rename or re-describe")
def patch_period(
    period_id: int,
    data: PeriodPatch,
    response: Response,
    ctx: Ctx = CtxDep,
    version: int | None = IfMatchDep,
) -> PeriodOut:
    p = service.patch_period(ctx, period_id, data, version)
    etag(response, p.version)
    return service.period_out(p)
