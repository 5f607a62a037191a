"""Telegram linking: an admin issues a one-time ``/start`` deep link for an owner."""

from __future__ import annotations

from kopilka.context import Ctx
from kopilka.owners.linking import LinkTokenOut, link_token_out
from kopilka_api.http import CtxDep, api_router

router = api_router(prefix="/api/payments/owners", tags=["owners"])


@router.post(
    "/{owner_id}/link-token",
    status_code=201,
    response_model=LinkTokenOut,
    summary="Issue a one-time Telegram link for an owner",
    description=(
        "Admins only. Answers a token and the deep link `https://t.me/<bot>?start=<token>`; "
        "the owner opens it and the bot's `/start` links their chat. The token is shown once, "
        "works once and expires in 7 days."
    ),
)
def issue_link_token(owner_id: int, ctx: Ctx = CtxDep) -> LinkTokenOut:
    return link_token_out(ctx, owner_id)
