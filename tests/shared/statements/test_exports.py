"""Statement exports (SPEC §4a): CSV, XLSX and PDF read back with the right content."""

from __future__ import annotations

import csv
import io
import itertools
from datetime import UTC, date, datetime
from decimal import Decimal

import pytest
from openpyxl import load_workbook
from pypdf import PdfReader

from kopilka.errors import ValidationFailed
from kopilka.invoices.schemas import InvoiceOut
from kopilka.statements import export
from kopilka.statements.export import (
    export_filename,
    owner_statement_csv,
    owner_statement_pdf,
    owner_statement_xlsx,
    period_statement_csv,
    period_statement_pdf,
    period_statement_xlsx,
    render_owner_statement,
    render_period_statement,
    transliterate,
)
from kopilka.statements.schemas import (
    OwnerStatementOut,
    PeriodStatementLineOut,
    PeriodStatementOut,
    StatementPeriodOut,
    StatementTotalsOut,
)
from tests.support.xlsx import amounts, decimals, money

GENERATED = datetime(2026, 11, 22, 9, 30, tzinfo=UTC)


def _period(
    period_id: int, name: str, start: date, end: date, status: str, *amounts: str
) -> StatementPeriodOut:
    """A period of an owner's statement; ``amounts``: opening, charges, payments, closing."""
    opening, charges, payments, closing = amounts
    return StatementPeriodOut(
        period_id=period_id,
        period_name=name,
        start_date=start,
        end_date=end,
        status=status,
        opening_balance=opening,
        charges=charges,
        payments=payments,
        closing_balance=closing,
    )


def _invoice(invoice_id: int, period_id: int, period_name: str, *figures: str) -> InvoiceOut:
    """An invoice; ``figures``: amount, paid, pending, status, issued at (UTC, ISO)."""
    amount, paid, pending, status, issued_at = figures
    return InvoiceOut(
        id=invoice_id,
        period_id=period_id,
        period_name=period_name,
        amount=amount,
        paid=paid,
        pending=pending,
        status=status,
        issued_at=datetime.fromisoformat(issued_at).replace(tzinfo=UTC),
    )


def _line(owner_id: int, owner_name: str | None, *figures: str | None) -> PeriodStatementLineOut:
    """An owner's line of a period statement; ``figures``: opening, charges, payments, closing,
    invoice amount, invoice status."""
    opening, charges, payments, closing, invoiced, invoice_status = figures
    return PeriodStatementLineOut(
        owner_id=owner_id,
        owner_name=owner_name,
        opening_balance=opening,
        charges=charges,
        payments=payments,
        closing_balance=closing,
        invoice_amount=invoiced,
        invoice_status=invoice_status,
    )


def owner_statement(owner_name: str | None = "Иван Петров") -> OwnerStatementOut:
    # October: opening 0, charged 1 500.00, paid 1 500.00 -> 0.00.
    # November: charged 2 620.50 (invoice 12), reopened once (invoice 11 void), paid 1 500.00
    # -> closing -1 120.50, which is what invoice 12 still has pending.
    return OwnerStatementOut(
        community_id=7,
        community_name="СНТ «Сосновый бор»",
        currency="RUB",
        owner_id=123456789,
        owner_name=owner_name,
        generated_at=GENERATED,
        periods=[
            _period(1, "Октябрь 2026", date(2026, 10, 1), date(2026, 10, 31), "CLOSED",
                    "0.00", "1500.00", "1500.00", "0.00"),
            _period(2, "November 2026", date(2026, 11, 1), date(2026, 11, 30), "CLOSED",
                    "0.00", "2620.50", "1500.00", "-1120.50"),
        ],
        invoices=[
            _invoice(10, 1, "Октябрь 2026", "1500.00", "1500.00", "0.00", "PAID", "2026-11-01 00:05"),
            _invoice(11, 2, "November 2026", "2400.00", "0.00", "0.00", "VOID", "2026-12-01 00:05"),
            _invoice(12, 2, "November 2026",
                     "2620.50", "1500.00", "1120.50", "PARTIAL", "2026-12-02 10:00"),
        ],
        totals=StatementTotalsOut(
            charges="4120.50",
            payments="3000.00",
            invoiced="4120.50",
            paid="3000.00",
            pending="1120.50",
            closing_balance="-1120.50",
        ),
    )  # fmt: skip


