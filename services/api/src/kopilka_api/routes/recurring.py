"""Recurring templates: charges (SPEC §4a) and expenses (SPEC §3b). Admins create, read, change
and deactivate them; the scheduled sweep generates their documents into the OPEN periods. Both
kinds have the same routes, one ``Template`` row each."""

from __future__ import annotations

from dataclasses import dataclass
from types import ModuleType

from fastapi import Query
from pydantic import BaseModel

from kopilka.recurring import expenses, service
from kopilka.recurring import schemas as s
from kopilka_api import crud
from kopilka_api.http import api_router

router = api_router(prefix="/api/payments", tags=["ledger"])

ACTIVE = crud.arg(
    "active",
    bool | None,
    Query(default=None, description="only active (true) or inactive"),
)


LIST = "List the templates"
CHANGE = "Change a template (from the next generated period on)"


@dataclass(frozen=True)
class Template:
    path: str  # "/recurring-charges"
    kopilka: ModuleType  # create/list/get/patch/deactivate_template, template(s)_out
    create: type[BaseModel]
    out: type[BaseModel]
    patch: type[BaseModel]
    made: str  # the summary of its create
    deactivate: str  # of its delete


TEMPLATES = [
    Template("/recurring-charges", service, s.RecurringChargeCreate, s.RecurringChargeOut,
             s.RecurringChargePatch, "Create a recurring charge template",
             "Deactivate a template (its charges already generated stay)"),
    Template("/recurring-expenses", expenses, s.RecurringExpenseCreate, s.RecurringExpenseOut,
             s.RecurringExpensePatch, "Create a recurring expense",
             "Deactivate a template (its expenses already generated stay)"),
]  # fmt: skip


def add_routes(t: Template) -> None:
    k = t.kopilka
    one = crud.Resource(router, t.path, t.path + "/{template_id}", t.out, to_out=k.template_out)
    location = "/api/payments" + t.path + "/{id}"
    one.create("create_template", t.create, k.create_template, location=location, summary=t.made)
    one.listing("list_templates", k.list_templates, k.templates_out, filters=[ACTIVE], summary=LIST)
    one.read("get_template", k.get_template)
    one.change("patch_template", t.patch, k.patch_template, summary=CHANGE)
    one.delete("deactivate_template", k.deactivate_template, summary=t.deactivate)


for _template in TEMPLATES:
    add_routes(_template)
