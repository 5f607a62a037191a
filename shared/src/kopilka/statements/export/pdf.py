"""PDF: A4, a TrueType font with Cyrillic (DejaVu Sans, Debian package ``fonts-dejavu-core``);
without it, a core font and transliterated text, so the export degrades but never fails.
"""

from __future__ import annotations

import os
from collections.abc import Hashable, Iterable, Sequence
from datetime import datetime
from functools import lru_cache
from pathlib import Path
from typing import Any

from fpdf import FPDF
from fpdf.fonts import FontFace

from kopilka.i18n import _
from kopilka.invoices.schemas import InvoiceOut
from kopilka.statements.export.common import (
    INVOICE_STATUSES,
    consumption_text,
    decimal_amount,
    owner_label,
    period_lines,
    period_totals,
    status_label,
    transliterate,
    utc,
    utc_text,
)
from kopilka.statements.payment_pdf import payment_blocks
from kopilka.statements.schemas import (
    OwnerStatementOut,
    PeriodStatementOut,
    StatementPeriodOut,
    StatementTotalsOut,
)

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
        return heading, len(invoices), any(i.status == "VOID" for i in invoices), len(p.metered)

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
        if p.metered:  # the metered items: consumption, tariff charge, loss share (SPEC §3a)
            self.grid(
                [_("Meter type"), _("Consumption"), _("Tariff charge"), _("Loss share")],
                [
                    [
                        m.meter_type + (" *" if m.estimated else ""),
                        consumption_text(m.consumption),
                        m.tariff_charge,
                        m.loss_share,
                    ]
                    for m in p.metered
                ],
                widths=(
                    _INVOICE_WIDTHS[0] + _INVOICE_WIDTHS[1],
                    _STATUS_WIDTH,
                    _AMOUNT_WIDTH,
                    _AMOUNT_WIDTH,
                ),
                aligns=("LEFT", "LEFT", "RIGHT", "RIGHT"),
                width=sum(_INVOICE_WIDTHS[:4]) + _AMOUNT_WIDTH,
            )
            if any(m.estimated for m in p.metered):
                self.ln(1)
                self.note(_("* an estimated reading (the owner did not send one)"))
            self.ln(2)
        if invoices:
            self.grid(
                [_("Invoice"), _("Issued"), _("Status"), _("Amount"), _("Paid"), _("Pending")],
                [
                    [
                        f"#{i.id}",
                        utc(i.issued_at).date().isoformat(),
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
                    utc(i.issued_at).date().isoformat(),
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
    amount = decimal_amount(value)
    if amount > 0:
        return _("{label} (credit)", label=label)
    if amount < 0:
        return _("{label} (debt)", label=label)
    return label


def _invoice_status_text(inv: InvoiceOut) -> str:
    label = status_label(inv.status)
    if inv.status == "VOID" and inv.voided_at is not None:
        return _("{label} since {date}", label=label, date=utc(inv.voided_at).date().isoformat())
    return label


def _period_heading(p: StatementPeriodOut) -> str:
    dates = f"{p.start_date.isoformat()} – {p.end_date.isoformat()}"
    return f"{p.period_name} · {dates} · {status_label(p.status)}"


def _document(
    header: str, title: str, heading: str, generated_at: datetime, fields: list[tuple[str, str]]
) -> _StatementPdf:
    """A statement's first page: the running header, the document's title and date, its heading
    and its fields (the currency and when it was generated last)."""
    pdf = _StatementPdf(header)
    pdf.set_title(pdf.t(title))
    pdf.set_author("Kopilka")
    pdf.set_creation_date(generated_at)
    pdf.add_page()
    pdf.heading(heading, 18)
    pdf.ln(2)
    pdf.fields(fields)
    pdf.ln(4)
    return pdf


def owner_statement_pdf(s: OwnerStatementOut) -> bytes:
    owner = owner_label(s.owner_name, s.owner_id)
    pdf = _document(
        _("Kopilka · {community} · owner {id}", community=s.community_name, id=s.owner_id),
        _("Account statement: {owner}", owner=owner),
        _("Account statement"),
        s.generated_at,
        [
            (_("Community"), s.community_name),
            (_("Owner"), owner),
            (_("Currency"), s.currency),
            (_("Generated"), utc_text(s.generated_at)),
        ],
    )

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
    pdf = _document(
        _(
            "Kopilka · {community} · period {period}",
            community=s.community_name,
            period=s.period_name,
        ),
        _("Period statement: {period}", period=s.period_name),
        _("Period statement"),
        s.generated_at,
        [
            (_("Community"), s.community_name),
            (
                _("Period"),
                f"{s.period_name} ({s.start_date.isoformat()} – {s.end_date.isoformat()})",
            ),
            (_("Status"), status_label(s.status)),
            (_("Currency"), s.currency),
            (_("Generated"), utc_text(s.generated_at)),
        ],
    )
    pdf.heading(_("Owners"))
    pdf.ln(1)
    rows = [
        [str(owner_id), *amounts, status_label(status) if status else ""]
        for owner_id, *amounts, status in period_lines(s)
    ]
    rows.append([_("Total"), "", *period_totals(s)])
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
        f"{status_label(k).lower()} {s.invoice_counts.get(k, 0)}" for k in INVOICE_STATUSES
    )
    pdf.note(_("Invoices: {counts}.", counts=counts))
    return pdf.bytes()
