"""Statements (SPEC §4a): an owner's across periods, a period's across owners, as JSON or as a
file (``?format=csv|xlsx|pdf``), and the owner's invoices.

The renderers are CPU-bound, so these are plain ``def`` routes (FastAPI runs them in its
threadpool)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, Literal

from fastapi import Query, Request, Response
from fastapi.responses import JSONResponse

from kopilka.context import Ctx
from kopilka.invoices import payment_qr
from kopilka.invoices import service as invoices
from kopilka.invoices.schemas import InvoiceOut
from kopilka.statements import delivery, service
from kopilka.statements.delivery import StatementSentOut
from kopilka.statements.export import (
    MEDIA_TYPES,
    export_filename,
    render_owner_statement,
    render_period_statement,
)
from kopilka.statements.schemas import OwnerStatementOut, PeriodStatementOut
from kopilka_api import crud
from kopilka_api.http import CtxDep, RawBodyDep, api_router, write

router = api_router(tags=["owners"])

OwnerFormat = Literal["json", "csv", "xlsx", "pdf"]
PeriodFormat = Literal["json", "csv", "xlsx", "pdf"]


def _file_responses(*formats: str) -> dict[int | str, dict[str, Any]]:
    return {200: {"content": {MEDIA_TYPES[f].split(";")[0]: {} for f in formats}}}


def _answer(statement: Any, fmt: str, file: Callable[[], tuple[bytes, str]]) -> Any:
    """The statement as JSON, or ``file()`` (the rendered bytes and the download's name) as an
    attachment."""
    if fmt == "json":
        return statement
    content, filename = file()
    return Response(
        content=content,
        media_type=MEDIA_TYPES[fmt],
        headers={
            "Content-Disposition": f'attachment; filename="{filename}"',
            "Cache-Control": "no-store",
        },
    )


@router.get(
    "/api/payments/owners/{owner_id}/statement",
    response_model=OwnerStatementOut,
    summary="The owner's account statement across periods (JSON, CSV, XLSX or PDF)",
    responses=_file_responses("csv", "xlsx", "pdf"),
)
def owner_statement(
    owner_id: int,
    ctx: Ctx = CtxDep,
    format: OwnerFormat = Query(default="json", description="json, csv, xlsx or pdf"),
) -> Any:
    s = service.owner_statement(ctx, owner_id)
    return _answer(s, format, lambda: (
        render_owner_statement(s, format, service.owner_statement_language(ctx, owner_id)),
        export_filename("owner", s.community_name, str(s.owner_id), format, on=ctx.today()),
    ))  # fmt: skip


@router.get(
    "/api/payments/periods/{period_id}/statement",
    response_model=PeriodStatementOut,
    summary="The period's statement: every owner's line, totals, invoices by status",
    responses=_file_responses("csv", "xlsx", "pdf"),
)
def period_statement(
    period_id: int,
    ctx: Ctx = CtxDep,
    format: PeriodFormat = Query(default="json", description="json, csv, xlsx or pdf"),
) -> Any:
    s = service.period_statement(ctx, period_id)
    return _answer(s, format, lambda: (
        render_period_statement(s, format, service.period_statement_language(ctx)),
        export_filename("period", s.community_name, s.period_name, format, on=ctx.today()),
    ))  # fmt: skip


crud.Resource(router, "/api/payments/owners/{owner_id}/invoices", out=InvoiceOut).listing(
    "owner_invoices",
    invoices.owner_invoices,
    lambda ctx, owner_id, items: items,
    summary="The owner's invoices, oldest first, with what is paid and pending",
)


@router.get(
    "/api/payments/owners/{owner_id}/invoices/{invoice_id}/payment-qr.{kind}",
    summary="The invoice's payment QR code (GOST R 56042-2014) as PNG or SVG",
    responses={200: {"content": {"image/png": {}, "image/svg+xml": {}}}},
)
def invoice_payment_qr(
    owner_id: int, invoice_id: int, kind: Literal["png", "svg"], ctx: Ctx = CtxDep
) -> Response:
    code = invoices.invoice_payment_qr(ctx, owner_id, invoice_id)
    if kind == "svg":
        return Response(payment_qr.svg(code), media_type="image/svg+xml")
    return Response(payment_qr.png(code, scale=6), media_type="image/png")


@router.post(
    "/api/payments/owners/{owner_id}/statement/send",
    status_code=202,
    response_model=StatementSentOut,
    summary="Send the owner their PDF statement in Telegram",
    description=(
        "Admins only. Queues the owner's statement, as a PDF in their language, to their linked "
        "Telegram chat (409 when they have not linked Telegram or blocked the bot). Honours "
        "`Idempotency-Key`: a retried request sends it once."
    ),
)
def send_owner_statement(
    request: Request, owner_id: int, ctx: Ctx = CtxDep, body: bytes = RawBodyDep
) -> JSONResponse:
    return write(
        request, ctx, body, lambda: delivery.send_owner_statement(ctx, owner_id), status_code=202
    )
