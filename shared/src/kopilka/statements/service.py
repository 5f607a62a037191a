"""Account statements (SPEC §4a): an owner's across periods, and a period's across owners.

Per period and owner the statement shows::

    opening balance   OPENING_CREDIT - OPENING_DEBT (what the carry-forward brought in)
    charges           allocations + service charges of the period (the opening debt left out)
    payments          contributions + expenses paid + settlements paid - settlements received
                      (the opening credit left out)
    closing balance   opening + payments - charges  (= the balance sheet's ``balance``)

so a CLOSED period's charges are exactly its invoice's amount, and the payments are exactly what
pays the invoices (``kopilka.invoices.service``). A CLOSED period is read from what the close
stored (``period_balances``); an OPEN or CLOSING one is a live preview of its rows, marked by its
``status``. The totals add up the periods' charges and payments and the live invoices; the
statement's ``closing_balance`` is that of its latest period (a live one included).
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from kopilka.balances.owner import owner_line
from kopilka.balances.rows import OwnerRow, ledger_sums, row_from_stored
from kopilka.balances.sheet import sheet_for
from kopilka.context import Ctx
from kopilka.i18n import resolve
from kopilka.invoices import service as invoices
from kopilka.invoices.schemas import MeteredLineOut
from kopilka.models import LedgerEntry, Period, PeriodBalance
from kopilka.money import format_minor
from kopilka.owners.service import get_owner
from kopilka.periods.service import CLOSED, get_period
from kopilka.plots import billing
from kopilka.statements.schemas import (
    OwnerStatementOut,
    PeriodStatementLineOut,
    PeriodStatementOut,
    StatementPeriodOut,
    StatementTotalsOut,
)

OPENING_KINDS = ("OPENING_CREDIT", "OPENING_DEBT")


@dataclass(frozen=True)
class Line:
    """One owner in one period, in minor units."""

    opening: int
    charges: int
    payments: int
    closing: int


def line_of(row: OwnerRow, opening_credit: int, opening_debt: int) -> Line:
    """A balance-sheet row as a statement line: the opening entries taken out of the
    contributions and the service charges (where the sheet counts them)."""
    charges = row.allocated + row.service_charges - opening_debt
    payments = row.contributions - opening_credit + row.paid_expenses + row.net_settlements
    # opening + payments - charges == closing, since the sheet's balance counts both openings
    return Line(
        opening=row.opening_balance, charges=charges, payments=payments, closing=row.balance
    )


# ---------------------------------------------------------------- the owner's statement


def metered_lines(
    session: Any, owner_pk: int, period_ids: list[int], currency: str
) -> dict[int, list[MeteredLineOut]]:
    """period id -> the owner's metered items of the closed periods (kopilka.plots.billing)."""
    return {
        pid: [
            MeteredLineOut(
                pool=x["pool"],
                meter_type=x["meter_type"],
                consumption=x["consumption"],
                tariff_charge=format_minor(x["tariff_minor"], currency),
                loss_share=format_minor(x["loss_minor"], currency),
                estimated=x["estimated"],
            )
            for x in rows
        ]
        for pid, rows in billing.owner_lines(session, owner_pk, period_ids).items()
    }


def owner_statement(ctx: Ctx, owner_id: int) -> OwnerStatementOut:
    """The owner's statement across every period they have a balance in, oldest first.

    Admins read any owner of their community; an owner-role actor only themselves (another
    owner is a 404, as for an unknown one)."""
    owner = get_owner(ctx, owner_id)
    s = ctx.session
    s.flush()
    community = ctx.community
    currency = community.currency
    periods = list(
        s.scalars(
            select(Period)
            .where(Period.community_id == community.id)
            .order_by(Period.start_date, Period.id)
        )
    )
    stored = {
        b.period_id: b
        for b in s.scalars(
            select(PeriodBalance).where(
                PeriodBalance.owner_pk == owner.id,
                PeriodBalance.period_id.in_([p.id for p in periods if p.status == CLOSED]),
            )
        )
    }
    opening: dict[int, dict[str, int]] = defaultdict(dict)
    for period_id, kind, total in s.execute(
        select(LedgerEntry.period_id, LedgerEntry.kind, func.sum(LedgerEntry.amount_minor))
        .where(
            LedgerEntry.owner_pk == owner.id,
            LedgerEntry.period_id.in_([p.id for p in periods]),
            LedgerEntry.kind.in_(OPENING_KINDS),
        )
        .group_by(LedgerEntry.period_id, LedgerEntry.kind)
    ):
        opening[period_id][kind] = int(total)

    metered = metered_lines(s, owner.id, list(stored), currency)
    lines: list[StatementPeriodOut] = []
    last_closing = 0
    charges_total = payments_total = 0
    for period in periods:
        row: OwnerRow | None
        if period.status == CLOSED:
            b = stored.get(period.id)
            row = row_from_stored(b, owner.owner_id, owner.name) if b is not None else None
        else:  # the owner's line alone: their totals and their share of the allocation
            row = owner_line(s, community, period, owner)
        if row is None:
            continue
        kinds = opening.get(period.id, {})
        line = line_of(row, kinds.get("OPENING_CREDIT", 0), kinds.get("OPENING_DEBT", 0))
        charges_total += line.charges
        payments_total += line.payments
        last_closing = line.closing
        lines.append(
            StatementPeriodOut(
                period_id=period.id,
                period_name=period.name,
                start_date=period.start_date,
                end_date=period.end_date,
                status=period.status,
                opening_balance=format_minor(line.opening, currency),
                charges=format_minor(line.charges, currency),
                payments=format_minor(line.payments, currency),
                closing_balance=format_minor(line.closing, currency),
                metered=metered.get(period.id, []),
            )
        )

    views = invoices.invoice_status_for_owner(s, owner.id, community_id=community.id)
    sums = invoices.totals(views)
    codes = invoices.payment_codes(s, community, owner, views)
    return OwnerStatementOut(
        community_id=community.id,
        community_name=community.name,
        currency=currency,
        owner_id=owner.owner_id,
        owner_name=owner.name,
        generated_at=datetime.now(UTC),
        periods=lines,
        invoices=[
            invoices.invoice_out(v, currency, codes.get(v.id)).model_copy(
                update={"metered": [] if v.is_void else metered.get(v.period_id, [])}
            )
            for v in views
        ],
        totals=StatementTotalsOut(
            charges=format_minor(charges_total, currency),
            payments=format_minor(payments_total, currency),
            invoiced=format_minor(sums.invoiced, currency),
            paid=format_minor(sums.paid, currency),
            pending=format_minor(sums.pending, currency),
            closing_balance=format_minor(last_closing, currency),
        ),
    )


