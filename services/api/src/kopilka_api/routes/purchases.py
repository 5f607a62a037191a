"""Group purchases (SPEC §3b): admins open and finalize lists; owners (Mini App) order their own
items. Finalize records money: it honours Idempotency-Key like every money POST."""

from __future__ import annotations

from kopilka.context import Ctx
from kopilka.purchases import schemas as s
from kopilka.purchases import service
from kopilka_api import crud
from kopilka_api.http import CtxDep, api_router

router = api_router(prefix="/api/payments", tags=["purchases"])

PURCHASES = crud.Resource(
    router,
    "/periods/{period_id}/purchases",
    "/purchases/{purchase_id}",
    s.PurchaseOut,
    to_out=service.purchase_out,
    versioned=True,
)
PURCHASES.create(
    "create_purchase",
    s.PurchaseCreate,
    service.create_purchase,
    location="/api/payments/purchases/{id}",
)
PURCHASES.listing(
    "list_purchases",
    service.list_purchases,
    lambda ctx, period_id, rows: service.purchases_out(ctx, rows),
)
PURCHASES.read("get_purchase", service.get_purchase)
PURCHASES.change("patch_purchase", s.PurchasePatch, service.patch_purchase)

ITEMS = crud.Resource(
    router, "/purchases/{purchase_id}/items", "/purchase-items/{item_id}", s.ItemOut
)
ITEMS.create(
    "add_item", s.ItemCreate, service.add_item, location="/api/payments/purchase-items/{id}"
)


@router.get("/purchases/{purchase_id}/items", response_model=list[s.ItemOut])
def list_items(purchase_id: int, ctx: Ctx = CtxDep) -> list[s.ItemOut]:
    return service.list_items(ctx, purchase_id)


ITEMS.change("patch_item", s.ItemPatch, service.patch_item)
ITEMS.delete("delete_item", service.delete_item)
PURCHASES.create(
    "finalize",
    s.FinalizeIn,
    service.finalize,
    path="/purchases/{purchase_id}/finalize",
    out=s.FinalizeOut,
    to_out=service.finalized_out,
    location="/api/payments/expenses/{expense_id}",
    status_code=200,
)
