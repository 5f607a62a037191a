"""Recording money and the inputs of allocation. Money POSTs honour Idempotency-Key."""

from __future__ import annotations

from fastapi import Query, Request, Response
from fastapi.responses import JSONResponse

from kopilka.context import Ctx
from kopilka.ledger import schemas as s
from kopilka.ledger import service
from kopilka.models import BudgetItem, Contribution, Expense, MeterReading, ServiceCharge
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

router = api_router(prefix="/api/payments", tags=["ledger"])
P = "/periods/{period_id}"


# ---------------------------------------------------------------- contributions


@router.post(P + "/contributions", status_code=201, response_model=s.ContributionOut)
def record_contribution(
    request: Request,
    period_id: int,
    data: s.ContributionCreate,
    ctx: Ctx = CtxDep,
    body: bytes = RawBodyDep,
) -> JSONResponse:
    return write(
        request,
        ctx,
        body,
        lambda: service.record_contribution(ctx, period_id, data),
        location=lambda p: f"/api/payments/contributions/{p['id']}",
    )


@router.get(P + "/contributions", response_model=list[s.ContributionOut])
def list_contributions(
    request: Request,
    response: Response,
    period_id: int,
    ctx: Ctx = CtxDep,
    page: Page = PageDep,
    owner_id: int | None = Query(default=None),
) -> list[s.ContributionOut]:
    rows = service.list_contributions(
        ctx, period_id, owner_id=owner_id, after=page.after, limit=page.limit
    )
    rows = paged(request, response, rows, page, lambda r: r[0].id)
    return [service.contribution_out(ctx, c, oid) for c, oid in rows]


@router.patch("/contributions/{doc_id}", response_model=s.ContributionOut)
def patch_contribution(
    doc_id: int,
    data: s.ContributionPatch,
    response: Response,
    ctx: Ctx = CtxDep,
    version: int | None = IfMatchDep,
) -> s.ContributionOut:
    c = service.patch_contribution(ctx, doc_id, data, version)
    etag(response, c.version)
    return service.contribution_out(ctx, c)


@router.delete("/contributions/{doc_id}", status_code=204)
def delete_contribution(
    doc_id: int, ctx: Ctx = CtxDep, version: int | None = IfMatchDep
) -> Response:
    service.delete_document(ctx, Contribution, doc_id, version)
    return Response(status_code=204)


# ---------------------------------------------------------------- expenses


@router.post(P + "/expenses", status_code=201, response_model=s.ExpenseOut)
def record_expense(
    request: Request,
    period_id: int,
    data: s.ExpenseCreate,
    ctx: Ctx = CtxDep,
    body: bytes = RawBodyDep,
) -> JSONResponse:
    return write(
        request,
        ctx,
        body,
        lambda: service.expense_out(ctx, service.record_expense(ctx, period_id, data)),
        location=lambda p: f"/api/payments/expenses/{p['id']}",
    )


@router.get(P + "/expenses", response_model=list[s.ExpenseOut])
def list_expenses(
    request: Request,
    response: Response,
    period_id: int,
    ctx: Ctx = CtxDep,
    page: Page = PageDep,
    paid_by: int | None = Query(default=None, description="owner_id of the payer"),
) -> list[s.ExpenseOut]:
    rows = service.list_expenses(
        ctx, period_id, paid_by=paid_by, after=page.after, limit=page.limit
    )
    rows = paged(request, response, rows, page, lambda r: r[0].id)
    return [service.expense_out(ctx, e, oid) for e, oid in rows]


@router.patch("/expenses/{doc_id}", response_model=s.ExpenseOut)
def patch_expense(
    doc_id: int,
    data: s.ExpensePatch,
    response: Response,
    ctx: Ctx = CtxDep,
    version: int | None = IfMatchDep,
) -> s.ExpenseOut:
    e = service.patch_expense(ctx, doc_id, data, version)
    etag(response, e.version)
    return service.expense_out(ctx, e)


@router.delete("/expenses/{doc_id}", status_code=204)
def delete_expense(doc_id: int, ctx: Ctx = CtxDep, version: int | None = IfMatchDep) -> Response:
    service.delete_document(ctx, Expense, doc_id, version)
    return Response(status_code=204)


# ---------------------------------------------------------------- service charges


@router.post(P + "/charges", status_code=201, response_model=s.ChargeOut)
def record_charge(
    request: Request,
    period_id: int,
    data: s.ChargeCreate,
    ctx: Ctx = CtxDep,
    body: bytes = RawBodyDep,
) -> JSONResponse:
    return write(
        request,
        ctx,
        body,
        lambda: service.charge_out(ctx, service.record_charge(ctx, period_id, data)),
        location=lambda p: f"/api/payments/charges/{p['id']}",
    )