def period_statement() -> PeriodStatementOut:
    return PeriodStatementOut(
        community_id=7,
        community_name="СНТ «Сосновый бор»",
        currency="RUB",
        period_id=2,
        period_name="November 2026",
        start_date=date(2026, 11, 1),
        end_date=date(2026, 11, 30),
        status="CLOSED",
        generated_at=GENERATED,
        lines=[
            _line(123456789, "Иван Петров",
                  "0.00", "2620.50", "1500.00", "-1120.50", "2620.50", "PARTIAL"),
            _line(555, None, "200.00", "1000.00", "1000.00", "200.00", "1000.00", "PAID"),
            _line(556, '=HYPERLINK("http://evil")', "0.00", "0.00", "50.00", "50.00", None, None),
        ],
        totals={
            "opening_balance": "200.00",
            "charges": "3620.50",
            "payments": "2550.00",
            "closing_balance": "-870.50",
            "invoiced": "3620.50",
        },
        invoice_counts={"ISSUED": 0, "PARTIAL": 1, "PAID": 1, "VOID": 0},
    )  # fmt: skip


# --------------------------------------------------------------------------------------------
# XLSX


def test_owner_xlsx_reads_back_with_exact_numbers() -> None:
    wb = load_workbook(io.BytesIO(owner_statement_xlsx(owner_statement())))
    assert wb.sheetnames == ["Statement", "Invoices"]
    ws = wb["Statement"]
    rows = [list(r) for r in ws.iter_rows(values_only=True)]
    assert rows[0][0] == "Account statement"
    fields = {r[0]: r[1] for r in rows[1:6]}
    assert fields["Community"] == "СНТ «Сосновый бор»"
    assert fields["Owner"] == "Иван Петров"
    assert fields["Owner id"] == 123456789
    assert fields["Currency"] == "RUB"
    assert fields["Generated at (UTC)"] == datetime(2026, 11, 22, 9, 30)

    header = rows.index(
        [
            "Period id",
            "Period",
            "Start date",
            "End date",
            "Status",
            "Opening balance",
            "Charges",
            "Payments",
            "Closing balance",
        ]
    )
    october, november, total = rows[header + 1 : header + 4]
    assert october[:5] == [
        1,
        "Октябрь 2026",
        datetime(2026, 10, 1),
        datetime(2026, 10, 31),
        "CLOSED",
    ]
    assert amounts(november[5:]) == decimals("0.00", "2620.50", "1500.00", "-1120.50")
    assert total[1] == "Total"
    assert amounts(total[6:]) == decimals("4120.50", "3000.00", "-1120.50")

    # numeric cells with the currency's two decimals, bold header, widths set
    cell = ws.cell(row=header + 2, column=7)
    assert cell.data_type == "n"
    assert cell.number_format == "#,##0.00"
    assert ws.cell(row=header + 1, column=6).font.b
    assert ws.column_dimensions["B"].width >= len("Октябрь 2026")
    assert ws.freeze_panes == f"A{header + 2}"

    inv = [list(r) for r in wb["Invoices"].iter_rows(values_only=True)]
    assert inv[0] == [
        "Invoice id",
        "Period id",
        "Period",
        "Issued at (UTC)",
        "Amount",
        "Paid",
        "Pending",
        "Status",
    ]
    assert [r[7] for r in inv[1:4]] == ["PAID", "VOID", "PARTIAL"]
    partial = inv[3]
    assert partial[:4] == [12, 2, "November 2026", datetime(2026, 12, 2, 10, 0)]
    assert amounts(partial[4:7]) == decimals("2620.50", "1500.00", "1120.50")
    assert inv[4][2] == "Total"
    assert amounts(inv[4][4:7]) == decimals("4120.50", "3000.00", "1120.50")
    assert wb["Invoices"].cell(row=2, column=5).number_format == "#,##0.00"


def test_xlsx_number_format_follows_currency_decimals() -> None:
    s = owner_statement().model_copy(update={"currency": "JPY"})
    s.periods[0].charges = "1500"
    wb = load_workbook(io.BytesIO(owner_statement_xlsx(s)))
    ws = wb["Statement"]
    formats = {c.number_format for row in ws.iter_rows() for c in row if c.data_type == "n"}
    assert "#,##0" in formats
    assert "#,##0.00" not in formats


