from __future__ import annotations

from fastapi import Request, Response
from fastapi.responses import JSONResponse

from kopilka.context import Ctx
from kopilka.owners import service
from kopilka.owners.schemas import OwnerCreate, OwnerOut, OwnerPatch
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

router = api_router(prefix="/api/payments/owners", tags=["owners"])


@router.post("", status_code=201, response_model=OwnerOut)
def create_owner(
    request: Request, data: OwnerCreate, ctx: Ctx = CtxDep, body: bytes = RawBodyDep
) -> JSONResponse:
    return write(
        request,
        ctx,
        body,
        lambda: service.owner_out(ctx, service.create_owner(ctx, data)),
        location=lambda p: f"/api/payments/owners/{p['owner_id']}",
    )


@router.get("", response_model=list[OwnerOut])
def list_owners(
    request: Request, response: Response, ctx: Ctx = CtxDep, page: Page = PageDep
) -> list[OwnerOut]:
    items = paged(
        request,
        response,
        service.list_owners(ctx, after=page.after, limit=page.limit),
        page,
        lambda o: o.owner_id,
    )
    return service.owners_out(ctx, items)


@router.get("/{owner_id}", response_model=OwnerOut)
def get_owner(owner_id: int, response: Response, ctx: Ctx = CtxDep) -> OwnerOut:
    o = service.get_owner(ctx, owner_id)
    etag(response, o.version)
    return service.owner_out(ctx, o)


@router.patch("/{owner_id}", response_model=OwnerOut)
def patch_owner(
    owner_id: int,
    data: OwnerPatch,
    response: Response,
    ctx: Ctx = CtxDep,
    version: int | None = IfMatchDep,
) -> OwnerOut:
    o = service.patch_owner(ctx, owner_id, data, version)
    etag(response, o.version)
    return service.owner_out(ctx, o)