@router.get(P + "/charges", response_model=list[s.ChargeOut])
def list_charges(
    request: Request,
    response: Response,
    period_id: int,
    ctx: Ctx = CtxDep,
    page: Page = PageDep,
    owner_id: int | None = Query(default=None),
) -> list[s.ChargeOut]:
    rows = service.list_charges(
        ctx, period_id, owner_id=owner_id, after=page.after, limit=page.limit
    )
    rows = paged(request, response, rows, page, lambda r: r[0].id)
    return [service.charge_out(ctx, c, oid) for c, oid in rows]


@router.patch("/charges/{doc_id}", response_model=s.ChargeOut)
def patch_charge(
    doc_id: int,
    data: s.ChargePatch,
    response: Response,
    ctx: Ctx = CtxDep,
    version: int | None = IfMatchDep,
) -> s.ChargeOut:
    c = service.patch_charge(ctx, doc_id, data, version)
    etag(response, c.version)
    return service.charge_out(ctx, c)


@router.delete("/charges/{doc_id}", status_code=204)
def delete_charge(doc_id: int, ctx: Ctx = CtxDep, version: int | None = IfMatchDep) -> Response:
    service.delete_document(ctx, ServiceCharge, doc_id, version)
    return Response(status_code=204)


# ---------------------------------------------------------------- meter readings


@router.post(P + "/meter-readings", status_code=201, response_model=s.MeterReadingOut)
def record_reading(
    request: Request,
    period_id: int,
    data: s.MeterReadingCreate,
    ctx: Ctx = CtxDep,
    body: bytes = RawBodyDep,
) -> JSONResponse:
    return write(
        request,
        ctx,
        body,
        lambda: service.reading_out(ctx, service.record_reading(ctx, period_id, data)),
        location=lambda p: f"/api/payments/meter-readings/{p['id']}",
    )


@router.get(P + "/meter-readings", response_model=list[s.MeterReadingOut])
def list_readings(
    request: Request,
    response: Response,
    period_id: int,
    ctx: Ctx = CtxDep,
    page: Page = PageDep,
    owner_id: int | None = Query(default=None),
) -> list[s.MeterReadingOut]:
    rows = service.list_readings(
        ctx, period_id, owner_id=owner_id, after=page.after, limit=page.limit
    )
    rows = paged(request, response, rows, page, lambda r: r[0].id)
    return [service.reading_out(ctx, r, oid) for r, oid in rows]


@router.patch("/meter-readings/{doc_id}", response_model=s.MeterReadingOut)
def patch_reading(
    doc_id: int,
    data: s.MeterReadingPatch,
    response: Response,
    ctx: Ctx = CtxDep,
    version: int | None = IfMatchDep,
) -> s.MeterReadingOut:
    r = service.patch_reading(ctx, doc_id, data, version)
    etag(response, r.version)
    return service.reading_out(ctx, r)


@router.delete("/meter-readings/{doc_id}", status_code=204)
def delete_reading(doc_id: int, ctx: Ctx = CtxDep, version: int | None = IfMatchDep) -> Response:
    service.delete_document(ctx, MeterReading, doc_id, version)
    return Response(status_code=204)


# ---------------------------------------------------------------- budget items


@router.post(P + "/budget-items", status_code=201, response_model=s.BudgetItemOut)
def record_budget_item(
    request: Request,
    period_id: int,
    data: s.BudgetItemCreate,
    ctx: Ctx = CtxDep,
    body: bytes = RawBodyDep,
) -> JSONResponse:
    return write(
        request,
        ctx,
        body,
        lambda: service.budget_item_out(ctx, service.record_budget_item(ctx, period_id, data)),
        location=lambda p: f"/api/payments/budget-items/{p['id']}",
    )


@router.get(
    P + "/budget-items",
    response_model=list[s.BudgetItemOut],
    summary="Budget items with actuals and variance",
)
def list_budget_items(
    request: Request, response: Response, period_id: int, ctx: Ctx = CtxDep, page: Page = PageDep
) -> list[s.BudgetItemOut]:
    items = paged(
        request,
        response,
        service.list_budget_items(ctx, period_id, after=page.after, limit=page.limit),
        page,
        lambda b: b.id,
    )
    actuals = service.budget_actuals(ctx, period_id)
    return [service.budget_item_out(ctx, b, actuals) for b in items]


@router.patch("/budget-items/{doc_id}", response_model=s.BudgetItemOut)
def patch_budget_item(
    doc_id: int,
    data: s.BudgetItemPatch,
    response: Response,
    ctx: Ctx = CtxDep,
    version: int | None = IfMatchDep,
) -> s.BudgetItemOut:
    b = service.patch_budget_item(ctx, doc_id, data, version)
    etag(response, b.version)
    return service.budget_item_out(ctx, b)


@router.delete("/budget-items/{doc_id}", status_code=204)
def delete_budget_item(
    doc_id: int, ctx: Ctx = CtxDep, version: int | None = IfMatchDep
) -> Response:
    service.delete_document(ctx, BudgetItem, doc_id, version)
    return Response(status_code=204)
