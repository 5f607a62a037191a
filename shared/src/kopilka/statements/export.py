"""Statement exports (SPEC §4a ``?format=csv|xlsx|pdf``): pure renderers from schema to bytes.

- CSV: UTF-8 with a BOM (so Excel opens Cyrillic right), plain decimal strings ("500.00") as the
  API gives them, text cells guarded against spreadsheet formula injection.
- XLSX: amounts are numeric cells holding the exact Decimal, formatted with the currency's
  decimals ("#,##0.00" for RUB, "#,##0" for JPY); dates are date cells; times are UTC.
- PDF: A4, a TrueType font with Cyrillic (DejaVu Sans, Debian package ``fonts-dejavu-core``);
  without it, a core font and transliterated text, so the export degrades but never fails.
"""

from __future__ import annotations

import csv
import io
import os
import re
import unicodedata
from collections.abc import Callable, Hashable, Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime
from decimal import Decimal
from functools import lru_cache
from pathlib import Path
from typing import Any

from fpdf import FPDF
from fpdf.fonts import FontFace
from openpyxl import Workbook
from openpyxl.cell.cell import ILLEGAL_CHARACTERS_RE
from openpyxl.styles import Alignment, Font, PatternFill
from openpyxl.utils import get_column_letter
from openpyxl.worksheet.worksheet import Worksheet

from kopilka.errors import ValidationFailed
from kopilka.i18n import _, language
from kopilka.money import currency_exponent
from kopilka.statements.payment_pdf import payment_blocks
from kopilka.statements.schemas import (
    InvoiceOut,
    OwnerStatementOut,
    PeriodStatementOut,
    StatementPeriodOut,
    StatementTotalsOut,
)

FORMATS = ("csv", "xlsx", "pdf")
MEDIA_TYPES: dict[str, str] = {
    "csv": "text/csv; charset=utf-8",
    "xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
    "pdf": "application/pdf",
}

INVOICE_STATUSES = ("ISSUED", "PARTIAL", "PAID", "VOID")
_STATUS_LABELS = {
    "ISSUED": "Issued",
    "PARTIAL": "Partly paid",
    "PAID": "Paid",
    "VOID": "Void",
    "OPEN": "Open",
    "CLOSING": "Being closed",
    "CLOSED": "Closed",
}


# --------------------------------------------------------------------------------------------
# shared helpers


def _amount(value: str) -> Decimal:
    return Decimal(value)


def _exponent(currency: str) -> int:
    return currency_exponent(currency.upper())


def _number_format(currency: str) -> str:
    exp = _exponent(currency)
    return "#,##0." + "0" * exp if exp else "#,##0"


def _utc(moment: datetime) -> datetime:
    """Naive UTC (spreadsheets have no time zones); a naive input is taken as UTC already."""
    if moment.tzinfo is None:
        return moment
    return moment.astimezone(UTC).replace(tzinfo=None)


def _utc_text(moment: datetime) -> str:
    return _utc(moment).strftime("%Y-%m-%d %H:%M UTC")


def _owner_label(name: str | None, owner_id: int) -> str:
    return _("{name} (id {id})", name=name, id=owner_id) if name else _("Owner {id}", id=owner_id)


def _status_label(status: str) -> str:
    return _(_STATUS_LABELS.get(status, status))


_TRANSLIT = {
    "а": "a", "б": "b", "в": "v", "г": "g", "д": "d", "е": "e", "ё": "e", "ж": "zh", "з": "z",
    "и": "i", "й": "i", "к": "k", "л": "l", "м": "m", "н": "n", "о": "o", "п": "p", "р": "r",
    "с": "s", "т": "t", "у": "u", "ф": "f", "х": "kh", "ц": "ts", "ч": "ch", "ш": "sh",
    "щ": "shch", "ъ": "", "ы": "y", "ь": "", "э": "e", "ю": "iu", "я": "ia",
    "і": "i", "ї": "i", "є": "ie", "ґ": "g", "ў": "u",
}  # fmt: skip


def transliterate(text: str) -> str:
    """Latin rendering of Cyrillic (ICAO-like), other accents stripped: "Щука" -> "Shchuka"."""
    out: list[str] = []
    for ch in text:
        low = ch.lower()
        if low in _TRANSLIT:
            latin = _TRANSLIT[low]
            out.append(latin.capitalize() if ch != low else latin)
        else:
            out.append(ch)
    decomposed = unicodedata.normalize("NFKD", "".join(out))
    return "".join(c for c in decomposed if not unicodedata.combining(c))


