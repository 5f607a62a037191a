"""Balances: the use cases (the whole sheet of a period, one owner's line).

Per owner per period, a balance is derived from the ledger plus the allocation of the expenses.
For an OPEN period the sheet is a live preview; for a CLOSED one it is what the close stored
(``period_balances`` and ``allocations``), which ``check_stored`` proves equal to a
recomputation from the rows. The parts:

- ``rows.py`` — an owner's line (:class:`OwnerRow`) from their ledger sums or the stored row;
- ``pools.py`` — the allocation's inputs read from the database (the pools, the weights);
- ``allocations.py`` — each pool shared by its strategy, and the result reused per version;
- ``sheet.py`` — the sheet of a period (live, from the rows, or stored);
- ``owner.py`` — one owner's line at the cost of that owner's rows;
- ``output.py`` — a sheet and a line as answers (decimal strings);
- ``reconcile.py`` — the maintained totals checked against the rows.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy.orm import Session

from kopilka.balances.output import entry_out, sheet_dict
from kopilka.balances.owner import owner_line, owner_read
from kopilka.balances.schemas import OwnerBalanceOut
from kopilka.balances.sheet import sheet_for
from kopilka.context import Role
from kopilka.models import Community, Owner, Period
from kopilka.periods.service import get_period


def balance_sheet(ctx: Any, period_id: int) -> dict[str, Any]:
    """The period's sheet (JSON-ready, shaped as BalanceSheetOut); an owner sees their own line
    and the period's totals."""

    period = get_period(ctx, period_id)
    out = sheet_dict(sheet_for(ctx.session, ctx.community, period))
    if ctx.actor.role == Role.OWNER:
        owner = ctx.session.get(Owner, ctx.actor.owner_pk)
        out["entries"] = [e for e in out["entries"] if owner and e["owner_id"] == owner.owner_id]
    return out


def owner_balance(ctx: Any, period_id: int, owner_id: int) -> OwnerBalanceOut:
    """One owner's line of the period's sheet, computed for that owner alone
    (``kopilka.balances.owner``): the same figures, without the community's rows."""
    period, row = owner_read(ctx, period_id, owner_id)
    entry = entry_out(row, ctx.community.currency)
    return OwnerBalanceOut(
        **entry.model_dump(),
        period_id=period.id,
        period_name=period.name,
        status=period.status,
        currency=ctx.community.currency,
    )


def owner_period_balance(
    session: Session, community: Community, period: Period, owner_pk: int, owner_id: int
) -> int:
    """One owner's balance in a period (live while it is OPEN), in minor units: their line
    alone (``kopilka.balances.owner.owner_line``), not the community's sheet."""
    owner = session.get(Owner, owner_pk)
    row = owner_line(session, community, period, owner) if owner is not None else None
    return row.balance if row is not None else 0
