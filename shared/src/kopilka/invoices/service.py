"""Invoices (SPEC §4a): issued at close, paid oldest first by the owner's payments.

What an invoice has paid is derived, never stored: the close stores only the amount (the period's
own allocations plus its service charges, not the opening debt) and a reopen stores only
``voided_at``. Everything below is computed from the invoices and the ledger on every read.

**Payments** of an owner are, over every period of the community whatever its status (an OPEN
period's payments count at once)::

    CONTRIBUTION + EXPENSE_PAID + SETTLEMENT_PAID - SETTLEMENT_RECEIVED

A settlement received is money another owner handed over to settle this owner's credit: it takes
back part of what this owner had paid, so it counts negatively. The opening entries of a
carry-forward (OPENING_CREDIT, OPENING_DEBT) are left out: they only move an earlier period's
balance, whose payments and invoice are already counted in that period.

**Oldest first**: the owner's live invoices are ordered by their period's start date, then by
invoice id, and the payments fill them in that order; each invoice is ISSUED (nothing paid),
PARTIAL or PAID. A voided invoice (its period was reopened) is listed as VOID with nothing paid
and nothing pending, and counts in no total. With P the owner's payments and I the sum of the
live invoices, the total paid is min(P, I) and the total pending max(0, I - P).

**The invariant** "total pending = minus the latest closing balance when that is a debt" holds
when (1) every period the owner has money in belongs to one carry-forward chain that starts from
a zero opening balance, (2) every period of the chain is CLOSED, or the later OPEN one has no
charges yet (an OPEN period's charges are not invoiced before its close), and (3) the owner's
payments are not negative in total (they received more in settlements than they ever paid).
Then the latest closing balance is P - I, and pending is max(0, I - P).
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from sqlalchemy import Engine
from sqlalchemy.orm import Session

from kopilka.context import Ctx
from kopilka.db import session_factory
from kopilka.errors import NotFound
from kopilka.invoices import payment_qr
from kopilka.invoices import queries as q
from kopilka.invoices.schemas import InvoiceOut
from kopilka.models import Community, Owner
from kopilka.money import format_minor
from kopilka.owners.service import get_owner

ISSUED, PARTIAL, PAID, VOID = "ISSUED", "PARTIAL", "PAID", "VOID"
STATUSES = (ISSUED, PARTIAL, PAID, VOID)


@dataclass(frozen=True)
class InvoiceView:
    """An invoice with what the owner's payments have paid of it (oldest first)."""

    id: int
    community_id: int
    period_id: int
    period_name: str
    period_start: date
    owner_pk: int
    amount_minor: int
    paid_minor: int
    issued_at: datetime
    voided_at: datetime | None

    @property
    def is_void(self) -> bool:
        return self.voided_at is not None

    @property
    def pending_minor(self) -> int:
        return 0 if self.is_void else self.amount_minor - self.paid_minor

    @property
    def status(self) -> str:
        if self.is_void:
            return VOID
        if self.paid_minor <= 0:
            return ISSUED
        if self.paid_minor < self.amount_minor:
            return PARTIAL
        return PAID


@dataclass(frozen=True)
class InvoiceTotals:
    """Sums over the live invoices (VOID ones are left out)."""

    invoiced: int
    paid: int
    pending: int


def _views(session: Session, statement: Any, params: dict[str, Any]) -> list[InvoiceView]:
    rows = session.execute(statement, params).all()
    return [
        InvoiceView(
            id=r.id,
            community_id=r.community_id,
            period_id=r.period_id,
            period_name=r.period_name,
            period_start=r.start_date,
            owner_pk=r.owner_pk,
            amount_minor=int(r.amount_minor),
            paid_minor=int(r.paid),
            issued_at=r.issued_at,
            voided_at=r.voided_at,
        )
        for r in rows
    ]


def invoice_status_for_owner(
    session: Session, owner_pk: int, *, community_id: int | None = None
) -> list[InvoiceView]:
    """The owner's invoices, oldest first (period start date, then id), VOID ones included."""
    if community_id is None:
        owner = session.get(Owner, owner_pk)
        if owner is None:
            return []
        community_id = owner.community_id
    session.flush()
    return _views(session, q.VIEWS_OF_OWNER, {"c": community_id, "o": owner_pk})


def invoices_of_period(session: Session, community_id: int, period_id: int) -> list[InvoiceView]:
    """Every invoice of the period (live and VOID), each with its owner-wide oldest-first paid."""
    session.flush()
    views = _views(session, q.VIEWS_OF_PERIOD_OWNERS, {"c": community_id, "p": period_id})
    return [v for v in views if v.period_id == period_id]


