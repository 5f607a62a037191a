"""Statements of the invoices, built once (the SQL rule: Core statements per domain)."""

from __future__ import annotations

from typing import Any

from sqlalchemy import BigInteger, Select, bindparam, case, func, select
from sqlalchemy.sql.elements import ColumnElement

from kopilka.models import Invoice, LedgerEntry, Owner, Period

PAYMENT_KINDS = ("CONTRIBUTION", "EXPENSE_PAID", "SETTLEMENT_PAID", "SETTLEMENT_RECEIVED")


def _views(owners_in_scope: ColumnElement[bool]) -> Select[Any]:
    """The payments of the owners in scope, then their invoices with the running sum of the live
    ones (oldest first); an invoice gets what the payments leave after every older live one."""
    c = bindparam("c", type_=BigInteger())
    scope = select(Owner.id.label("owner_pk")).where(Owner.community_id == c, owners_in_scope)
    scope_cte = scope.cte("scope")
    le = LedgerEntry
    pay = (
        select(
            le.owner_pk,
            func.sum(
                case((le.kind == "SETTLEMENT_RECEIVED", -le.amount_minor), else_=le.amount_minor)
            ).label("paid"),
        )
        .join(scope_cte, scope_cte.c.owner_pk == le.owner_pk)
        .where(
            le.period_id.in_(select(Period.id).where(Period.community_id == c)),
            le.kind.in_(PAYMENT_KINDS),
        )
        .group_by(le.owner_pk)
        .cte("pay")
    )
    inv = (
        select(
            Invoice.id,
            Invoice.community_id,
            Invoice.period_id,
            Period.name.label("period_name"),
            Period.start_date,
            Invoice.owner_pk,
            Invoice.amount_minor,
            Invoice.issued_at,
            Invoice.voided_at,
            func.sum(case((Invoice.voided_at.is_(None), Invoice.amount_minor), else_=0))
            .over(
                partition_by=Invoice.owner_pk,
                order_by=(Period.start_date, Invoice.id),
                rows=(None, 0),
            )
            .label("through"),
        )
        .join(Period, Period.id == Invoice.period_id)
        .join(scope_cte, scope_cte.c.owner_pk == Invoice.owner_pk)
        .where(Invoice.community_id == c)
        .cte("inv")
    )
    paid = case(
        (inv.c.voided_at.is_not(None), 0),
        else_=func.greatest(
            0,
            func.least(
                inv.c.amount_minor,
                func.coalesce(pay.c.paid, 0) - (inv.c.through - inv.c.amount_minor),
            ),
        ),
    ).label("paid")
    return (
        select(
            inv.c.id,
            inv.c.community_id,
            inv.c.period_id,
            inv.c.period_name,
            inv.c.start_date,
            inv.c.owner_pk,
            inv.c.amount_minor,
            inv.c.issued_at,
            inv.c.voided_at,
            paid,
        )
        .select_from(inv.outerjoin(pay, pay.c.owner_pk == inv.c.owner_pk))
        .order_by(inv.c.owner_pk, inv.c.start_date, inv.c.id)
    )


#: One owner's invoices (bind ``c``, ``o``).
VIEWS_OF_OWNER = _views(Owner.id == bindparam("o"))
#: The invoices of everyone invoiced in a period (bind ``c``, ``p``).
VIEWS_OF_PERIOD_OWNERS = _views(
    Owner.id.in_(select(Invoice.owner_pk).where(Invoice.period_id == bindparam("p")))
)
