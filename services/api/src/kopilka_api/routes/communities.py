from __future__ import annotations

from fastapi import Request, Response
from fastapi.responses import JSONResponse

from kopilka.communities import service
from kopilka.communities.schemas import (
    ApiKeyCreate,
    ApiKeyCreated,
    ApiKeyOut,
    CommunityCreate,
    CommunityCreated,
    CommunityOut,
    CommunityPatch,
)
from kopilka.context import Ctx
from kopilka_api.http import CtxDep, Page, PageDep, RawBodyDep, api_router, paged, write

router = api_router(prefix="/api/communities", tags=["communities"])


@router.post(
    "", status_code=201, response_model=CommunityCreated, summary="Operator: create a community"
)
def create_community(
    request: Request, data: CommunityCreate, ctx: Ctx = CtxDep, body: bytes = RawBodyDep
) -> JSONResponse:
    return write(
        request,
        ctx,
        body,
        lambda: service.create_community(ctx, data),
        location=lambda p: f"/api/communities/{p['id']}",
        secret="admin_api_key",
    )


@router.get("", response_model=list[CommunityOut], summary="Operator: list communities")
def list_communities(
    request: Request, response: Response, ctx: Ctx = CtxDep, page: Page = PageDep
) -> list[CommunityOut]:
    items = paged(
        request,
        response,
        service.list_communities(ctx, after=page.after, limit=page.limit),
        page,
        lambda c: c.id,
    )
    return [service.community_out(c) for c in items]


@router.get("/{community_id}", response_model=CommunityOut)
def get_community(community_id: int, ctx: Ctx = CtxDep) -> CommunityOut:
    return service.community_out(service.get_community(ctx, community_id))


@router.patch(
    "/{community_id}",
    response_model=CommunityOut,
    summary="Change settings (the operator: all; admins: their own language, reminders, admins)",
)
def patch_community(community_id: int, data: CommunityPatch, ctx: Ctx = CtxDep) -> CommunityOut:
    return service.community_out(service.patch_community(ctx, community_id, data))


@router.post(
    "/{community_id}/api-keys",
    status_code=201,
    response_model=ApiKeyCreated,
    summary="Admins: issue a key (shown once)",
)
def issue_key(
    request: Request,
    community_id: int,
    data: ApiKeyCreate,
    ctx: Ctx = CtxDep,
    body: bytes = RawBodyDep,
) -> JSONResponse:
    return write(
        request,
        ctx,
        body,
        lambda: service.issue_api_key(ctx, community_id, data),
        secret="api_key",
    )


@router.get("/{community_id}/api-keys", response_model=list[ApiKeyOut])
def list_keys(community_id: int, ctx: Ctx = CtxDep) -> list[ApiKeyOut]:
    return [service.api_key_out(k) for k in service.list_api_keys(ctx, community_id)]


@router.delete("/{community_id}/api-keys/{key_id}", status_code=204)
def revoke_key(community_id: int, key_id: int, ctx: Ctx = CtxDep) -> Response:
    service.revoke_api_key(ctx, community_id, key_id)
    return Response(status_code=204)
