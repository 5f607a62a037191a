"""Statements of the close and the carry-forward, built once (the SQL rule: Core statements per
domain; raw SQL only for the data-modifying CTEs)."""

from __future__ import annotations

from typing import Any

from sqlalchemy import (
    BigInteger,
    String,
    bindparam,
    case,
    cast,
    delete,
    func,
    insert,
    or_,
    select,
    text,
    update,
)
from sqlalchemy.dialects.postgresql import distinct_on
from sqlalchemy.dialects.postgresql import insert as pg_insert

from kopilka.models import (
    Allocation,
    CarryForward,
    Contribution,
    Invoice,
    LedgerEntry,
    Notification,
    Owner,
    PeriodBalance,
    ServiceCharge,
)

# Core on the tables (no ORM bookkeeping: nothing here is loaded as an object); ``.rowcount``
# of the UPDATEs is read.
_ALLOCATIONS: Any = Allocation.__table__
_BALANCES: Any = PeriodBalance.__table__
_INVOICES: Any = Invoice.__table__
_LEDGER: Any = LedgerEntry.__table__
_LINKS: Any = CarryForward.__table__

# ---------------------------------------------------------------- the stored sheet

CLEAR_ALLOCATIONS = delete(_ALLOCATIONS).where(_ALLOCATIONS.c.period_id == bindparam("p"))
CLEAR_BALANCES = delete(_BALANCES).where(_BALANCES.c.period_id == bindparam("p"))
VOID_INVOICES = (
    update(_INVOICES)
    .where(_INVOICES.c.period_id == bindparam("p"), _INVOICES.c.voided_at.is_(None))
    .values(voided_at=func.now())
)


def _stored_differs() -> Any:
    """The owners of a CLOSED period whose stored balance differs from what its rows give
    (ledger + allocations)."""
    p = bindparam("p", type_=BigInteger())
    le = _LEDGER.c
    amount = le.amount_minor
    ledger = (
        select(
            le.owner_pk,
            func.sum(amount)
            .filter(le.kind.in_(("CONTRIBUTION", "OPENING_CREDIT")))
            .label("contrib"),
            func.sum(amount).filter(le.kind == "EXPENSE_PAID").label("paid"),
            func.sum(amount)
            .filter(le.kind.in_(("SERVICE_CHARGE", "OPENING_DEBT")))
            .label("charges"),
            func.sum(
                case(
                    (le.kind == "SETTLEMENT_PAID", amount),
                    (le.kind == "SETTLEMENT_RECEIVED", -amount),
                    else_=0,
                )
            ).label("settle"),
        )
        .where(le.period_id == p)
        .group_by(le.owner_pk)
        .cte("l")
    )
    al = _ALLOCATIONS.c
    allocated = (
        select(al.owner_pk, func.sum(al.amount_minor).label("alloc"))
        .where(al.period_id == p)
        .group_by(al.owner_pk)
        .cte("a")
    )
    pb = _BALANCES.c
    lg, a = ledger.c, allocated.c
    return (
        select(pb.owner_pk)
        .select_from(
            _BALANCES.outerjoin(ledger, lg.owner_pk == pb.owner_pk).outerjoin(
                allocated, a.owner_pk == pb.owner_pk
            )
        )
        .where(
            pb.period_id == p,
            or_(
                pb.total_contributions != func.coalesce(lg.contrib, 0),
                pb.total_paid_expenses != func.coalesce(lg.paid, 0),
                pb.total_service_charges != func.coalesce(lg.charges, 0),
                pb.net_settlements != func.coalesce(lg.settle, 0),
                pb.total_allocated != func.coalesce(a.alloc, 0),
                pb.balance
                != pb.total_contributions
                + pb.total_paid_expenses
                + pb.net_settlements
                - pb.total_allocated
                - pb.total_service_charges,
            ),
        )
    )


STORED_DIFFERS = _stored_differs()

# ---------------------------------------------------------------- the carry-forward


_ENTRY_COLUMNS = [
    "community_id",
    "period_id",
    "owner_pk",
    "kind",
    "amount_minor",
    "source_type",
    "source_id",
]