def test_period_xlsx_and_formula_injection() -> None:
    wb = load_workbook(io.BytesIO(period_statement_xlsx(period_statement())))
    ws = wb["Statement"]
    rows = [list(r) for r in ws.iter_rows(values_only=True)]
    owners = {r[0]: r for r in rows if isinstance(r[0], int) and r[0] >= 555}
    assert owners[123456789][1] == "Иван Петров"
    assert money(owners[123456789][5]) == Decimal("-1120.50")
    assert owners[123456789][7] == "PARTIAL"
    assert owners[555][1] is None
    # a name starting with "=" stays text, never a formula
    evil = next(c for row in ws.iter_rows() for c in row if c.value == '=HYPERLINK("http://evil")')
    assert evil.data_type == "s"
    total = next(r for r in rows if r[1] == "Total")
    assert amounts(total[2:7]) == decimals("200.00", "3620.50", "2550.00", "-870.50", "3620.50")
    counts = {r[0]: r[1] for r in rows if r[0] in ("ISSUED", "PARTIAL", "PAID", "VOID")}
    assert counts == {"ISSUED": 0, "PARTIAL": 1, "PAID": 1, "VOID": 0}


# --------------------------------------------------------------------------------------------
# CSV


def read_csv(data: bytes) -> list[list[str]]:
    assert data.startswith(b"\xef\xbb\xbf")  # BOM for Excel
    return list(csv.reader(io.StringIO(data.decode("utf-8-sig"), newline="")))


def test_owner_csv_parses_and_has_totals() -> None:
    rows = read_csv(owner_statement_csv(owner_statement()))
    assert rows[0] == ["Account statement"]
    assert ["Owner", "Иван Петров"] in rows
    assert ["Owner id", "123456789"] in rows
    assert ["Community", "СНТ «Сосновый бор»"] in rows
    periods = rows.index(["Periods"])
    assert rows[periods + 2] == [
        "1",
        "Октябрь 2026",
        "2026-10-01",
        "2026-10-31",
        "CLOSED",
        "0.00",
        "1500.00",
        "1500.00",
        "0.00",
    ]
    invoices = rows.index(["Invoices"])
    assert rows[invoices + 1][4:7] == ["Amount", "Paid", "Pending"]
    assert [r[7] for r in rows[invoices + 2 : invoices + 5]] == ["PAID", "VOID", "PARTIAL"]
    assert rows[invoices + 4][4:7] == ["2620.50", "1500.00", "1120.50"]
    totals = dict(r for r in rows[rows.index(["Totals"]) + 1 :] if len(r) == 2)
    assert totals == {
        "Charges": "4120.50",
        "Payments": "3000.00",
        "Invoiced": "4120.50",
        "Paid": "3000.00",
        "Pending": "1120.50",
        "Closing balance": "-1120.50",
    }


def test_period_csv_guards_formulas_and_keeps_negative_amounts() -> None:
    rows = read_csv(period_statement_csv(period_statement()))
    by_owner = {r[0]: r for r in rows if r and r[0].isdigit() and len(r) == 8}
    assert by_owner["556"][1] == '\'=HYPERLINK("http://evil")'
    assert by_owner["123456789"][5] == "-1120.50"  # amounts are not prefixed
    assert by_owner["555"][1] == ""
    total = next(r for r in rows if r and r[0] == "Total")
    assert total[2:7] == ["200.00", "3620.50", "2550.00", "-870.50", "3620.50"]
    assert ["PARTIAL", "1"] in rows


# --------------------------------------------------------------------------------------------
# PDF


def pdf_text(data: bytes) -> str:
    assert data.startswith(b"%PDF-")
    reader = PdfReader(io.BytesIO(data))
    assert reader.pages[0].mediabox.width == pytest.approx(595.28, abs=0.1)  # A4
    return "\n".join(page.extract_text() for page in reader.pages)


def test_owner_pdf_has_cyrillic_names_periods_and_totals() -> None:
    assert export.unicode_font_files() is not None, (
        "no DejaVu Sans on this machine: install the Debian package fonts-dejavu-core"
    )
    text = pdf_text(owner_statement_pdf(owner_statement()))
    for expected in (
        "Account statement",
        "Иван Петров",
        "123456789",
        "СНТ «Сосновый бор»",
        "RUB",
        "2026-11-22 09:30 UTC",
        "Октябрь 2026",
        "November 2026",
        "2620.50",
        "4120.50",
        "3000.00",
        "1120.50",
        "-1120.50",
        "Partly paid",
        "Void",
        "Closing balance (debt)",
    ):
        assert expected in text, expected


