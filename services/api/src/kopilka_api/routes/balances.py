from __future__ import annotations

from fastapi import Query, Response
from pydantic_core import to_json

from kopilka.balances import service
from kopilka.balances.schemas import BalanceSheetOut, OwnerBalanceOut
from kopilka.context import Ctx
from kopilka.settlements import service as settlements
from kopilka.settlements.schemas import SuggestedSettlementsOut
from kopilka_api.http import CtxDep, api_router

router = api_router(prefix="/api/payments/periods/{period_id}", tags=["balances"])


@router.get(
    "/balance-sheet", response_model=BalanceSheetOut, summary="Per-owner balances (live for OPEN)"
)
def balance_sheet(period_id: int, ctx: Ctx = CtxDep) -> Response:
    # Built as plain data (shaped as BalanceSheetOut): no per-line re-validation of big sheets;
    # serialized by pydantic-core (Rust), 2-3x faster than json.dumps on 10,000 lines.
    return Response(to_json(service.balance_sheet(ctx, period_id)), media_type="application/json")


@router.get("/balances/{owner_id}", response_model=OwnerBalanceOut, summary="One owner's balance")
def owner_balance(period_id: int, owner_id: int, ctx: Ctx = CtxDep) -> OwnerBalanceOut:
    return service.owner_balance(ctx, period_id, owner_id)


router.get(
    "/owner-balance/{owner_id}",
    response_model=OwnerBalanceOut,
    summary="Alias of /balances/{owner_id}",
    name="owner_balance_alias",
)(owner_balance)


@router.get(
    "/settlements/suggested",
    response_model=SuggestedSettlementsOut,
    summary="Fewest transfers that settle owners",
)
def suggested(
    period_id: int,
    ctx: Ctx = CtxDep,
    via: int | None = Query(default=None, description="owner_id of a hub (the treasurer)"),
) -> SuggestedSettlementsOut:
    return settlements.suggest(ctx, period_id, via=via)
