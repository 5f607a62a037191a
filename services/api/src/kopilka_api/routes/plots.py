"""Plots, meters, readings and a period's consumption (SPEC §3a)."""

from __future__ import annotations

from typing import Any

from fastapi import Query, Request, Response

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
from kopilka_api import crud
from kopilka_api.http import CtxDep, IfMatchDep, Page, PageDep, api_router, etag, paged

P = "/api/payments"
router = api_router(prefix=P, tags=["plots"])


# ---------------------------------------------------------------- plots

PLOTS = crud.Resource(
    router, "/plots", "/plots/{plot_id}", PlotOut, to_out=service.plot_out, versioned=True
)
PLOTS.create(
    "create_plot",
    PlotCreate,
    service.create_plot,
    location=P + "/plots/{id}",
    summary="Create a plot",
)
PLOTS.listing(
    "list_plots",
    service.list_plots,
    service.plots_out,
    filters=[
        crud.arg("owner_id", int | None, Query(default=None, description="plots of this owner")),
        crud.arg("active", bool | None, Query(default=None)),
    ],
    summary="List the plots (an owner: theirs)",
)
PLOTS.read("get_plot", service.get_plot)
PLOTS.change(
    "patch_plot",
    PlotPatch,
    service.patch_plot,
    if_match=True,
    summary="Change a plot or its owners",
)
PLOTS.delete("delete_plot", service.deactivate_plot, summary="Deactivate a plot")


# ---------------------------------------------------------------- meters

PLOTS.create(
    "create_meter",
    MeterCreate,
    meters.create_meter,
    path="/plots/{plot_id}/meters",
    out=MeterOut,
    to_out=lambda ctx, made: meters.meter_out(ctx, *made),
    location=P + "/meters/{id}",
    summary="Add a meter",
)


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


PLOTS.create(
    "create_reading",
    ReadingCreate,
    readings.record_reading,
    path="/meters/{meter_id}/readings",
    out=ReadingOut,
    to_out=lambda ctx, made: meters.reading_out(ctx, *made),
    location=P + "/meters/{meter_id}/readings",
    summary="Record a reading (a second one in the same period replaces the first)",
)


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
