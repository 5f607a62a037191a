from __future__ import annotations

from typing import Any

from kopilka.communities import schemas as s
from kopilka.communities import service
from kopilka.context import Ctx
from kopilka_api import crud
from kopilka_api.http import CtxDep, api_router

router = api_router(prefix="/api/communities", tags=["communities"])


def _out(ctx: Ctx, community: Any) -> s.CommunityOut:
    return service.community_out(community)


COMMUNITIES = crud.Resource(router, "", "/{community_id}", s.CommunityOut, to_out=_out)
COMMUNITIES.create(
    "create_community",
    s.CommunityCreate,
    service.create_community,
    out=s.CommunityCreated,
    to_out=None,
    location="/api/communities/{id}",
    secret="admin_api_key",
    summary="Operator: create a community",
)
COMMUNITIES.listing(
    "list_communities",
    service.list_communities,
    lambda ctx, items: [service.community_out(c) for c in items],
    summary="Operator: list communities",
)
COMMUNITIES.read("get_community", service.get_community)
COMMUNITIES.change(
    "patch_community",
    s.CommunityPatch,
    service.patch_community,
    summary="Change settings (the operator: all; admins: their own language, reminders, admins)",
)

KEYS = crud.Resource(router, "/{community_id}/api-keys", "/{community_id}/api-keys/{key_id}")
KEYS.create(
    "issue_key",
    s.ApiKeyCreate,
    service.issue_api_key,
    out=s.ApiKeyCreated,
    secret="api_key",
    summary="Admins: issue a key (shown once)",
)


@router.get("/{community_id}/api-keys", response_model=list[s.ApiKeyOut])
def list_keys(community_id: int, ctx: Ctx = CtxDep) -> list[s.ApiKeyOut]:
    return [service.api_key_out(k) for k in service.list_api_keys(ctx, community_id)]


KEYS.delete("revoke_key", service.revoke_api_key)
