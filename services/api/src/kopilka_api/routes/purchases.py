"""Group purchases (SPEC §3b): admins open and finalize lists; owners (Mini App) order their own
items. Finalize records money: it honours Idempotency-Key like every money POST."""

from __future__ import annotations

from fastapi import Request, Response
from fastapi.responses import JSONResponse

from kopilka.context import Ctx
from kopilka.purchases import schemas as s
from kopilka.purchases import service
from kopilka_api.http import CtxDep, Page, PageDep, RawBodyDep, api_router, etag, paged, write

router = api_router(prefix="/api/payments", tags=["purchases"])


@router.post("/periods/{period_id}/purchases", status_code=201, response_model=s.PurchaseOut)
def create_purchase(
    request: Request,
    period_id: int,
    data: s.PurchaseCreate,
    ctx: Ctx = CtxDep,
    body: bytes = RawBodyDep,
) -> JSONResponse:
    return write(
        request,
        ctx,
        body,
        lambda: service.purchase_out(ctx, service.create_purchase(ctx, period_id, data)),
        location=lambda p: f"/api/payments/purchases/{p['id']}",
    )


@router.get("/periods/{period_id}/purchases", response_model=list[s.PurchaseOut])
def list_purchases(
    request: Request, response: Response, period_id: int, ctx: Ctx = CtxDep, page: Page = PageDep
) -> list[s.PurchaseOut]:
    rows = service.list_purchases(ctx, period_id, after=page.after, limit=page.limit)
    rows = paged(request, response, rows, page, lambda p: p.id)
    return service.purchases_out(ctx, rows)


@router.get("/purchases/{purchase_id}", response_model=s.PurchaseOut)
def get_purchase(purchase_id: int, response: Response, ctx: Ctx = CtxDep) -> s.PurchaseOut:
    p = service.get_purchase(ctx, purchase_id)
    etag(response, p.version)
    return service.purchase_out(ctx, p)


@router.patch("/purchases/{purchase_id}", response_model=s.PurchaseOut)
def patch_purchase(
    purchase_id: int, data: s.PurchasePatch, response: Response, ctx: Ctx = CtxDep
) -> s.PurchaseOut:
    p = service.patch_purchase(ctx, purchase_id, data)
    etag(response, p.version)
    return service.purchase_out(ctx, p)


@router.post("/purchases/{purchase_id}/items", status_code=201, response_model=s.ItemOut)
def add_item(
    request: Request,
    purchase_id: int,
    data: s.ItemCreate,
    ctx: Ctx = CtxDep,
    body: bytes = RawBodyDep,
) -> JSONResponse:
    return write(
        request,
        ctx,
        body,
        lambda: service.add_item(ctx, purchase_id, data),
        location=lambda p: f"/api/payments/purchase-items/{p['id']}",
    )


@router.get("/purchases/{purchase_id}/items", response_model=list[s.ItemOut])
def list_items(purchase_id: int, ctx: Ctx = CtxDep) -> list[s.ItemOut]:
    return service.list_items(ctx, purchase_id)


@router.patch("/purchase-items/{item_id}", response_model=s.ItemOut)
def patch_item(item_id: int, data: s.ItemPatch, ctx: Ctx = CtxDep) -> s.ItemOut:
    return service.patch_item(ctx, item_id, data)


@router.delete("/purchase-items/{item_id}", status_code=204)
def delete_item(item_id: int, ctx: Ctx = CtxDep) -> Response:
    service.delete_item(ctx, item_id)
    return Response(status_code=204)


@router.post("/purchases/{purchase_id}/finalize", status_code=200, response_model=s.FinalizeOut)
def finalize(
    request: Request,
    purchase_id: int,
    data: s.FinalizeIn,
    ctx: Ctx = CtxDep,
    body: bytes = RawBodyDep,
) -> JSONResponse:
    return write(
        request,
        ctx,
        body,
        lambda: service.finalized_out(ctx, service.finalize(ctx, purchase_id, data)),
        status_code=200,
        location=lambda p: f"/api/payments/expenses/{p['expense_id']}",
    )
