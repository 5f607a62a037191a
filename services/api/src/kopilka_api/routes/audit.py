"""The audit trail for the treasurer (SPEC §6): ``GET /api/payments/audit``."""

from __future__ import annotations

from fastapi import Query

from kopilka.audit import service
from kopilka.audit.schemas import AuditEntryOut
from kopilka_api import crud
from kopilka_api.http import api_router

router = api_router(prefix="/api/payments", tags=["ledger"])


crud.Resource(router, "/audit", out=AuditEntryOut).listing(
    "audit_trail",
    service.list_audit,
    lambda ctx, entries: [service.audit_out(e) for e in entries],
    filters=[
        crud.arg(
            "object_type",
            str | None,
            Query(
                default=None,
                max_length=100,
                description="contribution, expense, settlement, period...",
            ),
        ),
        crud.arg("object_id", str | None, Query(default=None, max_length=100)),
        crud.arg(
            "owner_id", int | None, Query(default=None, description="what concerns this owner")
        ),
    ],
    summary="The audit trail, newest first (admins)",
)
