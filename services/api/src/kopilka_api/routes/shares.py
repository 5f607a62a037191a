"""One expense with its shares, and settling one share (SPEC §3b). The settle records money:
it honours Idempotency-Key like every money POST."""

from __future__ import annotations

from kopilka.context import Ctx
from kopilka.ledger import schemas as s
from kopilka.ledger import shares
from kopilka_api import crud
from kopilka_api.http import CtxDep, api_router

router = api_router(prefix="/api/payments", tags=["ledger"])


@router.get("/expenses/{expense_id}", response_model=s.ExpenseDetailOut)
def get_expense(expense_id: int, ctx: Ctx = CtxDep) -> s.ExpenseDetailOut:
    return shares.expense_detail(ctx, expense_id)


crud.Resource(
    router, "/expenses/{expense_id}/shares/{owner_id}/settle", out=s.ShareSettledOut
).create(
    "settle_share",
    s.ShareSettle,
    shares.settle_share,
    location="/api/payments/settlements/{settlement[id]}",
    summary="Settle (part of) one owner's share of an expense to its payer",
)
