"""Recurring charge templates (SPEC §4a): admins create, read, change and deactivate them; the
scheduled sweep generates their charges into the OPEN periods."""

from __future__ import annotations

from fastapi import Query, Request, Response
from fastapi.responses import JSONResponse

from kopilka.context import Ctx
from kopilka.recurring import service
from kopilka.recurring.schemas import (
    RecurringChargeCreate,
    RecurringChargeOut,
    RecurringChargePatch,
)
from kopilka_api.http import CtxDep, Page, PageDep, RawBodyDep, api_router, paged, write

router = api_router(prefix="/api/payments/recurring-charges", tags=["ledger"])


@router.post(
    "",
    status_code=201,
    response_model=RecurringChargeOut,
    summary="Create a recurring charge template",
)
def create_template(
    request: Request, data: RecurringChargeCreate, ctx: Ctx = CtxDep, body: bytes = RawBodyDep
) -> JSONResponse:
    return write(
        request,
        ctx,
        body,
        lambda: service.template_out(ctx, service.create_template(ctx, data)),
        location=lambda p: f"/api/payments/recurring-charges/{p['id']}",
    )


@router.get("", response_model=list[RecurringChargeOut], summary="List the templates")
def list_templates(
    request: Request,
    response: Response,
    ctx: Ctx = CtxDep,
    page: Page = PageDep,
    active: bool | None = Query(default=None, description="only active (true) or inactive"),
) -> list[RecurringChargeOut]:
    items = paged(
        request,
        response,
        service.list_templates(ctx, active=active, after=page.after, limit=page.limit),
        page,
        lambda t: t.id,
    )
    return service.templates_out(ctx, items)


@router.get("/{template_id}", response_model=RecurringChargeOut)
def get_template(template_id: int, ctx: Ctx = CtxDep) -> RecurringChargeOut:
    return service.template_out(ctx, service.get_template(ctx, template_id))


@router.patch(
    "/{template_id}",
    response_model=RecurringChargeOut,
    summary="Change a template (from the next generated period on)",
)
def patch_template(
    template_id: int, data: RecurringChargePatch, ctx: Ctx = CtxDep
) -> RecurringChargeOut:
    return service.template_out(ctx, service.patch_template(ctx, template_id, data))


@router.delete(
    "/{template_id}",
    status_code=204,
    summary="Deactivate a template (its charges already generated stay)",
)
def deactivate_template(template_id: int, ctx: Ctx = CtxDep) -> Response:
    service.deactivate_template(ctx, template_id)
    return Response(status_code=204)