def _reverse_openings(doc: Any, source_type: str) -> Any:
    """Reversing ledger entries of the target's live opening documents from the source."""
    le = _LEDGER.c
    d = doc.__table__.c
    total = func.sum(le.amount_minor)
    keys = (le.community_id, le.period_id, le.owner_pk, le.kind, le.source_type, le.source_id)
    return insert(_LEDGER).from_select(
        _ENTRY_COLUMNS,
        select(*keys[:4], -total, *keys[4:])
        .select_from(_LEDGER.join(doc.__table__, d.id == le.source_id))
        .where(
            le.source_type == source_type,
            d.period_id == bindparam("t"),
            d.opening_from_period_id == bindparam("s"),
            d.deleted_at.is_(None),
        )
        .group_by(*keys)
        .having(total != 0),
    )


def _drop_openings(doc: Any) -> Any:
    """The target's live opening documents from the source, deleted (their entries reversed)."""
    t = doc.__table__
    return (
        update(t)
        .where(
            t.c.period_id == bindparam("t"),
            t.c.opening_from_period_id == bindparam("s"),
            t.c.deleted_at.is_(None),
        )
        .values(deleted_at=func.now(), deleted_by=bindparam("actor"), version=t.c.version + 1)
    )


# (reverse the entries, delete the documents) per kind of opening document
DROP_OPENINGS = [
    (_reverse_openings(Contribution, "contribution"), _drop_openings(Contribution)),
    (_reverse_openings(ServiceCharge, "service_charge"), _drop_openings(ServiceCharge)),
]

# Raw SQL: data-modifying CTEs — every opening document of the target and its ledger entry in
# one set-based statement (the new rows' ids feed the entries), however many owners.
OPENING_CREDITS = text(
    """
    WITH new AS (
        INSERT INTO contributions (community_id, period_id, owner_pk, amount_minor, date,
            comment, opening_from_period_id, created_by, version)
        SELECT :c, :t, owner_pk, balance, :day, :note, :s, :actor, 1
        FROM period_balances WHERE period_id = :s AND balance > 0
        RETURNING id, owner_pk, amount_minor
    )
    INSERT INTO ledger_entries
        (community_id, period_id, owner_pk, kind, amount_minor, source_type, source_id)
    SELECT :c, :t, owner_pk, 'OPENING_CREDIT', amount_minor, 'contribution', id FROM new
    """
)
OPENING_DEBTS = text(
    """
    WITH new AS (
        INSERT INTO service_charges (community_id, period_id, owner_pk, amount_minor, date,
            description, opening_from_period_id, created_by, version)
        SELECT :c, :t, owner_pk, -balance, :day, :note, :s, :actor, 1
        FROM period_balances WHERE period_id = :s AND balance < 0
        RETURNING id, owner_pk, amount_minor
    )
    INSERT INTO ledger_entries
        (community_id, period_id, owner_pk, kind, amount_minor, source_type, source_id)
    SELECT :c, :t, owner_pk, 'OPENING_DEBT', amount_minor, 'service_charge', id FROM new
    """
)

_link = pg_insert(_LINKS).values(
    community_id=bindparam("c"), from_period_id=bindparam("s"), to_period_id=bindparam("t")
)
# A period carries into one next period: a second carry-forward to the same target updates it.
LINK = _link.on_conflict_do_update(
    index_elements=["from_period_id"],
    set_={"to_period_id": _link.excluded.to_period_id, "updated_at": func.now()},
)

# What each owner was last told of a target's opening balance: a re-run that changes nothing
# announces nothing (issue 13). DISTINCT ON: the newest per owner.
_n = Notification
ANNOUNCED_OPENINGS = (
    select(_n.owner_pk, cast(_n.payload["opening_minor"].astext, BigInteger))
    .where(
        _n.community_id == bindparam("c"),
        _n.kind == "opening_balance",
        _n.payload["period_id"].astext == bindparam("t", type_=String()),
    )
    .ext(distinct_on(_n.owner_pk))
    .order_by(_n.owner_pk, _n.id.desc())
)


def _openings(doc: Any) -> Any:
    """The period's live opening documents of one kind (from a carry-forward), with their
    owner's id, by owner id."""
    return (
        select(doc, Owner.owner_id)
        .join(Owner, Owner.id == doc.owner_pk)
        .where(
            doc.period_id == bindparam("p"),
            doc.opening_from_period_id.is_not(None),
            doc.deleted_at.is_(None),
        )
        .order_by(Owner.owner_id)
    )


OPENING_CONTRIBUTIONS = _openings(Contribution)
OPENING_CHARGES = _openings(ServiceCharge)
