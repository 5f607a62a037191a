"""The audit trail for the treasurer (SPEC §6): ``GET /api/payments/audit``."""

from __future__ import annotations

from fastapi import Query, Request, Response

from kopilka.audit import service
from kopilka.audit.schemas import AuditEntryOut
from kopilka.context import Ctx
from kopilka_api.http import CtxDep, Page, PageDep, api_router, paged

router = api_router(prefix="/api/payments", tags=["ledger"])


@router.get(
    "/audit",
    response_model=list[AuditEntryOut],
    summary="The audit trail, newest first (admins)",
)
def audit_trail(
    request: Request,
    response: Response,
    ctx: Ctx = CtxDep,
    page: Page = PageDep,
    object_type: str | None = Query(
        default=None, max_length=100, description="contribution, expense, settlement, period..."
    ),
    object_id: str | None = Query(default=None, max_length=100),
    owner_id: int | None = Query(default=None, description="what concerns this owner"),
) -> list[AuditEntryOut]:
    entries = service.list_audit(
        ctx,
        object_type=object_type,
        object_id=object_id,
        owner_id=owner_id,
        after=page.after,
        limit=page.limit,
    )
    return [service.audit_out(e) for e in paged(request, response, entries, page, lambda e: e.id)]