# ---------------------------------------------------------------- the period's statement


def period_statement(ctx: Ctx, period_id: int) -> PeriodStatementOut:
    """Every owner's line of the period, the totals and the invoices counted by status.

    Admins only. The line's invoice is the owner's live invoice of the period (none while the
    period is OPEN or CLOSING); the counts include the VOID invoices of earlier closes."""
    ctx.require_admin()
    period = get_period(ctx, period_id)
    s = ctx.session
    s.flush()
    community = ctx.community
    currency = community.currency
    sheet = sheet_for(s, community, period)
    sums = ledger_sums(s, period.id)
    views = invoices.invoices_of_period(s, community.id, period.id)
    live = {v.owner_pk: v for v in views if not v.is_void}

    def f(minor: int) -> str:
        return format_minor(minor, currency)

    out_lines: list[PeriodStatementLineOut] = []
    total = Line(0, 0, 0, 0)
    for row in sheet.rows:
        kinds = sums.get(row.owner_pk, {})
        line = line_of(row, kinds.get("OPENING_CREDIT", 0), kinds.get("OPENING_DEBT", 0))
        total = Line(
            total.opening + line.opening,
            total.charges + line.charges,
            total.payments + line.payments,
            total.closing + line.closing,
        )
        invoice = live.get(row.owner_pk)
        out_lines.append(
            PeriodStatementLineOut(
                owner_id=row.owner_id,
                owner_name=row.name,
                opening_balance=f(line.opening),
                charges=f(line.charges),
                payments=f(line.payments),
                closing_balance=f(line.closing),
                invoice_amount=f(invoice.amount_minor) if invoice else None,
                invoice_status=invoice.status if invoice else None,
            )
        )
    invoice_sums = invoices.totals(views)
    return PeriodStatementOut(
        community_id=community.id,
        community_name=community.name,
        currency=currency,
        period_id=period.id,
        period_name=period.name,
        start_date=period.start_date,
        end_date=period.end_date,
        status=period.status,
        generated_at=datetime.now(UTC),
        lines=out_lines,
        totals={
            "opening_balance": f(total.opening),
            "charges": f(total.charges),
            "payments": f(total.payments),
            "closing_balance": f(total.closing),
            "invoiced": f(invoice_sums.invoiced),
            "paid": f(invoice_sums.paid),
            "pending": f(invoice_sums.pending),
        },
        invoice_counts=invoices.status_counts(views),
    )


def owner_statement_language(ctx: Ctx, owner_id: int) -> str:
    """The language of an owner's statement: the owner's own, else the community's."""
    return resolve(None, get_owner(ctx, owner_id).language, ctx.community.language)


def period_statement_language(ctx: Ctx) -> str:
    """The language of a period statement: the community's."""
    return resolve(None, None, ctx.community.language)


def recent_closings(
    session: Session, community_id: int, owner_pk: int, count: int
) -> list[tuple[str, int]]:
    """The owner's closing balance in the community's latest ``count`` CLOSED periods, newest
    first: (period name, balance in minor units). The short statement of a chat."""
    rows = session.execute(
        select(Period.name, PeriodBalance.balance)
        .join(PeriodBalance, PeriodBalance.period_id == Period.id)
        .where(
            Period.community_id == community_id,
            Period.status == CLOSED,
            PeriodBalance.owner_pk == owner_pk,
        )
        .order_by(Period.end_date.desc())
        .limit(count)
    ).all()
    return [(name, int(balance)) for name, balance in rows]
