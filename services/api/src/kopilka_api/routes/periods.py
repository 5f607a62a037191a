from __future__ import annotations

from typing import Any

from kopilka.context import Ctx
from kopilka.periods import service
from kopilka.periods.schemas import PeriodCreate, PeriodList, PeriodOut, PeriodPatch
from kopilka_api import crud
from kopilka_api.http import api_router

router = api_router(prefix="/api/payments/periods", tags=["periods"])


def _out(ctx: Ctx, period: Any) -> PeriodOut:
    return service.period_out(period)


PERIODS = crud.Resource(router, "", "/{period_id}", PeriodOut, to_out=_out, versioned=True)
PERIODS.create(
    "create_period",
    PeriodCreate,
    service.create_period,
    location="/api/payments/periods/{id}",
    summary="Create a period",
)
PERIODS.listing(
    "list_periods",
    service.list_periods,
    lambda ctx, items: PeriodList(periods=[service.period_out(p) for p in items]),
    out=PeriodList,
    summary="List periods",
)
PERIODS.read("get_period", service.get_period)
PERIODS.change(
    "patch_period",
    PeriodPatch,
    service.patch_period,
    if_match=True,
    summary="Rename or re-describe",
)