def _slug(text: str, limit: int = 40) -> str:
    ascii_text = transliterate(text).encode("ascii", "ignore").decode().lower()
    slug = re.sub(r"[^a-z0-9]+", "-", ascii_text).strip("-")
    return slug[:limit].rstrip("-")


def export_filename(
    kind: str, community_name: str, subject: str, fmt: str, *, on: date | None = None
) -> str:
    """An ASCII-safe download name, safe in a plain ``Content-Disposition: filename="..."``.

    ``export_filename("owner", "Сосновый бор", "123456789", "pdf", on=date(2026, 11, 22))``
    gives ``statement-owner-123456789-sosnovyi-bor-2026-11-22.pdf``; ``kind`` is "owner" or
    "period", ``subject`` the owner id or the period name. ``on`` defaults to today (UTC).
    """
    if fmt not in FORMATS:
        raise ValidationFailed(f"unknown export format {fmt!r}: use one of {', '.join(FORMATS)}")
    day = on if on is not None else datetime.now(UTC).date()
    parts = ["statement", _slug(kind, 20), _slug(subject), _slug(community_name), day.isoformat()]
    return "-".join(p for p in parts if p) + "." + fmt


# --------------------------------------------------------------------------------------------
# CSV

_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


def _csv_text(value: str | None) -> str:
    """A text cell that a spreadsheet will not run as a formula (OWASP CSV injection)."""
    if not value:
        return ""
    return "'" + value if value.startswith(_FORMULA_START) else value


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
        [_("Generated at (UTC)"), _utc(s.generated_at).isoformat(sep=" ", timespec="seconds")],
        [],
        [_("Periods")],
        [
            _("Period id"),
            _("Period"),
            _("Start date"),
            _("End date"),
            _("Status"),
            _("Opening balance"),
            _("Charges"),
            _("Payments"),
            _("Closing balance"),
        ],
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
    rows += [
        [],
        [_("Invoices")],
        [
            _("Invoice id"),
            _("Period id"),
            _("Period"),
            _("Issued at (UTC)"),
            _("Amount"),
            _("Paid"),
            _("Pending"),
            _("Status"),
        ],
    ]
    for inv in s.invoices:
        rows.append(
            [
                inv.id,
                inv.period_id,
                _csv_text(inv.period_name),
                _utc(inv.issued_at).isoformat(sep=" ", timespec="seconds"),
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
        [_("Generated at (UTC)"), _utc(s.generated_at).isoformat(sep=" ", timespec="seconds")],
        [],
        [
            _("Owner id"),
            _("Owner"),
            _("Opening balance"),
            _("Charges"),
            _("Payments"),
            _("Closing balance"),
            _("Invoice amount"),
            _("Invoice status"),
        ],
    ]
    for line in s.lines:
        rows.append(
            [
                line.owner_id,
                _csv_text(line.owner_name),
                line.opening_balance,
                line.charges,
                line.payments,
                line.closing_balance,
                line.invoice_amount or "",
                line.invoice_status or "",
            ]
        )
    t = s.totals
    rows.append(
        [
            _("Total"),
            "",
            t.get("opening_balance", ""),
            t.get("charges", ""),
            t.get("payments", ""),
            t.get("closing_balance", ""),
            t.get("invoiced", ""),
            "",
        ]
    )
    rows += [[], [_("Invoices")]]
    rows += [[status, s.invoice_counts.get(status, 0)] for status in INVOICE_STATUSES]
    return _csv_bytes(rows)


# --------------------------------------------------------------------------------------------
# XLSX

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
        self.money_format = _number_format(currency)
        self.widths: dict[int, int] = {}
        self.row = 1

    def _fit(self, col: int, text: str) -> None:
        self.widths[col] = max(self.widths.get(col, 0), len(text))

    def put(self, col: int, value: object, kind: str = "text", bold: bool = False) -> None:
        cell = self.ws.cell(row=self.row, column=col)
        if value is None or value == "":
            return
        if kind == "amount":
            number = value if isinstance(value, Decimal) else _amount(str(value))
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
            cell.value = _utc(value)
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


_PERIOD_COLS = (
    _Col("Period id", "int"),
    _Col("Period", "text"),
    _Col("Start date", "date"),
    _Col("End date", "date"),
    _Col("Status", "text"),
    _Col("Opening balance", "amount"),
    _Col("Charges", "amount"),
    _Col("Payments", "amount"),
    _Col("Closing balance", "amount"),
)
_INVOICE_COLS = (
    _Col("Invoice id", "int"),
    _Col("Period id", "int"),
    _Col("Period", "text"),
    _Col("Issued at (UTC)", "datetime"),
    _Col("Amount", "amount"),
    _Col("Paid", "amount"),
    _Col("Pending", "amount"),
    _Col("Status", "text"),
)


def owner_statement_xlsx(s: OwnerStatementOut) -> bytes:
    wb = Workbook()
    ws = wb.active
    assert ws is not None
    ws.title = _("Statement")
    sheet = _Sheet(ws, s.currency)
    sheet.title(_("Account statement"))
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
    return _workbook_bytes(wb)


_LINE_COLS = (
    _Col("Owner id", "int"),
    _Col("Owner", "text"),
    _Col("Opening balance", "amount"),
    _Col("Charges", "amount"),
    _Col("Payments", "amount"),
    _Col("Closing balance", "amount"),
    _Col("Invoice amount", "amount"),
    _Col("Invoice status", "text"),
)


def period_statement_xlsx(s: PeriodStatementOut) -> bytes:
    wb = Workbook()
    ws = wb.active
    assert ws is not None
    ws.title = _("Statement")
    sheet = _Sheet(ws, s.currency)
    sheet.title(_("Period statement"))
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
    for line in s.lines:
        sheet.line(
            _LINE_COLS,
            [
                line.owner_id,
                line.owner_name or "",
                line.opening_balance,
                line.charges,
                line.payments,
                line.closing_balance,
                line.invoice_amount or "",
                line.invoice_status or "",
            ],
        )
    t = s.totals
    sheet.line(
        _LINE_COLS,
        [
            "",
            _("Total"),
            t.get("opening_balance", ""),
            t.get("charges", ""),
            t.get("payments", ""),
            t.get("closing_balance", ""),
            t.get("invoiced", ""),
            "",
        ],
        bold=True,
    )
    sheet.next()
    sheet.put(1, _("Invoices"), bold=True)
    sheet.next()
    for status in INVOICE_STATUSES:
        sheet.field(status, s.invoice_counts.get(status, 0), "int")
    ws.freeze_panes = f"A{header_row + 1}"
    sheet.finish()
    return _workbook_bytes(wb)


# --------------------------------------------------------------------------------------------
# PDF

_FONT_DIRS = (
    "/usr/share/fonts/truetype/dejavu",  # Debian, Ubuntu: fonts-dejavu-core
    "/usr/share/fonts/dejavu",  # Fedora, Alpine
    "/usr/share/fonts/TTF",  # Arch
    "/usr/local/share/fonts",
    "/usr/share/fonts/truetype",
)
_FAMILY = "DejaVu"
# For the core-font fallback: typographic punctuation outside latin-1.
_LATIN1_PUNCTUATION = str.maketrans(
    {"–": "-", "—": "-", "‘": "'", "’": "'", "“": '"', "”": '"', "„": '"', "…": "...", "№": "No."}
)
_GREY = (110, 110, 110)
_VOID_GREY = (150, 150, 150)
# owner statement: per-period tables (mm); "Amount" ends where the balance table's amounts do
_STATUS_WIDTH = 38
_AMOUNT_WIDTH = 24
_INVOICE_WIDTHS = (14, 20, _STATUS_WIDTH, _AMOUNT_WIDTH, _AMOUNT_WIDTH, _AMOUNT_WIDTH)
_PERIOD_HEADING_SIZE = 11


@lru_cache(maxsize=1)
def unicode_font_files() -> tuple[Path, Path] | None:
    """(regular, bold) DejaVu Sans files, or None when no such font is installed.

    ``KOPILKA_PDF_FONT_DIR`` names another directory holding DejaVuSans.ttf and
    DejaVuSans-Bold.ttf.
    """
    extra = os.environ.get("KOPILKA_PDF_FONT_DIR")
    dirs = ((extra,) if extra else ()) + _FONT_DIRS
    for directory in dirs:
        regular = Path(directory) / "DejaVuSans.ttf"
        bold = Path(directory) / "DejaVuSans-Bold.ttf"
        if regular.is_file():
            return regular, bold if bold.is_file() else regular
    return None


class _StatementPdf(FPDF):
    def __init__(self, footer_text: str) -> None:
        super().__init__(orientation="portrait", unit="mm", format="A4")
        self.footer_text = footer_text
        fonts = unicode_font_files()
        self.unicode = fonts is not None
        if fonts is not None:
            self.add_font(_FAMILY, "", str(fonts[0]))
            self.add_font(_FAMILY, "B", str(fonts[1]))
            self.family_name = _FAMILY
        else:
            self.family_name = "helvetica"
        self.set_margins(15, 15, 15)
        self.set_auto_page_break(auto=True, margin=18)
        self.set_font(self.family_name, size=10)
        self._scratch: _StatementPdf | None = None  # for keep_together's measurements
        self._heights: dict[tuple[str, Hashable], float] = {}

    def t(self, text: str) -> str:
        """Text the current font can draw: as is with DejaVu, else transliterated latin-1."""
        text = "".join(ch for ch in text if ch.isprintable())
        if self.unicode:
            return text
        text = transliterate(text).translate(_LATIN1_PUNCTUATION)
        return text.encode("latin-1", "replace").decode("latin-1")

    def footer(self) -> None:
        self.set_y(-12)
        self.set_font(self.family_name, size=8)
        self.set_text_color(*_GREY)
        self.cell(0, 5, self.t(self.footer_text), align="L")
        self.set_x(self.l_margin)
        self.cell(0, 5, _("Page {page} of {total}", page=self.page_no(), total="{nb}"), align="R")
        self.set_text_color(0, 0, 0)

    def heading(self, text: str, size: float = 12) -> None:
        self.set_font(self.family_name, "B", size)
        self.multi_cell(0, size * 0.5, self.t(text), align="L", new_x="LMARGIN", new_y="NEXT")
        self.set_font(self.family_name, size=10)

    def fields(self, items: Sequence[tuple[str, str]]) -> None:
        label_width = 32
        for label, value in items:
            self.set_font(self.family_name, "B", 10)
            self.set_text_color(*_GREY)
            self.cell(label_width, 6, self.t(label))
            self.set_font(self.family_name, size=10)
            self.set_text_color(0, 0, 0)
            self.multi_cell(0, 6, self.t(value), align="L", new_x="LMARGIN", new_y="NEXT")

    def grid(
        self,
        headers: Sequence[str],
        rows: Sequence[Sequence[str]],
        widths: Sequence[float],
        aligns: Sequence[str],
        *,
        row_colors: Sequence[tuple[int, int, int] | None] | None = None,
        bold_last: bool = False,
        width: float | None = None,
        table_align: str = "LEFT",
        first_row_as_headings: bool = True,
    ) -> None:
        self.set_font(self.family_name, size=8)
        headings = FontFace(emphasis="BOLD", fill_color=(232, 232, 232))
        with self.table(
            width=width if width is not None else self.epw,
            col_widths=tuple(widths),
            text_align=tuple(aligns),
            align=table_align,
            headings_style=headings,
            first_row_as_headings=first_row_as_headings,
            borders_layout="HORIZONTAL_LINES",
            line_height=self.font_size * 1.45,
            padding=(0.8, 1.2),
            v_align="MIDDLE",
        ) as table:
            if first_row_as_headings:
                table.row([self.t(h) for h in headers])
            for index, cells in enumerate(rows):
                color = row_colors[index] if row_colors else None
                bold = bold_last and index == len(rows) - 1
                style = None
                if color is not None or bold:
                    style = FontFace(emphasis="BOLD" if bold else None, color=color)
                table.row([self.t(c) for c in cells], style=style)
        self.set_font(self.family_name, size=10)

    def note(self, text: str) -> None:
        self.set_font(self.family_name, size=9)
        self.set_text_color(*_GREY)
        self.multi_cell(0, 5, self.t(text), align="L", new_x="LMARGIN", new_y="NEXT")
        self.set_text_color(0, 0, 0)
        self.set_font(self.family_name, size=10)

    def keep_together(self, draw: str, *args: Any, shape: Hashable | None = None) -> None:
        """``self.<draw>(*args)``, on a new page when it would not fit on the rest of this one.

        The block is measured by drawing it first on a scratch document, once per ``shape``
        (blocks of one shape have one height) when one is given. A block taller than a whole
        page still starts at the top of one and breaks where it must (tables repeat headings).
        """
        key = (draw, shape)
        height = self._heights.get(key) if shape is not None else None
        if height is None:
            if self._scratch is None:
                self._scratch = _StatementPdf(self.footer_text)
            scratch = self._scratch
            scratch.add_page()
            top_page, top_y = scratch.page, scratch.y
            getattr(scratch, draw)(*args)
            height = scratch.y - top_y + (scratch.page - top_page) * scratch.eph
            if shape is not None:
                self._heights[key] = height
        if self.will_page_break(height) and self.y > self.t_margin + 1:
            self.add_page()
        getattr(self, draw)(*args)

    def _lines(self, text: str, size: float, style: str = "") -> int:
        """How many lines ``heading``/``note`` text of this size takes on the full width."""
        self.set_font(self.family_name, style, size)
        lines = self.multi_cell(0, 5, self.t(text), align="L", dry_run=True, output="LINES")
        self.set_font(self.family_name, size=10)
        assert isinstance(lines, list)
        return len(lines)

    def _fits(self, texts: Iterable[str], width: float) -> bool:
        """Whether each text fits on one line of a grid column ``width`` wide (bold, 8 pt)."""
        self.set_font(self.family_name, "B", 8)
        fits = all(self.get_string_width(self.t(text)) <= width - 3 for text in texts)
        self.set_font(self.family_name, size=10)
        return fits

    def period_shape(self, p: StatementPeriodOut, invoices: Sequence[InvoiceOut]) -> Hashable:
        """What the height of ``period_block(p, invoices, ...)`` depends on; None: measure it."""
        amounts = [p.opening_balance, p.charges, p.payments, p.closing_balance]
        amounts += [a for i in invoices for a in (i.amount, i.paid, i.pending)]
        statuses = [_invoice_status_text(i) for i in invoices]
        if not (self._fits(amounts, _AMOUNT_WIDTH) and self._fits(statuses, _STATUS_WIDTH)):
            return None
        heading = self._lines(_period_heading(p), _PERIOD_HEADING_SIZE, "B")
        return heading, len(invoices), any(i.status == "VOID" for i in invoices)

    def period_block(
        self, p: StatementPeriodOut, invoices: Sequence[InvoiceOut], currency: str
    ) -> None:
        """One period: a heading, its balance table, then its invoice(s)."""
        self.heading(_period_heading(p), _PERIOD_HEADING_SIZE)
        self.ln(1)
        self.grid(
            [_("Balance"), currency],
            [
                [_("Opening balance"), p.opening_balance],
                [_("Charges"), p.charges],
                [_("Payments"), p.payments],
                [_balance_label(_("Closing balance"), p.closing_balance), p.closing_balance],
            ],
            # the amounts line up with the invoices' _("Amount") column below
            widths=(_INVOICE_WIDTHS[0] + _INVOICE_WIDTHS[1] + _STATUS_WIDTH, _AMOUNT_WIDTH),
            aligns=("LEFT", "RIGHT"),
            bold_last=True,
            width=sum(_INVOICE_WIDTHS[:4]),
        )
        self.ln(2)
        if invoices:
            self.grid(
                [_("Invoice"), _("Issued"), _("Status"), _("Amount"), _("Paid"), _("Pending")],
                [
                    [
                        f"#{i.id}",
                        _utc(i.issued_at).date().isoformat(),
                        _invoice_status_text(i),
                        i.amount,
                        i.paid,
                        i.pending,
                    ]
                    for i in invoices
                ],
                widths=_INVOICE_WIDTHS,
                aligns=("LEFT", "LEFT", "LEFT", "RIGHT", "RIGHT", "RIGHT"),
                row_colors=[_VOID_GREY if i.status == "VOID" else None for i in invoices],
                width=sum(_INVOICE_WIDTHS),
            )
            if any(i.status == "VOID" for i in invoices):
                self.ln(1)
                self.note(_("Void invoices (grey) were replaced when the period was reopened."))
        else:
            self.note(_("No invoice for this period."))

    def other_invoices_block(self, invoices: Sequence[InvoiceOut]) -> None:
        """Invoices of periods the statement does not list (kept so that no invoice is lost)."""
        self.heading(_("Other invoices"), _PERIOD_HEADING_SIZE)
        self.ln(1)
        self.grid(
            [
                _("Invoice"),
                _("Period"),
                _("Issued"),
                _("Status"),
                _("Amount"),
                _("Paid"),
                _("Pending"),
            ],
            [
                [
                    f"#{i.id}",
                    i.period_name,
                    _utc(i.issued_at).date().isoformat(),
                    _invoice_status_text(i),
                    i.amount,
                    i.paid,
                    i.pending,
                ]
                for i in invoices
            ],
            widths=(14, 36, 20, _STATUS_WIDTH, _AMOUNT_WIDTH, _AMOUNT_WIDTH, _AMOUNT_WIDTH),
            aligns=("LEFT", "LEFT", "LEFT", "LEFT", "RIGHT", "RIGHT", "RIGHT"),
            row_colors=[_VOID_GREY if i.status == "VOID" else None for i in invoices],
        )

    def totals_block(self, t: StatementTotalsOut, currency: str) -> None:
        self.heading(_("Totals ({currency})", currency=currency))
        self.ln(1)
        self.grid(
            [],
            [
                [_("Charges"), t.charges],
                [_("Payments"), t.payments],
                [_("Invoiced"), t.invoiced],
                [_("Paid"), t.paid],
                [_("Pending"), t.pending],
                [_balance_label(_("Closing balance"), t.closing_balance), t.closing_balance],
            ],
            widths=(sum(_INVOICE_WIDTHS[:3]), _AMOUNT_WIDTH),
            aligns=("LEFT", "RIGHT"),
            bold_last=True,
            width=sum(_INVOICE_WIDTHS[:4]),
            first_row_as_headings=False,
        )
        self.ln(3)
        self.note(
            _(
                "A positive balance is a credit, a negative one a debt. Payments pay the oldest "
                "invoices first."
            )
        )

    def bytes(self) -> bytes:
        return bytes(self.output())


def _balance_label(label: str, value: str) -> str:
    amount = _amount(value)
    if amount > 0:
        return _("{label} (credit)", label=label)
    if amount < 0:
        return _("{label} (debt)", label=label)
    return label


def _invoice_status_text(inv: InvoiceOut) -> str:
    label = _status_label(inv.status)
    if inv.status == "VOID" and inv.voided_at is not None:
        return _("{label} since {date}", label=label, date=_utc(inv.voided_at).date().isoformat())
    return label


def _period_heading(p: StatementPeriodOut) -> str:
    dates = f"{p.start_date.isoformat()} – {p.end_date.isoformat()}"
    return f"{p.period_name} · {dates} · {_status_label(p.status)}"


def owner_statement_pdf(s: OwnerStatementOut) -> bytes:
    pdf = _StatementPdf(
        _("Kopilka · {community} · owner {id}", community=s.community_name, id=s.owner_id)
    )
    pdf.set_title(
        pdf.t(_("Account statement: {owner}", owner=_owner_label(s.owner_name, s.owner_id)))
    )
    pdf.set_author("Kopilka")
    pdf.set_creation_date(s.generated_at)
    pdf.add_page()

    pdf.heading(_("Account statement"), 18)
    pdf.ln(2)
    pdf.fields(
        [
            (_("Community"), s.community_name),
            (_("Owner"), _owner_label(s.owner_name, s.owner_id)),
            (_("Currency"), s.currency),
            (_("Generated"), _utc_text(s.generated_at)),
        ]
    )
    pdf.ln(4)

    known = {p.period_id for p in s.periods}
    by_period: dict[int, list[InvoiceOut]] = {}
    for inv in s.invoices:
        by_period.setdefault(inv.period_id, []).append(inv)
    if not s.periods:
        pdf.heading(_("Periods"))
        pdf.ln(1)
        pdf.note(_("No periods yet."))
        if not s.invoices:
            pdf.note(_("No invoices yet."))
        pdf.ln(5)
    for period in s.periods:
        invoices = by_period.get(period.period_id, [])
        shape = pdf.period_shape(period, invoices)
        pdf.keep_together("period_block", period, invoices, s.currency, shape=shape)
        pdf.ln(6)
    others = [i for i in s.invoices if i.period_id not in known]
    if others:
        pdf.keep_together("other_invoices_block", others)
        pdf.ln(6)

    pdf.keep_together("totals_block", s.totals, s.currency)
    payment_blocks(pdf, s.invoices, s.currency)
    return pdf.bytes()


def period_statement_pdf(s: PeriodStatementOut) -> bytes:
    pdf = _StatementPdf(
        _(
            "Kopilka · {community} · period {period}",
            community=s.community_name,
            period=s.period_name,
        )
    )
    pdf.set_title(pdf.t(_("Period statement: {period}", period=s.period_name)))
    pdf.set_author("Kopilka")
    pdf.set_creation_date(s.generated_at)
    pdf.add_page()
    pdf.heading(_("Period statement"), 18)
    pdf.ln(2)
    pdf.fields(
        [
            (_("Community"), s.community_name),
            (
                _("Period"),
                f"{s.period_name} ({s.start_date.isoformat()} – {s.end_date.isoformat()})",
            ),
            (_("Status"), _status_label(s.status)),
            (_("Currency"), s.currency),
            (_("Generated"), _utc_text(s.generated_at)),
        ]
    )
    pdf.ln(4)
    pdf.heading(_("Owners"))
    pdf.ln(1)
    t = s.totals
    rows = [
        [
            str(line.owner_id),
            line.owner_name or "",
            line.opening_balance,
            line.charges,
            line.payments,
            line.closing_balance,
            line.invoice_amount or "",
            _status_label(line.invoice_status) if line.invoice_status else "",
        ]
        for line in s.lines
    ]
    rows.append(
        [
            _("Total"),
            "",
            t.get("opening_balance", ""),
            t.get("charges", ""),
            t.get("payments", ""),
            t.get("closing_balance", ""),
            t.get("invoiced", ""),
            "",
        ]
    )
    pdf.grid(
        [
            _("Owner id"),
            _("Owner"),
            _("Opening"),
            _("Charges"),
            _("Payments"),
            _("Closing"),
            _("Invoice"),
            _("Status"),
        ],
        rows,
        widths=(18, 35, 22, 22, 22, 22, 22, 17),
        aligns=("LEFT", "LEFT", "RIGHT", "RIGHT", "RIGHT", "RIGHT", "RIGHT", "LEFT"),
        bold_last=True,
    )
    pdf.ln(4)
    counts = ", ".join(
        f"{_status_label(k).lower()} {s.invoice_counts.get(k, 0)}" for k in INVOICE_STATUSES
    )
    pdf.note(_("Invoices: {counts}.", counts=counts))
    return pdf.bytes()


# --------------------------------------------------------------------------------------------
# dispatch

_OWNER_RENDERERS: dict[str, Callable[[OwnerStatementOut], bytes]] = {
    "csv": owner_statement_csv,
    "xlsx": owner_statement_xlsx,
    "pdf": owner_statement_pdf,
}
_PERIOD_RENDERERS: dict[str, Callable[[PeriodStatementOut], bytes]] = {
    "csv": period_statement_csv,
    "xlsx": period_statement_xlsx,
    "pdf": period_statement_pdf,
}


def _renderer(table: dict[str, Any], fmt: str) -> Any:
    try:
        return table[fmt]
    except KeyError:
        raise ValidationFailed(
            f"unknown export format {fmt!r}: use one of {', '.join(FORMATS)}"
        ) from None


def render_owner_statement(s: OwnerStatementOut, fmt: str, lang: str | None = None) -> bytes:
    """The owner's statement in ``fmt`` ("csv", "xlsx" or "pdf"), its words in ``lang`` (the
    owner's language, else the community's; English when None)."""
    renderer: Callable[[OwnerStatementOut], bytes] = _renderer(_OWNER_RENDERERS, fmt)
    with language(lang):
        return renderer(s)


def render_period_statement(s: PeriodStatementOut, fmt: str, lang: str | None = None) -> bytes:
    """The period's statement in ``fmt`` ("csv", "xlsx" or "pdf"), in ``lang`` (the community's)."""
    renderer: Callable[[PeriodStatementOut], bytes] = _renderer(_PERIOD_RENDERERS, fmt)
    with language(lang):
        return renderer(s)
