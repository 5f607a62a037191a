"""XLSX: amounts are numeric cells holding the exact Decimal, formatted with the currency's
decimals ("#,##0.00" for RUB, "#,##0" for JPY); dates are date cells; times are UTC.
"""

from __future__ import annotations

import io
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal

from openpyxl import Workbook
from openpyxl.cell.cell import ILLEGAL_CHARACTERS_RE
from openpyxl.styles import Alignment, Font, PatternFill
from openpyxl.utils import get_column_letter
from openpyxl.worksheet.worksheet import Worksheet

from kopilka.i18n import _
from kopilka.statements.export.common import (
    INVOICE_HEADERS,
    INVOICE_STATUSES,
    LINE_HEADERS,
    METERED_HEADERS,
    PERIOD_HEADERS,
    decimal_amount,
    metered_rows,
    number_format,
    period_lines,
    period_totals,
    utc,
)
from kopilka.statements.schemas import (
    OwnerStatementOut,
    PeriodStatementOut,
)

_BOLD = Font(bold=True)
_TITLE = Font(bold=True, size=14)
_HEADER_FILL = PatternFill("solid", fgColor="E8E8E8")
_DATE_FORMAT = "yyyy-mm-dd"
_DATETIME_FORMAT = "yyyy-mm-dd hh:mm"


@dataclass(frozen=True)
class _Col:
    header: str
    kind: str  # "text", "int", "amount", "date", "datetime"


class _Sheet:
    """Writes rows into a worksheet and keeps track of column widths."""

    def __init__(self, ws: Worksheet, currency: str) -> None:
        self.ws = ws
        self.money_format = number_format(currency)
        self.widths: dict[int, int] = {}
        self.row = 1

    def _fit(self, col: int, text: str) -> None:
        self.widths[col] = max(self.widths.get(col, 0), len(text))

    def put(self, col: int, value: object, kind: str = "text", bold: bool = False) -> None:
        cell = self.ws.cell(row=self.row, column=col)
        if value is None or value == "":
            return
        if kind == "amount":
            number = value if isinstance(value, Decimal) else decimal_amount(str(value))
            cell.value = number
            cell.number_format = self.money_format
            cell.alignment = Alignment(horizontal="right")
            self._fit(col, f"{number:,}" + "0")
        elif kind == "int":
            cell.value = value
            self._fit(col, str(value))
        elif kind == "date":
            cell.value = value
            cell.number_format = _DATE_FORMAT
            self._fit(col, "2026-01-01")
        elif kind == "datetime":
            assert isinstance(value, datetime)
            cell.value = utc(value)
            cell.number_format = _DATETIME_FORMAT
            self._fit(col, "2026-01-01 00:00")
        else:
            text = ILLEGAL_CHARACTERS_RE.sub("", str(value))
            cell.value = text
            cell.data_type = "s"  # never a formula, whatever the text starts with
            self._fit(col, text)
        if bold:
            cell.font = _BOLD

    def next(self, count: int = 1) -> None:
        self.row += count

    def title(self, text: str) -> None:
        cell = self.ws.cell(row=self.row, column=1, value=text)
        cell.font = _TITLE
        self.next()

    def field(self, label: str, value: object, kind: str = "text") -> None:
        self.put(1, label, bold=True)
        self.put(2, value, kind)
        self.next()

    def header(self, cols: Sequence[_Col]) -> int:
        for i, col in enumerate(cols, start=1):
            self.put(i, _(col.header), bold=True)
            cell = self.ws.cell(row=self.row, column=i)
            cell.fill = _HEADER_FILL
            if col.kind in ("amount", "int"):
                cell.alignment = Alignment(horizontal="right")
        header_row = self.row
        self.next()
        return header_row

    def line(self, cols: Sequence[_Col], values: Sequence[object], bold: bool = False) -> None:
        for i, (col, value) in enumerate(zip(cols, values, strict=True), start=1):
            self.put(i, value, col.kind, bold=bold)
        self.next()

    def finish(self) -> None:
        for col, width in self.widths.items():
            self.ws.column_dimensions[get_column_letter(col)].width = min(max(width + 2, 9), 48)


def _workbook_bytes(wb: Workbook) -> bytes:
    buffer = io.BytesIO()
    wb.save(buffer)
    return buffer.getvalue()


