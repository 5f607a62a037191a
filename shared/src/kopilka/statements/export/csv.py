"""CSV: UTF-8 with a BOM (so Excel opens Cyrillic right), plain decimal strings ("500.00") as the
API gives them, text cells guarded against spreadsheet formula injection.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable, Sequence

from kopilka.i18n import _
from kopilka.statements.export.common import (
    INVOICE_HEADERS,
    INVOICE_STATUSES,
    LINE_HEADERS,
    METERED_HEADERS,
    PERIOD_HEADERS,
    metered_rows,
    period_lines,
    period_totals,
    utc,
)
from kopilka.statements.schemas import (
    OwnerStatementOut,
    PeriodStatementOut,
)

_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


def _csv_text(value: str | None) -> str:
    """A text cell that a spreadsheet will not run as a formula (OWASP CSV injection)."""
    if not value:
        return ""
    return "'" + value if value.startswith(_FORMULA_START) else value


def _headers(headers: Sequence[str]) -> list[str]:
    return [_(h) for h in headers]


def _csv_bytes(rows: Iterable[Sequence[object]]) -> bytes:
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\r\n")
    writer.writerows(rows)
    return buffer.getvalue().encode("utf-8-sig")


def owner_statement_csv(s: OwnerStatementOut) -> bytes:
    rows: list[Sequence[object]] = [
        [_("Account statement")],
        [_("Community"), _csv_text(s.community_name)],
        [_("Owner"), _csv_text(s.owner_name)],
        [_("Owner id"), s.owner_id],
        [_("Currency"), s.currency],
        [_("Generated at (UTC)"), utc(s.generated_at).isoformat(sep=" ", timespec="seconds")],
        [],
        [_("Periods")],
        _headers(PERIOD_HEADERS),
    ]
    for p in s.periods:
        rows.append(
            [
                p.period_id,
                _csv_text(p.period_name),
                p.start_date.isoformat(),
                p.end_date.isoformat(),
                p.status,
                p.opening_balance,
                p.charges,
                p.payments,
                p.closing_balance,
            ]
        )
    metered = metered_rows(s)
    if metered:  # the metered items (SPEC §3a): consumption, tariff charge, loss share
        rows += [[], [_("Metered items")], _headers(METERED_HEADERS), *metered]
    rows += [
        [],
        [_("Invoices")],
        _headers(INVOICE_HEADERS),
    ]
    for inv in s.invoices:
        rows.append(
            [
                inv.id,
                inv.period_id,
                _csv_text(inv.period_name),
                utc(inv.issued_at).isoformat(sep=" ", timespec="seconds"),
                inv.amount,
                inv.paid,
                inv.pending,
                inv.status,
            ]
        )
    t = s.totals
    rows += [
        [],
        ["Totals"],
        [_("Charges"), t.charges],
        [_("Payments"), t.payments],
        [_("Invoiced"), t.invoiced],
        [_("Paid"), t.paid],
        [_("Pending"), t.pending],
        [_("Closing balance"), t.closing_balance],
    ]
    return _csv_bytes(rows)


def period_statement_csv(s: PeriodStatementOut) -> bytes:
    rows: list[Sequence[object]] = [
        [_("Period statement")],
        [_("Community"), _csv_text(s.community_name)],
        [_("Period"), _csv_text(s.period_name)],
        [_("Period id"), s.period_id],
        [_("Start date"), s.start_date.isoformat()],
        [_("End date"), s.end_date.isoformat()],
        [_("Status"), s.status],
        [_("Currency"), s.currency],
        [_("Generated at (UTC)"), utc(s.generated_at).isoformat(sep=" ", timespec="seconds")],
        [],
        _headers(LINE_HEADERS),
    ]
    rows += [[owner_id, _csv_text(name), *rest] for owner_id, name, *rest in period_lines(s)]
    rows.append([_("Total"), "", *period_totals(s)])
    rows += [[], [_("Invoices")]]
    rows += [[status, s.invoice_counts.get(status, 0)] for status in INVOICE_STATUSES]
    return _csv_bytes(rows)