def heading(p: StatementPeriodOut, status: str) -> str:
    return f"{p.period_name} · {p.start_date.isoformat()} – {p.end_date.isoformat()} · {status}"


def three_periods() -> OwnerStatementOut:
    s = owner_statement()
    s.invoices[1].voided_at = datetime(2026, 12, 2, 9, 0, tzinfo=UTC)
    december = (date(2026, 12, 1), date(2026, 12, 31), "OPEN", "-1120.50", "0.00", "0.00")
    s.periods.append(_period(3, "Декабрь 2026", *december, "-1120.50"))
    return s


def test_owner_pdf_has_a_table_per_period_with_its_own_figures() -> None:
    s = three_periods()
    lines = pdf_text(owner_statement_pdf(s)).splitlines()
    october, november, december = s.periods
    starts = [
        lines.index(heading(october, "Closed")),
        lines.index(heading(november, "Closed")),
        lines.index(heading(december, "Open")),
        lines.index("Totals (RUB)"),
    ]
    assert starts == sorted(starts)
    sections = [lines[a + 1 : b] for a, b in itertools.pairwise(starts)]
    assert sections[0] == [
        "Balance RUB",
        "Opening balance 0.00",
        "Charges 1500.00",
        "Payments 1500.00",
        "Closing balance 0.00",
        "Invoice Issued Status Amount Paid Pending",
        "#10 2026-11-01 Paid 1500.00 1500.00 0.00",
    ]
    assert sections[1] == [
        "Balance RUB",
        "Opening balance 0.00",
        "Charges 2620.50",
        "Payments 1500.00",
        "Closing balance (debt) -1120.50",
        "Invoice Issued Status Amount Paid Pending",
        "#11 2026-12-01 Void since 2026-12-02 2400.00 0.00 0.00",
        "#12 2026-12-02 Partly paid 2620.50 1500.00 1120.50",
        "Void invoices (grey) were replaced when the period was reopened.",
    ]
    assert sections[2] == [
        "Balance RUB",
        "Opening balance -1120.50",
        "Charges 0.00",
        "Payments 0.00",
        "Closing balance (debt) -1120.50",
        "No invoice for this period.",
    ]
    totals = lines[starts[3] + 1 :]
    assert totals[:6] == [
        "Charges 4120.50",
        "Payments 3000.00",
        "Invoiced 4120.50",
        "Paid 3000.00",
        "Pending 1120.50",
        "Closing balance (debt) -1120.50",
    ]
    # the header comes first
    assert lines.index("Owner Иван Петров (id 123456789)") < starts[0]
    assert lines.index("Currency RUB") < starts[0]


def test_owner_pdf_keeps_each_period_table_with_its_heading() -> None:
    s = owner_statement()
    s.periods, s.invoices = [], []
    for k in range(30):
        year, month = 2024 + k // 12, k % 12 + 1
        name = f"Период {month:02d}/{year}"
        if k == 11:  # a heading on two lines
            name = "Целевой взнос на ремонт дороги и освещение улицы Сосновой, вторая очередь"
        start, end = date(year, month, 1), date(year, month, 28)
        s.periods.append(
            _period(100 + k, name, start, end, "CLOSED", "0.00", "1500.00", "1500.00", "0.00")
        )
        for n in range(1 + (k % 5 == 3)):
            paid, status = ("0.00", "VOID") if n else ("1500.00", "PAID")
            issued = end.isoformat()
            s.invoices.append(
                _invoice(1000 + 100 * n + k, 100 + k, name, "1500.00", paid, "0.00", status, issued)
            )
    reader = PdfReader(io.BytesIO(owner_statement_pdf(s)))
    pages = [page.extract_text().splitlines() for page in reader.pages]
    assert len(pages) >= 4

    def page_of(prefix: str) -> int:
        found = [i for i, lines in enumerate(pages) if any(x.startswith(prefix) for x in lines)]
        assert len(found) == 1, (prefix, found)
        return found[0]

    for k, p in enumerate(s.periods):
        page = page_of(p.period_name[:30])
        lines = pages[page]
        first = next(i for i, x in enumerate(lines) if x.startswith(p.period_name[:30]))
        after = lines[first:]
        assert "Balance RUB" in after[:3], (p.period_name, after[:3])
        assert page_of(f"#{1000 + k} ") == page, p.period_name
        if k % 5 == 3:
            assert page_of(f"#{1100 + k} ") == page, p.period_name
    assert page_of("Totals (RUB)") == len(pages) - 1