def _cols(headers: Sequence[str], kinds: Sequence[str]) -> tuple[_Col, ...]:
    return tuple(_Col(h, k) for h, k in zip(headers, kinds, strict=True))


_PERIOD_COLS = _cols(PERIOD_HEADERS, ("int", "text", "date", "date", "text", *["amount"] * 4))
_INVOICE_COLS = _cols(INVOICE_HEADERS, ("int", "int", "text", "datetime", *["amount"] * 3, "text"))
_METERED_COLS = _cols(METERED_HEADERS, ("int", "text", "text", "amount", "amount", "text"))
_LINE_COLS = _cols(LINE_HEADERS, ("int", "text", *["amount"] * 5, "text"))


def _workbook(currency: str, title: str) -> tuple[Workbook, Worksheet, _Sheet]:
    """A workbook whose first sheet, "Statement", starts with ``title``."""
    wb = Workbook()
    ws = wb.active
    assert ws is not None
    ws.title = _("Statement")
    sheet = _Sheet(ws, currency)
    sheet.title(title)
    return wb, ws, sheet


def owner_statement_xlsx(s: OwnerStatementOut) -> bytes:
    wb, ws, sheet = _workbook(s.currency, _("Account statement"))
    sheet.field(_("Community"), s.community_name)
    sheet.field(_("Owner"), s.owner_name or "")
    sheet.field(_("Owner id"), s.owner_id, "int")
    sheet.field(_("Currency"), s.currency)
    sheet.field(_("Generated at (UTC)"), s.generated_at, "datetime")
    sheet.next()
    header_row = sheet.header(_PERIOD_COLS)
    for p in s.periods:
        sheet.line(
            _PERIOD_COLS,
            [
                p.period_id,
                p.period_name,
                p.start_date,
                p.end_date,
                p.status,
                p.opening_balance,
                p.charges,
                p.payments,
                p.closing_balance,
            ],
        )
    t = s.totals
    sheet.line(
        _PERIOD_COLS,
        ["", _("Total"), "", "", "", "", t.charges, t.payments, t.closing_balance],
        bold=True,
    )
    ws.freeze_panes = f"A{header_row + 1}"
    sheet.finish()

    inv_ws = wb.create_sheet(_("Invoices"))
    inv = _Sheet(inv_ws, s.currency)
    inv.header(_INVOICE_COLS)
    for i in s.invoices:
        inv.line(
            _INVOICE_COLS,
            [i.id, i.period_id, i.period_name, i.issued_at, i.amount, i.paid, i.pending, i.status],
        )
    inv.line(_INVOICE_COLS, ["", "", _("Total"), "", t.invoiced, t.paid, t.pending, ""], bold=True)
    inv_ws.freeze_panes = "A2"
    inv.finish()

    metered = metered_rows(s)
    if metered:  # the metered items (SPEC §3a): consumption, tariff charge, loss share
        met_ws = wb.create_sheet(_("Metered items"))
        met = _Sheet(met_ws, s.currency)
        met.header(_METERED_COLS)
        for row in metered:
            met.line(_METERED_COLS, row)
        met_ws.freeze_panes = "A2"
        met.finish()
    return _workbook_bytes(wb)


def period_statement_xlsx(s: PeriodStatementOut) -> bytes:
    wb, ws, sheet = _workbook(s.currency, _("Period statement"))
    sheet.field(_("Community"), s.community_name)
    sheet.field(_("Period"), s.period_name)
    sheet.field(_("Period id"), s.period_id, "int")
    sheet.field(_("Start date"), s.start_date, "date")
    sheet.field(_("End date"), s.end_date, "date")
    sheet.field(_("Status"), s.status)
    sheet.field(_("Currency"), s.currency)
    sheet.field(_("Generated at (UTC)"), s.generated_at, "datetime")
    sheet.next()
    header_row = sheet.header(_LINE_COLS)
    for row in period_lines(s):
        sheet.line(_LINE_COLS, row)
    sheet.line(_LINE_COLS, ["", _("Total"), *period_totals(s)], bold=True)
    sheet.next()
    sheet.put(1, _("Invoices"), bold=True)
    sheet.next()
    for status in INVOICE_STATUSES:
        sheet.field(status, s.invoice_counts.get(status, 0), "int")
    ws.freeze_panes = f"A{header_row + 1}"
    sheet.finish()
    return _workbook_bytes(wb)
