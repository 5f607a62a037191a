"""Recording money and the inputs of allocation, one table row per kind of document.

Every kind gets the same routes: ``POST /periods/{id}/<path>`` (honours Idempotency-Key, 201 with
``Location``), ``GET /periods/{id}/<path>`` (paged), and where the kind can be edited
``PATCH /<path>/{id}`` (``If-Match``, answers an ``ETag``) and ``DELETE /<path>/{id}``. A new kind
of document is one ``Document`` row in ``DOCUMENTS``; its rules live in ``kopilka.ledger.<kind>``.

(No ``from __future__ import annotations`` here: FastAPI reads each route's body type from its
annotations at run time, and the table sets them per kind.)"""

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from fastapi import Query, Request, Response
from fastapi.responses import JSONResponse
from pydantic import BaseModel

from kopilka.context import Ctx
from kopilka.ledger import (
    budget_items,
    charges,
    contributions,
    expenses,
    posting,
    readings,
    settlements,
)
from kopilka.ledger import schemas as s
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

router = api_router(prefix="/api/payments", tags=["ledger"])

Rows = Callable[[Ctx, int, int | None, int | None, int], list[Any]]


@dataclass(frozen=True)
class Filter:
    """The list's query parameter that picks one owner's documents."""

    name: str = "owner_id"
    description: str | None = None


@dataclass(frozen=True)
class Document:
    path: str  # "contributions": the URL segment
    name: str  # "contribution": the routes' names (record_contribution, ...)
    kind: posting.DocumentKind[Any]
    create: type[BaseModel]
    out: type[BaseModel]
    record: Callable[[Ctx, int, Any], BaseModel]  # the answer of a POST
    rows: Rows  # a page of (document, owner_id) or of documents, one row more than the limit
    outs: Callable[[Ctx, int, list[Any]], list[Any]]
    patch: type[BaseModel] | None = None
    edit: Callable[[Ctx, int, Any, int | None], Any] | None = None
    to_out: Callable[[Ctx, Any], BaseModel] | None = None
    filter: Filter | None = Filter()
    located: bool = True  # POST answers Location: /api/payments/<path>/{id}
    record_summary: str | None = None
    list_summary: str | None = None


def _with_owner(out: Callable[..., Any]) -> Callable[[Ctx, int, list[Any]], list[Any]]:
    return lambda ctx, period_id, rows: [out(ctx, doc, oid) for doc, oid in rows]


def _budget_outs(ctx: Ctx, period_id: int, items: list[Any]) -> list[Any]:
    actuals = budget_items.budget_actuals(ctx, period_id)
    return [budget_items.budget_item_out(ctx, b, actuals) for b in items]


DOCUMENTS = [
    Document(
        "contributions", "contribution", contributions.CONTRIBUTION,
        s.ContributionCreate, s.ContributionOut,
        record=contributions.record_contribution,
        rows=lambda c, p, who, after, limit: contributions.list_contributions(
            c, p, owner_id=who, after=after, limit=limit
        ),
        outs=_with_owner(contributions.contribution_out),
        patch=s.ContributionPatch, edit=contributions.patch_contribution,
        to_out=contributions.contribution_out,
    ),
    Document(
        "expenses", "expense", expenses.EXPENSE, s.ExpenseCreate, s.ExpenseOut,
        record=lambda c, p, d: expenses.expense_out(c, expenses.record_expense(c, p, d)),
        rows=lambda c, p, who, after, limit: expenses.list_expenses(
            c, p, paid_by=who, after=after, limit=limit
        ),
        outs=_with_owner(expenses.expense_out),
        patch=s.ExpensePatch, edit=expenses.patch_expense, to_out=expenses.expense_out,
        filter=Filter("paid_by", "owner_id of the payer"),
    ),
    Document(
        "charges", "charge", charges.CHARGE, s.ChargeCreate, s.ChargeOut,
        record=lambda c, p, d: charges.charge_out(c, charges.record_charge(c, p, d)),
        rows=lambda c, p, who, after, limit: charges.list_charges(
            c, p, owner_id=who, after=after, limit=limit
        ),
        outs=_with_owner(charges.charge_out),
        patch=s.ChargePatch, edit=charges.patch_charge, to_out=charges.charge_out,
    ),
    Document(
        "meter-readings", "reading", readings.READING, s.MeterReadingCreate, s.MeterReadingOut,
        record=lambda c, p, d: readings.reading_out(c, readings.record_reading(c, p, d)),
        rows=lambda c, p, who, after, limit: readings.list_readings(
            c, p, owner_id=who, after=after, limit=limit
        ),
        outs=_with_owner(readings.reading_out),
        patch=s.MeterReadingPatch, edit=readings.patch_reading, to_out=readings.reading_out,
    ),
    Document(
        "budget-items", "budget_item", budget_items.BUDGET_ITEM,
        s.BudgetItemCreate, s.BudgetItemOut,
        record=lambda c, p, d: budget_items.budget_item_out(
            c, budget_items.record_budget_item(c, p, d)
        ),
        rows=lambda c, p, who, after, limit: budget_items.list_budget_items(
            c, p, after=after, limit=limit
        ),
        outs=_budget_outs,
        patch=s.BudgetItemPatch, edit=budget_items.patch_budget_item,
        to_out=budget_items.budget_item_out,
        filter=None, list_summary="Budget items with actuals and variance",
    ),
    Document(
        "settlements", "settlement", settlements.SETTLEMENT,
        s.SettlementCreate, s.SettlementOut,
        record=lambda c, p, d: settlements.settlement_out(
            c, settlements.record_settlement(c, p, d)
        ),
        rows=lambda c, p, who, after, limit: settlements.list_settlements(
            c, p, after=after, limit=limit
        ),
        outs=lambda c, p, items: [settlements.settlement_out(c, t) for t in items],
        patch=s.SettlementPatch, edit=settlements.patch_settlement,
        to_out=settlements.settlement_out,
        filter=None, located=False, record_summary="Record a transfer between owners",
    ),
]  # fmt: skip


