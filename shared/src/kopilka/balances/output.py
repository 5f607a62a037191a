"""A sheet and an owner's line as answers: JSON-ready data with amounts as decimal strings."""

from __future__ import annotations

from typing import Any

from kopilka.balances.rows import OwnerRow
from kopilka.balances.schemas import BalanceEntryOut, BalanceSheetOut
from kopilka.balances.sheet import Sheet
from kopilka.money import currency_exponent, format_minor
from kopilka.plots.billing import detail_dict


def minor_formatter(currency: str) -> Any:
    """``format_minor`` for one currency, its exponent looked up once (a sheet formats 80,000
    amounts)."""
    exp = currency_exponent(currency)
    if exp == 0:
        return str
    unit = 10**exp
    tails = [f".{r:0{exp}d}" for r in range(unit)] if exp <= 3 else None

    def f(minor: int) -> str:
        if minor < 0:
            q, r = divmod(-minor, unit)
            return "-" + str(q) + (tails[r] if tails else f".{r:0{exp}d}")
        q, r = divmod(minor, unit)
        return str(q) + (tails[r] if tails else f".{r:0{exp}d}")

    return f


def entry_dict(row: OwnerRow, currency: str, f: Any = None) -> dict[str, Any]:
    """One owner's line as JSON-ready data (the fields of BalanceEntryOut)."""
    if f is None:
        f = minor_formatter(currency)
    return {
        "owner_id": row.owner_id,
        "name": row.name,
        "opening_balance": f(row.opening_balance),
        "total_contributions": f(row.contributions),
        "total_paid_expenses": f(row.paid_expenses),
        "total_allocated": f(row.allocated),
        "total_service_charges": f(row.service_charges),
        "total_charges": f(row.allocated + row.service_charges),
        "net_settlements": f(row.net_settlements),
        "balance": f(row.balance),
    }


def entry_out(row: OwnerRow, currency: str) -> BalanceEntryOut:
    return BalanceEntryOut(**entry_dict(row, currency))


def sheet_dict(sheet: Sheet) -> dict[str, Any]:
    """The sheet as JSON-ready data (the fields of BalanceSheetOut), built without per-line
    model validation: a sheet of 10,000 owners is answered as it is computed."""
    c = sheet.currency
    f = format_minor
    fast = minor_formatter(c)
    rows = sheet.rows
    unallocated = sheet.allocation.unallocated
    owner_ids = {r.owner_pk: r.owner_id for r in rows}
    return {
        "period_id": sheet.period.id,
        "period_name": sheet.period.name,
        "status": sheet.period.status,
        "currency": c,
        "entries": [entry_dict(r, c, fast) for r in rows],
        "total_opening_balance": f(sum(r.opening_balance for r in rows), c),
        "total_contributions": f(sum(r.contributions for r in rows), c),
        "total_paid_expenses": f(sum(r.paid_expenses for r in rows), c),
        "total_allocated": f(sum(r.allocated for r in rows), c),
        "total_service_charges": f(sum(r.service_charges for r in rows), c),
        "total_charges": f(sum(r.allocated + r.service_charges for r in rows), c),
        "net_settlements": f(sum(r.net_settlements for r in rows), c),
        "total_period_balance": f(sum(r.balance for r in rows), c),
        "total_expenses": f(sheet.total_expenses, c),
        "total_unallocated": f(sum(p.amount - sum(p.shares.values()) for p in unallocated), c),
        "unallocated": [
            {
                "pool": p.key,
                "payment_type": p.payment_type,
                "expense_id": p.expense_id,
                "amount": f(p.amount - sum(p.shares.values()), c),
                "reason": p.reason or "",
            }
            for p in unallocated
        ],
        "pools": [
            {
                "pool": p.key,
                "payment_type": p.payment_type,
                "strategy": p.strategy,
                "amount": f(p.amount, c),
                "allocated": f(sum(p.shares.values()), c),
                **(
                    {"tariff": detail_dict(p.tariff, owner_ids, c)}
                    if p.tariff and p.strategy == "TARIFF"
                    else {}
                ),
            }
            for p in sheet.allocation.pools
        ],
    }


def sheet_out(sheet: Sheet) -> BalanceSheetOut:
    return BalanceSheetOut.model_validate(sheet_dict(sheet))
