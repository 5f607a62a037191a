from __future__ import annotations

from kopilka.owners import service
from kopilka.owners.schemas import OwnerCreate, OwnerOut, OwnerPatch
from kopilka_api import crud
from kopilka_api.http import api_router

router = api_router(prefix="/api/payments/owners", tags=["owners"])

OWNERS = crud.Resource(
    router, "", "/{owner_id}", OwnerOut, to_out=service.owner_out, versioned=True
)
OWNERS.create(
    "create_owner", OwnerCreate, service.create_owner, location="/api/payments/owners/{owner_id}"
)
OWNERS.listing("list_owners", service.list_owners, service.owners_out, key=lambda o: o.owner_id)
OWNERS.read("get_owner", service.get_owner)
OWNERS.change("patch_owner", OwnerPatch, service.patch_owner, if_match=True)
