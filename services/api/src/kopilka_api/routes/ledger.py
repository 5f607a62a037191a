"""Recording money and the inputs of allocation, one table row per kind of document.

Every kind gets the same routes: ``POST /periods/{id}/<path>`` (honours Idempotency-Key, 201 with
``Location``), ``GET /periods/{id}/<path>`` (paged), and where the kind can be edited
``PATCH /<path>/{id}`` (``If-Match``, answers an ``ETag``) and ``DELETE /<path>/{id}``. A new kind
of document is one ``Document`` row in ``DOCUMENTS``; its rules live in ``kopilka.ledger.<kind>``;
the routes' shapes are ``kopilka_api.crud``'s."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from fastapi import Query
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
from kopilka_api import crud
from kopilka_api.http import api_router

router = api_router(prefix="/api/payments", tags=["ledger"])


@dataclass(frozen=True)
class Filter:
    """The list's query parameter that picks one owner's documents (also the name of the
    ``rows`` function's keyword)."""

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
    rows: Callable[..., list[Any]]  # (ctx, period_id, after=, limit=[, <filter>=]): a page of
    # (document, owner_id) or of documents, one row more than the limit
    outs: Callable[[Ctx, int, list[Any]], list[Any]]
    patch: type[BaseModel] | None = None
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
        rows=contributions.list_contributions,
        outs=_with_owner(contributions.contribution_out),
        patch=s.ContributionPatch,
        to_out=contributions.contribution_out,
    ),
    Document(
        "expenses", "expense", expenses.EXPENSE, s.ExpenseCreate, s.ExpenseOut,
        record=lambda c, p, d: expenses.expense_out(c, expenses.record_expense(c, p, d)),
        rows=expenses.list_expenses,
        outs=_with_owner(expenses.expense_out),
        patch=s.ExpensePatch, to_out=expenses.expense_out,
        filter=Filter("paid_by", "owner_id of the payer"),
    ),
    Document(
        "charges", "charge", charges.CHARGE, s.ChargeCreate, s.ChargeOut,
        record=lambda c, p, d: charges.charge_out(c, charges.record_charge(c, p, d)),
        rows=charges.list_charges,
        outs=_with_owner(charges.charge_out),
        patch=s.ChargePatch, to_out=charges.charge_out,
    ),
    Document(
        "meter-readings", "reading", readings.READING, s.MeterReadingCreate, s.MeterReadingOut,
        record=lambda c, p, d: readings.reading_out(c, readings.record_reading(c, p, d)),
        rows=readings.list_readings,
        outs=_with_owner(readings.reading_out),
        patch=s.MeterReadingPatch, to_out=readings.reading_out,
    ),
    Document(
        "budget-items", "budget_item", budget_items.BUDGET_ITEM,
        s.BudgetItemCreate, s.BudgetItemOut,
        record=lambda c, p, d: budget_items.budget_item_out(
            c, budget_items.record_budget_item(c, p, d)
        ),
        rows=budget_items.list_budget_items,
        outs=_budget_outs,
        patch=s.BudgetItemPatch,
        to_out=budget_items.budget_item_out,
        filter=None, list_summary="Budget items with actuals and variance",
    ),
    Document(
        "settlements", "settlement", settlements.SETTLEMENT,
        s.SettlementCreate, s.SettlementOut,
        record=lambda c, p, d: settlements.settlement_out(
            c, settlements.record_settlement(c, p, d)
        ),
        rows=settlements.list_settlements,
        outs=lambda c, p, items: [settlements.settlement_out(c, t) for t in items],
        patch=s.SettlementPatch,
        to_out=settlements.settlement_out,
        filter=None, located=False, record_summary="Record a transfer between owners",
    ),
]  # fmt: skip


def _row_id(row: Any) -> int:
    doc = row[0] if isinstance(row, tuple) else row
    return int(doc.id)


def add_routes(doc: Document) -> None:
    """The routes of one kind of document."""
    one = crud.Resource(
        router,
        "/periods/{period_id}/" + doc.path,
        f"/{doc.path}/{{doc_id}}",
        doc.out,
        to_out=doc.to_out,
        versioned=True,
    )
    location = f"/api/payments/{doc.path}/{{id}}" if doc.located else None
    one.create(
        f"record_{doc.name}",
        doc.create,
        doc.record,
        to_out=None,
        location=location,
        summary=doc.record_summary,
    )
    by = doc.filter
    one.listing(
        f"list_{doc.name}s",
        doc.rows,
        doc.outs,
        filters=[]
        if by is None
        else [
            crud.arg(
                by.name,
                int | None,
                Query(default=None, alias=by.name, description=by.description),
            )
        ],
        key=_row_id,
        summary=doc.list_summary,
    )
    if doc.patch is None or doc.to_out is None:
        return
    kind = doc.kind
    one.change(
        f"patch_{doc.name}",
        doc.patch,
        lambda ctx, doc_id, data, version: posting.edit(ctx, kind, doc_id, data, version),
        if_match=True,
    )
    one.delete(
        f"delete_{doc.name}",
        lambda ctx, doc_id, version: posting.delete(ctx, kind, doc_id, version),
        if_match=True,
    )


for _document in DOCUMENTS:
    add_routes(_document)