def status_counts(views: list[InvoiceView]) -> dict[str, int]:
    """How many invoices have each status; every status is a key."""
    counted = Counter(v.status for v in views)
    return {s: counted.get(s, 0) for s in STATUSES}


def period_invoice_counts(session: Session, community_id: int, period_id: int) -> dict[str, int]:
    """The period's invoices counted by status: ISSUED, PARTIAL, PAID, VOID."""
    return status_counts(invoices_of_period(session, community_id, period_id))


def totals(views: list[InvoiceView]) -> InvoiceTotals:
    live = [v for v in views if not v.is_void]
    return InvoiceTotals(
        invoiced=sum(v.amount_minor for v in live),
        paid=sum(v.paid_minor for v in live),
        pending=sum(v.pending_minor for v in live),
    )


def invoice_out(view: InvoiceView, currency: str, payment_qr: str | None = None) -> InvoiceOut:
    return InvoiceOut(
        id=view.id,
        period_id=view.period_id,
        period_name=view.period_name,
        amount=format_minor(view.amount_minor, currency),
        paid=format_minor(view.paid_minor, currency),
        pending=format_minor(view.pending_minor, currency),
        status=view.status,  # type: ignore[arg-type]
        issued_at=view.issued_at,
        voided_at=view.voided_at,
        payment_qr=payment_qr,
    )


def payment_codes(
    session: Session, community: Any, owner: Owner, views: list[InvoiceView]
) -> dict[int, str]:
    """Each invoice with something pending → its payment QR text (none without bank details)."""

    bank = community.bank
    due = [v for v in views if not v.is_void and v.pending_minor > 0]
    if not bank or not due:
        return {}
    plots = payment_qr.owner_plots(session, [owner.id]).get(owner.id, [])
    out = {}
    for v in due:
        code = payment_qr.invoice_qr_text(
            bank, invoice_id=v.id, pending_minor=v.pending_minor, plots=plots, owner_name=owner.name
        )
        if code is not None:
            out[v.id] = code
    return out


def owner_invoices(
    ctx: Ctx, owner_id: int, *, after: int | None = None, limit: int | None = None
) -> list[InvoiceOut]:
    """The owner's invoices oldest first; an owner-role actor sees only their own (404).

    ``after`` is the id of the last invoice of the previous page; one extra item beyond
    ``limit`` is returned so the caller can tell a next page exists."""

    owner = get_owner(ctx, owner_id)
    views = invoice_status_for_owner(ctx.session, owner.id, community_id=ctx.community_id)
    if after is not None:
        index = next((i for i, v in enumerate(views) if v.id == after), None)
        views = views[index + 1 :] if index is not None else []
    if limit is not None:
        views = views[: limit + 1]
    codes = payment_codes(ctx.session, ctx.community, owner, views)
    return [invoice_out(v, ctx.currency, codes.get(v.id)) for v in views]


def period_payment_png(owner_pk: int, period_id: int, engine: Engine | None = None) -> bytes | None:
    """The payment QR image (PNG) of the owner's invoice of a closed period, for the bot's close
    message; read when the message is sent, so it asks for what is pending then. None when the
    invoice is paid, voided or absent, or the community keeps no bank details."""
    with session_factory(engine)() as session:
        owner = session.get(Owner, owner_pk)
        community = session.get(Community, owner.community_id) if owner is not None else None
        if owner is None or community is None or not community.bank:
            return None
        views = [
            v
            for v in invoice_status_for_owner(session, owner.id, community_id=community.id)
            if v.period_id == period_id
        ]
        code = next(iter(payment_codes(session, community, owner, views).values()), None)
    return payment_qr.png(code, scale=6) if code is not None else None


def invoice_payment_qr(ctx: Ctx, owner_id: int, invoice_id: int) -> str:
    """The payment QR text of one of the owner's invoices (404 when it has nothing to pay or
    the community keeps no bank details)."""

    owner = get_owner(ctx, owner_id)
    views = [
        v
        for v in invoice_status_for_owner(ctx.session, owner.id, community_id=ctx.community_id)
        if v.id == invoice_id
    ]
    code = payment_codes(ctx.session, ctx.community, owner, views).get(invoice_id)
    if code is None:
        raise NotFound(
            f"Invoice {invoice_id} has no payment code (nothing pending, or no bank details)"
        )
    return code
