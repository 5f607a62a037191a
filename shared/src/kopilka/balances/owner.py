"""One owner's line of a period, at the cost of that owner's rows plus what the allocation needs.

The sheet's line of an owner is their ledger sums plus their share of every allocation pool.
Here the sums are one row of the maintained ``owner_period_totals`` (a CLOSED period: one row of
``period_balances``), and the share is read from the period's allocation as the sheet computes
it (``current_allocations``: pool totals from ``period_expense_totals`` and the participants'
weights, never the ledger), reused while the community's allocation inputs are unchanged.

``owner_read`` (the API's ``GET /periods/{id}/balances/{owner}``, the Mini App's first screen) reads
the period, the owner, their totals, their stored row and the allocation version in ONE statement
(one round trip where the period, the owner and the totals took three).

``tests/worker/test_owner_line_equals_sheet.py`` compares this line with the sheet's (and with
a sheet computed from the rows) over randomized communities.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import and_, bindparam, literal, select
from sqlalchemy.orm import Session

from kopilka.balances.allocations import current_allocations, version_columns
from kopilka.balances.rows import TOTAL_COLUMNS, OwnerRow, kinds, row_from_stored, row_from_sums
from kopilka.context import Ctx, Role
from kopilka.models import Community, Owner, OwnerPeriodTotal, Period, PeriodBalance
from kopilka.owners.service import get_owner
from kopilka.periods.service import get_period

_T = OwnerPeriodTotal
_B = PeriodBalance
_VERSION, _WRITTEN = version_columns(bindparam("community_id"))
_TOTALS = (_T.entries, *(getattr(_T, c) for c in TOTAL_COLUMNS.values()))

#: An OPEN period's line: the owner's totals (if any) and the community's allocation version.
OWNER_TOTALS = (
    select(_VERSION, _WRITTEN, *_TOTALS)
    .select_from(select(literal(1).label("one")).subquery())
    .outerjoin(
        _T, and_(_T.period_id == bindparam("period_id"), _T.owner_pk == bindparam("owner_pk"))
    )
)

#: One owner's balance in one statement: the period (of the community), the owner (by their
#: owner_id), the allocation version, their totals and their stored row (a CLOSED period).
OWNER_READ = (
    select(Period, Owner.id, Owner.owner_id, Owner.name, Owner.is_active, _VERSION, _WRITTEN)
    .add_columns(*_TOTALS, _B)
    .join(
        Owner,
        and_(Owner.community_id == Period.community_id, Owner.owner_id == bindparam("owner_id")),
    )
    .outerjoin(_T, and_(_T.period_id == Period.id, _T.owner_pk == Owner.id))
    .outerjoin(_B, and_(_B.period_id == Period.id, _B.owner_pk == Owner.id))
    .where(Period.id == bindparam("period_id"), Period.community_id == bindparam("community_id"))
)


def owner_line(
    session: Session, community: Community, period: Period, owner: Owner
) -> OwnerRow | None:
    """The owner's line of the period's sheet, or None when the sheet has no line for them (an
    inactive owner with no entries and no share)."""
    if period.status == "CLOSED":
        b = session.get(PeriodBalance, (period.id, owner.id))
        if b is None:
            return None
        return row_from_stored(b, owner.owner_id, owner.name)
    row = session.execute(
        OWNER_TOTALS,
        {"community_id": community.id, "period_id": period.id, "owner_pk": owner.id},
    ).one()
    return _open_line(
        session, community, period, (owner.id, owner.owner_id, owner.name, owner.is_active), row
    )


def _open_line(
    session: Session,
    community: Community,
    period: Period,
    owner: tuple[int, int, str | None, bool],
    row: Any,
) -> OwnerRow | None:
    """An OPEN (or CLOSING) period's line from ``row``: version, written, entries, totals..."""
    pk, owner_id, name, is_active = owner
    entries = row[2]
    involved = entries is not None and entries > 0
    sums = kinds(row[3 : 3 + len(TOTAL_COLUMNS)]) if involved else {}
    _, per_owner = current_allocations(session, community, period, version_read=(row[0], row[1]))
    allocated = per_owner.get(pk, 0)
    if not (is_active or involved or pk in per_owner):
        return None
    return row_from_sums(pk, owner_id, name, sums, allocated)


def owner_read(ctx: Ctx, period_id: int, owner_id: int) -> tuple[Period, OwnerRow]:
    """The period and the owner's line in it (a zero line when the sheet has none), for
    ``GET /periods/{id}/balances/{owner}``; 404s as ``get_period`` and ``get_owner`` say them."""
    session = ctx.session
    row = session.execute(
        OWNER_READ,
        {"community_id": ctx.community_id, "period_id": period_id, "owner_id": owner_id},
    ).first()
    if row is None or (ctx.actor.role == Role.OWNER and row[1] != ctx.actor.owner_pk):
        period = get_period(ctx, period_id)  # the 404 of the period, else of the owner
        owner = get_owner(ctx, owner_id)
        found = owner_line(session, ctx.community, period, owner)
        return period, found or OwnerRow(
            owner_pk=owner.id, owner_id=owner.owner_id, name=owner.name
        )
    period, pk, oid, name, is_active = row[0], row[1], row[2], row[3], row[4]
    line: OwnerRow | None
    if period.status == "CLOSED":
        stored = row[-1]
        line = None if stored is None else row_from_stored(stored, oid, name)
    else:
        line = _open_line(session, ctx.community, period, (pk, oid, name, is_active), row[5:])
    return period, line or OwnerRow(owner_pk=pk, owner_id=oid, name=name)
