"""Bank statement import (SPEC §4b): upload (202 with the job), the imports and their lines,
the treasurer's assignments, the payer rules. The work is ``kopilka.imports.service``."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import File, Form, Query, Request, Response, UploadFile
from fastapi.responses import JSONResponse

from kopilka.context import Ctx
from kopilka.errors import PayloadTooLarge, ValidationFailed
from kopilka.imports import schemas as s
from kopilka.imports import service
from kopilka.jobs.schemas import JobOut
from kopilka_api.http import CtxDep, Page, PageDep, RawBodyDep, api_router, paged, write
from kopilka_api.routes.jobs import start_job

router = api_router(prefix="/api/payments/imports", tags=["bank import"])


@router.post(
    "",
    status_code=202,
    response_model=JobOut,
    responses={
        202: {"model": JobOut, "description": "Accepted: the import's job, with Location"},
        200: {"model": JobOut, "description": "With Prefer: wait=N, the finished job"},
    },
    summary="Upload a bank statement (multipart: file, format?, mapping?); books it as a job",
)
async def upload(
    request: Request,
    file: Annotated[
        UploadFile | None, File(description="1CClientBankExchange, camt.053 or CSV")
    ] = None,
    format: Annotated[
        str | None, Form(description="1c, camt053 or csv; detected if omitted")
    ] = None,
    mapping: Annotated[str | None, Form(description="CSV: JSON naming the columns")] = None,
    ctx: Ctx = CtxDep,
) -> JSONResponse:
    started: dict[str, int] = {}

    def produce() -> Any:
        ctx.require_admin()  # who asks comes before what they sent
        if file is None:
            raise ValidationFailed("file: the statement (multipart form field 'file') is required")
        limit = service.max_upload_bytes()
        content = file.file.read(limit + 1)
        if len(content) > limit:
            raise PayloadTooLarge(f"The statement is over {limit} bytes")
        if not content:
            raise ValidationFailed("file: the statement is empty")
        imp, job = service.start_import(
            ctx, file_name=file.filename, content=content, fmt=format, mapping=mapping
        )
        started["import_id"] = imp.id
        return job

    response = await start_job(request, ctx, produce)
    response.headers["Content-Location"] = f"/api/payments/imports/{started['import_id']}"
    return response


@router.get("", response_model=list[s.ImportOut], summary="The community's imports, newest first")
def list_imports(
    request: Request, response: Response, ctx: Ctx = CtxDep, page: Page = PageDep
) -> list[s.ImportOut]:
    rows = service.list_imports(ctx, after=page.after, limit=page.limit)
    rows = paged(request, response, rows, page, lambda r: r.id)
    return [service.import_out(ctx, r) for r in rows]


@router.get("/rules", response_model=list[s.RuleOut], summary="Remembered payer rules")
def list_rules(ctx: Ctx = CtxDep) -> list[s.RuleOut]:
    return service.list_rules(ctx)


@router.post(
    "/rules", status_code=201, response_model=s.RuleOut,
    summary="Teach a rule: payer (account or INN) → owner, or recipient → expense payment_type",
)  # fmt: skip
def create_rule(data: s.RuleCreate, ctx: Ctx = CtxDep) -> s.RuleOut:
    return service.create_rule(ctx, data)


@router.get("/{import_id}", response_model=s.ImportOut, summary="One import with its counts")
def get_import(import_id: int, ctx: Ctx = CtxDep) -> s.ImportOut:
    return service.import_out(ctx, service.get_import(ctx, import_id))


@router.get("/{import_id}/lines", response_model=list[s.ImportLineOut], summary="An import's lines")
def list_lines(
    request: Request,
    response: Response,
    import_id: int,
    ctx: Ctx = CtxDep,
    page: Page = PageDep,
    status: str | None = Query(
        default=None, description="BOOKED, DUPLICATE, UNMATCHED, IGNORED or WAITING"
    ),
) -> list[s.ImportLineOut]:
    rows = service.list_lines(ctx, import_id, status=status, after=page.after, limit=page.limit)
    rows = paged(request, response, rows, page, lambda r: r[0].id)
    return [service.line_out(ctx, line, oid, name) for line, oid, name in rows]


@router.post(
    "/{import_id}/lines/{line_id}/assign",
    response_model=s.AssignOut,
    summary="Book an unmatched line to an owner (or a waiting debit as an expense); remember",
)
def assign(
    request: Request,
    import_id: int,
    line_id: int,
    data: s.AssignLine,
    ctx: Ctx = CtxDep,
    body: bytes = RawBodyDep,
) -> JSONResponse:
    return write(
        request, ctx, body, lambda: service.assign_line(ctx, import_id, line_id, data),
        status_code=200,
    )  # fmt: skip


@router.post(
    "/{import_id}/lines/{line_id}/ignore",
    response_model=s.ImportLineOut,
    summary="Set an unmatched or waiting line aside (IGNORED)",
)
def ignore(import_id: int, line_id: int, ctx: Ctx = CtxDep) -> s.ImportLineOut:
    line = service.ignore_line(ctx, import_id, line_id)
    return service.line_out(ctx, line, None, None)