def test_owner_pdf_lists_invoices_of_unlisted_periods() -> None:
    s = owner_statement()
    s.invoices[0] = s.invoices[0].model_copy(update={"period_id": 99, "period_name": "Old"})
    lines = pdf_text(owner_statement_pdf(s)).splitlines()
    others = lines.index("Other invoices")
    assert lines.index("Totals (RUB)") > others > lines.index(heading(s.periods[1], "Closed"))
    assert "#10 Old 2026-11-01 Paid 1500.00 1500.00 0.00" in lines[others:]
    october = lines[lines.index(heading(s.periods[0], "Closed")) : others]
    assert "No invoice for this period." in october


def test_owner_pdf_many_periods_spans_pages() -> None:
    s = owner_statement()
    s.periods = s.periods * 40
    data = owner_statement_pdf(s)
    reader = PdfReader(io.BytesIO(data))
    assert len(reader.pages) >= 2
    last = reader.pages[-1].extract_text()
    assert "-1120.50" in last
    assert f"Page {len(reader.pages)} of {len(reader.pages)}" in last


def test_owner_pdf_without_name_or_rows() -> None:
    s = owner_statement(owner_name=None)
    s.periods, s.invoices = [], []
    text = pdf_text(owner_statement_pdf(s))
    assert "Owner 123456789" in text
    assert "No periods yet." in text
    assert "No invoices yet." in text


def test_pdf_falls_back_to_transliteration_without_a_unicode_font(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(export.pdf, "unicode_font_files", lambda: None)
    text = pdf_text(owner_statement_pdf(owner_statement()))
    assert "Ivan Petrov" in text
    assert "Oktiabr 2026" in text
    assert "-1120.50" in text
    period_text = pdf_text(period_statement_pdf(period_statement()))
    assert "November 2026 (2026-11-01 - 2026-11-30)" in period_text
    assert "Ivan Petrov" in period_text


def test_period_pdf() -> None:
    text = pdf_text(period_statement_pdf(period_statement()))
    for expected in ("Period statement", "Иван Петров", "-870.50", "3620.50"):
        assert expected in text, expected


# --------------------------------------------------------------------------------------------
# names and dispatch


def test_export_filename() -> None:
    day = date(2026, 11, 22)
    assert (
        export_filename("owner", "", "123456789", "pdf", on=day)
        == "statement-owner-123456789-2026-11-22.pdf"
    )
    assert (
        export_filename("owner", "СНТ «Сосновый бор»", "123456789", "xlsx", on=day)
        == "statement-owner-123456789-snt-sosnovyi-bor-2026-11-22.xlsx"
    )
    name = export_filename("period", "Résidence Étoile", "Ноябрь 2026 / Q4", "csv", on=day)
    assert name == "statement-period-noiabr-2026-q4-residence-etoile-2026-11-22.csv"
    long = export_filename("period", "x" * 300, "y" * 300, "csv", on=day)
    assert len(long) < 120
    for n in (name, long):
        assert n.isascii()
        assert all(c.isalnum() or c in "-." for c in n)
    assert export_filename("owner", "A", "1", "pdf").endswith(".pdf")
    with pytest.raises(ValidationFailed):
        export_filename("owner", "A", "1", "docx", on=day)


def test_transliterate() -> None:
    assert transliterate("Щука Ёж") == "Shchuka Ezh"


def test_render_dispatch() -> None:
    s = owner_statement()
    assert render_owner_statement(s, "csv") == owner_statement_csv(s)
    assert render_owner_statement(s, "xlsx").startswith(b"PK")
    assert render_owner_statement(s, "pdf").startswith(b"%PDF-")
    assert render_period_statement(period_statement(), "csv").startswith(b"\xef\xbb\xbf")
    with pytest.raises(ValidationFailed):
        render_owner_statement(s, "html")
    assert export.MEDIA_TYPES["xlsx"].startswith("application/vnd.openxmlformats")


def test_pdf_is_deterministic() -> None:
    s = owner_statement()
    assert owner_statement_pdf(s) == owner_statement_pdf(s)