def _row_id(row: Any) -> int:
    doc = row[0] if isinstance(row, tuple) else row
    return int(doc.id)


def add_routes(doc: Document) -> None:
    """The routes of one kind of document."""
    collection = "/periods/{period_id}/" + doc.path
    location = (lambda p: f"/api/payments/{doc.path}/{p['id']}") if doc.located else None

    def record(
        request: Request, period_id: int, data: Any, ctx: Ctx = CtxDep, body: bytes = RawBodyDep
    ) -> JSONResponse:
        return write(
            request, ctx, body, lambda: doc.record(ctx, period_id, data), location=location
        )

    record.__annotations__["data"] = doc.create
    router.add_api_route(
        collection,
        record,
        methods=["POST"],
        status_code=201,
        response_model=doc.out,
        name=f"record_{doc.name}",
        summary=doc.record_summary,
    )

    def listing(
        request: Request,
        response: Response,
        period_id: int,
        ctx: Ctx,
        page: Page,
        who: int | None,
    ) -> list[Any]:
        rows = doc.rows(ctx, period_id, who, page.after, page.limit)
        return doc.outs(ctx, period_id, paged(request, response, rows, page, _row_id))

    if doc.filter is not None:
        by = doc.filter

        def list_documents(
            request: Request,
            response: Response,
            period_id: int,
            ctx: Ctx = CtxDep,
            page: Page = PageDep,
            who: int | None = Query(default=None, alias=by.name, description=by.description),
        ) -> list[Any]:
            return listing(request, response, period_id, ctx, page, who)

    else:

        def list_documents(  # type: ignore[misc]
            request: Request,
            response: Response,
            period_id: int,
            ctx: Ctx = CtxDep,
            page: Page = PageDep,
        ) -> list[Any]:
            return listing(request, response, period_id, ctx, page, None)

    router.add_api_route(
        collection,
        list_documents,
        methods=["GET"],
        response_model=list[doc.out],  # type: ignore[name-defined]
        name=f"list_{doc.name}s",
        summary=doc.list_summary,
    )
    if doc.edit is None or doc.patch is None or doc.to_out is None:
        return
    edit, to_out = doc.edit, doc.to_out

    def patch(
        doc_id: int,
        data: Any,
        response: Response,
        ctx: Ctx = CtxDep,
        version: int | None = IfMatchDep,
    ) -> BaseModel:
        changed = edit(ctx, doc_id, data, version)
        etag(response, changed.version)
        return to_out(ctx, changed)

    patch.__annotations__["data"] = doc.patch
    router.add_api_route(
        f"/{doc.path}/{{doc_id}}",
        patch,
        methods=["PATCH"],
        response_model=doc.out,
        name=f"patch_{doc.name}",
    )

    def delete(doc_id: int, ctx: Ctx = CtxDep, version: int | None = IfMatchDep) -> Response:
        posting.delete(ctx, doc.kind, doc_id, version)
        return Response(status_code=204)

    router.add_api_route(
        f"/{doc.path}/{{doc_id}}",
        delete,
        methods=["DELETE"],
        status_code=204,
        name=f"delete_{doc.name}",
    )


for _document in DOCUMENTS:
    add_routes(_document)
