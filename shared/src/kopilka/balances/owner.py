"""One owner's line of a period, at the cost of that owner's rows plus what the allocation needs.

The sheet's line of an owner is their ledger sums plus their share of every allocation pool.
Here the sums are one row of the maintained ``owner_period_totals`` (a CLOSED period: one row of
``period_balances``), and the share is read from the period's allocation as the sheet computes
it (``current_allocations``: pool totals from ``period_expense_totals`` and the participants'
weights, never the ledger), reused while the community's allocation inputs are unchanged.

``tests/worker/test_owner_line_equals_sheet.py`` compares this line with the sheet's (and with
a sheet computed from the rows) over randomized communities.
"""

from __future__ import annotations

from sqlalchemy import and_, literal, select
from sqlalchemy.orm import Session

from kopilka.balances.allocations import current_allocations, version_columns
from kopilka.balances.rows import TOTAL_COLUMNS, OwnerRow, kinds, row_from_stored, row_from_sums
from kopilka.models import Community, Owner, OwnerPeriodTotal, Period, PeriodBalance


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
    # One statement: the owner's totals (if any) and the community's allocation version.
    t = OwnerPeriodTotal
    one = select(literal(1).label("one")).subquery()
    version, written = version_columns(community.id)
    row = session.execute(
        select(version, written, t.entries, *(getattr(t, c) for c in TOTAL_COLUMNS.values()))
        .select_from(one)
        .outerjoin(t, and_(t.period_id == period.id, t.owner_pk == owner.id))
    ).one()
    entries = row[2]
    involved = entries is not None and entries > 0
    sums = kinds(row[3:]) if involved else {}
    _, per_owner = current_allocations(session, community, period, version_read=(row[0], row[1]))
    allocated = per_owner.get(owner.id, 0)
    if not (owner.is_active or involved or owner.id in per_owner):
        return None
    return row_from_sums(owner.id, owner.owner_id, owner.name, sums, allocated)
