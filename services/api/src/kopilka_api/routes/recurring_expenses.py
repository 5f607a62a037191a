"""Recurring expense templates (SPEC §3b): admins create, read, change and deactivate them; the
scheduled sweep generates their expenses into the OPEN periods."""

from __future__ import annotations

from fastapi import Query, Request, Response
from fastapi.responses import JSONResponse

from kopilka.context import Ctx
from kopilka.recurring import expenses as service
from kopilka.recurring.schemas import (
    RecurringExpenseCreate,
    RecurringExpenseOut,
    RecurringExpensePatch,
)
from kopilka_api.http import CtxDep, Page, PageDep, RawBodyDep, api_router, paged, write

router = api_router(prefix="/api/payments/recurring-expenses", tags=["ledger"])


@router.post(
    "", status_code=201, response_model=RecurringExpenseOut, summary="Create a recurring expense"
)
def create_template(
    request: Request, data: RecurringExpenseCreate, ctx: Ctx = CtxDep, body: bytes = RawBodyDep
) -> JSONResponse:
    return write(
        request,
        ctx,
        body,
        lambda: service.template_out(ctx, service.create_template(ctx, data)),
        location=lambda p: f"/api/payments/recurring-expenses/{p['id']}",
    )


@router.get("", response_model=list[RecurringExpenseOut], summary="List the templates")
def list_templates(
    request: Request,
    response: Response,
    ctx: Ctx = CtxDep,
    page: Page = PageDep,
    active: bool | None = Query(default=None, description="only active (true) or inactive"),
) -> list[RecurringExpenseOut]:
    items = paged(
        request,
        response,
        service.list_templates(ctx, active=active, after=page.after, limit=page.limit),
        page,
        lambda t: t.id,
    )
    return service.templates_out(ctx, items)


@router.get("/{template_id}", response_model=RecurringExpenseOut)
def get_template(template_id: int, ctx: Ctx = CtxDep) -> RecurringExpenseOut:
    return service.template_out(ctx, service.get_template(ctx, template_id))


@router.patch(
    "/{template_id}",
    response_model=RecurringExpenseOut,
    summary="Change a template (from the next generated period on)",
)
def patch_template(
    template_id: int, data: RecurringExpensePatch, ctx: Ctx = CtxDep
) -> RecurringExpenseOut:
    return service.template_out(ctx, service.patch_template(ctx, template_id, data))


@router.delete(
    "/{template_id}",
    status_code=204,
    summary="Deactivate a template (its expenses already generated stay)",
)
def deactivate_template(template_id: int, ctx: Ctx = CtxDep) -> Response:
    service.deactivate_template(ctx, template_id)
    return Response(status_code=204)
