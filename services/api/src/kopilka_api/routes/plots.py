"""Plots, meters, readings and a period's consumption (SPEC §3a)."""

from __future__ import annotations

from typing import Any

from fastapi import Query, Request, Response
from fastapi.responses import JSONResponse

from kopilka.context import Ctx
from kopilka.plots import meters, readings, service
from kopilka.plots.schemas import (
    MeterCreate,
    MeterOut,
    MeterPatch,
    PlotCreate,
    PlotOut,
    PlotPatch,
    ReadingCreate,
    ReadingOut,
)
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

P = "/api/payments"
router = api_router(prefix=P, tags=["plots"])


# ---------------------------------------------------------------- plots


@router.post("/plots", status_code=201, response_model=PlotOut, summary="Create a plot")
def create_plot(
    request: Request, data: PlotCreate, ctx: Ctx = CtxDep, body: bytes = RawBodyDep
) -> JSONResponse:
    return write(
        request,
        ctx,
        body,
        lambda: service.plot_out(ctx, service.create_plot(ctx, data)),
        location=lambda p: f"{P}/plots/{p['id']}",
    )


@router.get("/plots", response_model=list[PlotOut], summary="List the plots (an owner: theirs)")
def list_plots(
    request: Request,
    response: Response,
    ctx: Ctx = CtxDep,
    page: Page = PageDep,
    owner_id: int | None = Query(default=None, description="plots of this owner"),
    active: bool | None = Query(default=None),
) -> list[PlotOut]:
    plots = paged(
        request,
        response,
        service.list_plots(
            ctx, owner_id=owner_id, active=active, after=page.after, limit=page.limit
        ),
        page,
        lambda p: p.id,
    )
    return service.plots_out(ctx, plots)


@router.get("/plots/{plot_id}", response_model=PlotOut)
def get_plot(plot_id: int, response: Response, ctx: Ctx = CtxDep) -> PlotOut:
    plot = service.get_plot(ctx, plot_id)
    etag(response, plot.version)
    return service.plot_out(ctx, plot)


@router.patch("/plots/{plot_id}", response_model=PlotOut, summary="Change a plot or its owners")
def patch_plot(
    plot_id: int,
    data: PlotPatch,
    response: Response,
    ctx: Ctx = CtxDep,
    version: int | None = IfMatchDep,
) -> PlotOut:
    plot = service.patch_plot(ctx, plot_id, data, version)
    etag(response, plot.version)
    return service.plot_out(ctx, plot)


@router.delete("/plots/{plot_id}", status_code=204, summary="Deactivate a plot")
def delete_plot(plot_id: int, ctx: Ctx = CtxDep) -> Response:
    service.deactivate_plot(ctx, plot_id)
    return Response(status_code=204)


# ---------------------------------------------------------------- meters


@router.post(
    "/plots/{plot_id}/meters", status_code=201, response_model=MeterOut, summary="Add a meter"
)
def create_meter(
    request: Request, plot_id: int, data: MeterCreate, ctx: Ctx = CtxDep, body: bytes = RawBodyDep
) -> JSONResponse:
    def produce() -> MeterOut:
        m, plot = meters.create_meter(ctx, plot_id, data)
        return meters.meter_out(ctx, m, plot)

    return write(request, ctx, body, produce, location=lambda p: f"{P}/meters/{p['id']}")


@router.get("/plots/{plot_id}/meters", response_model=list[MeterOut])
def list_meters(plot_id: int, ctx: Ctx = CtxDep) -> list[MeterOut]:
    return [meters.meter_out(ctx, m, p, last) for m, p, last in meters.list_meters(ctx, plot_id)]


@router.get("/meters/{meter_id}", response_model=MeterOut)
def get_meter(meter_id: int, response: Response, ctx: Ctx = CtxDep) -> MeterOut:
    m, plot = meters.get_meter(ctx, meter_id)
    etag(response, m.version)
    return meters.meter_out(ctx, m, plot, meters.last_reading(ctx, m.id))


@router.patch(
    "/meters/{meter_id}",
    response_model=MeterOut,
    summary="Change a meter's serial or deactivate it (a replaced meter: deactivate, add the new)",
)
def patch_meter(
    meter_id: int,
    data: MeterPatch,
    response: Response,
    ctx: Ctx = CtxDep,
    version: int | None = IfMatchDep,
) -> MeterOut:
    m, plot = meters.patch_meter(ctx, meter_id, data, version)
    etag(response, m.version)
    return meters.meter_out(ctx, m, plot)


# ---------------------------------------------------------------- readings


@router.post(
    "/meters/{meter_id}/readings",
    status_code=201,
    response_model=ReadingOut,
    summary="Record a reading (a second one in the same period replaces the first)",
)
def create_reading(
    request: Request,
    meter_id: int,
    data: ReadingCreate,
    ctx: Ctx = CtxDep,
    body: bytes = RawBodyDep,
) -> JSONResponse:
    def produce() -> ReadingOut:
        r, m = readings.record_reading(ctx, meter_id, data)
        return meters.reading_out(ctx, r, m)

    return write(request, ctx, body, produce, location=lambda p: f"{P}/meters/{meter_id}/readings")


@router.get("/meters/{meter_id}/readings", response_model=list[ReadingOut])
def list_readings(
    request: Request,
    response: Response,
    meter_id: int,
    ctx: Ctx = CtxDep,
    page: Page = PageDep,
    period_id: int | None = Query(default=None),
) -> list[ReadingOut]:
    rows, m = readings.list_readings(
        ctx, meter_id, period_id=period_id, after=page.after, limit=page.limit
    )
    return meters.readings_out(ctx, paged(request, response, rows, page, lambda r: r.id), m)


# ---------------------------------------------------------------- consumption


@router.get(
    "/periods/{period_id}/consumption",
    summary="A period's consumption per meter and per owner, with the meters lacking a reading",
)
def consumption(
    period_id: int,
    ctx: Ctx = CtxDep,
    meter_type: str | None = Query(default=None, description="only this meter type"),
) -> dict[str, Any]:
    return readings.consumption(ctx, period_id, meter_type)
