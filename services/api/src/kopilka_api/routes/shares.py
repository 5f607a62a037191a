"""One expense with its shares, and settling one share (SPEC §3b). The settle records money:
it honours Idempotency-Key like every money POST."""

from __future__ import annotations

from fastapi import Request
from fastapi.responses import JSONResponse

from kopilka.context import Ctx
from kopilka.ledger import schemas as s
from kopilka.ledger import shares
from kopilka_api.http import CtxDep, RawBodyDep, api_router, write

router = api_router(prefix="/api/payments", tags=["ledger"])


@router.get("/expenses/{expense_id}", response_model=s.ExpenseDetailOut)
def get_expense(expense_id: int, ctx: Ctx = CtxDep) -> s.ExpenseDetailOut:
    return shares.expense_detail(ctx, expense_id)


@router.post(
    "/expenses/{expense_id}/shares/{owner_id}/settle",
    status_code=201,
    response_model=s.ShareSettledOut,
    summary="Settle (part of) one owner's share of an expense to its payer",
)
def settle_share(
    request: Request,
    expense_id: int,
    owner_id: int,
    data: s.ShareSettle,
    ctx: Ctx = CtxDep,
    body: bytes = RawBodyDep,
) -> JSONResponse:
    return write(
        request,
        ctx,
        body,
        lambda: shares.settle_share(ctx, expense_id, owner_id, data),
        location=lambda p: f"/api/payments/settlements/{p['settlement']['id']}",
    )
