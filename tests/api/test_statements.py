"""Account statements (SPEC §4a) through the API: the billing seed's statement cases in our model
(a partial payment, several payments, a voided invoice left out of the totals) across a chain of
three closed periods, the period's statement, and the CSV, XLSX and PDF downloads read back by
the libraries that read them."""

from __future__ import annotations

import csv
import io
import re
from datetime import date, datetime
from decimal import Decimal
from typing import Any

import pytest
from openpyxl import load_workbook
from pypdf import PdfReader

from tests.api._support import PAYMENTS, assert_problem, carry, charge, close, mkperiod, pay, post
from tests.conftest import new_community
from tests.support.xlsx import amounts, decimals, money, sheet_rows

pytestmark = pytest.mark.usefixtures("worker_stack")

P = f"{PAYMENTS}/periods"
XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


ANA, BORIS, VERA = 201, 202, 203
FEE = "Membership fee"


@pytest.fixture
def billing(client: Any) -> dict[str, Any]:
    """The seed's statement cases in our model, chained by carry-forward:

    September: Ana is invoiced 10 000.00 and pays 3 000.00 and 2 000.00 (several payments);
               Boris 1 000.00, paid in full; Vera 500.00, unpaid.
    October:   Ana is invoiced 5 000.00 and pays 3 000.00, which still goes to September's
               invoice first (oldest first): September PARTIAL 8 000.00 paid, October ISSUED.
    November:  Ana is charged 2 500.00 by mistake and invoiced; the period is reopened (the
               invoice is VOID), the charge deleted, the period closed again: no new invoice.

    Ana's totals are the seed's: invoiced 15 000.00, paid 8 000.00, pending 7 000.00, and her
    closing balance is -7 000.00."""
    c = new_community(client, name="СНТ «Сосновый бор»", language="en")
    admin = c["headers"]
    for owner, name in ((ANA, "Анна Смирнова"), (BORIS, "Boris Ivanov"), (VERA, "Vera Kim")):
        post(client, admin, "/owners", {"owner_id": owner, "name": name})
    sep = mkperiod(client, admin, "September 2025", "2025-09-01", "2025-09-30")
    oct_ = mkperiod(client, admin, "October 2025", "2025-10-01", "2025-10-31")
    nov = mkperiod(client, admin, "November 2025", "2025-11-01", "2025-11-30")

    charge(client, admin, sep, ANA, "10000.00", description=FEE)
    charge(client, admin, sep, BORIS, "1000.00", description=FEE)
    charge(client, admin, sep, VERA, "500.00", description=FEE)
    pay(client, admin, sep, ANA, "3000.00")
    pay(client, admin, sep, ANA, "2000.00")
    pay(client, admin, sep, BORIS, "1000.00")
    close(client, admin, sep)
    carry(client, admin, sep, oct_)

    charge(client, admin, oct_, ANA, "5000.00", description=FEE)
    pay(client, admin, oct_, ANA, "3000.00")
    close(client, admin, oct_)
    carry(client, admin, oct_, nov)

    mistake = charge(client, admin, nov, ANA, "2500.00", description=FEE)
    close(client, admin, nov)
    r = client.post(f"{P}/{nov}/reopen", headers=admin)
    assert r.status_code == 200, r.text
    assert client.delete(f"{PAYMENTS}/charges/{mistake}", headers=admin).status_code == 204
    close(client, admin, nov)
    return {"community": c, "admin": admin, "periods": (sep, oct_, nov)}


def owner_statement(client: Any, admin: dict[str, str], owner: int, **params: str) -> Any:
    return client.get(f"{PAYMENTS}/owners/{owner}/statement", params=params, headers=admin)


# ---------------------------------------------------------------- JSON


def test_owner_statement_partial_several_payments_and_a_void_invoice(client, billing):
    admin = billing["admin"]
    sep, oct_, nov = billing["periods"]
    r = owner_statement(client, admin, ANA)
    assert r.status_code == 200, r.text
    s = r.json()
    assert (s["owner_id"], s["owner_name"], s["currency"]) == (ANA, "Анна Смирнова", "RUB")
    assert s["community_name"] == "СНТ «Сосновый бор»"
    keys = ("period_id", "status", "opening_balance", "charges", "payments", "closing_balance")
    assert [tuple(p[k] for k in keys) for p in s["periods"]] == [
        (sep, "CLOSED", "0.00", "10000.00", "5000.00", "-5000.00"),
        (oct_, "CLOSED", "-5000.00", "5000.00", "3000.00", "-7000.00"),
        (nov, "CLOSED", "-7000.00", "0.00", "0.00", "-7000.00"),
    ]
    assert [
        (i["period_id"], i["amount"], i["paid"], i["pending"], i["status"]) for i in s["invoices"]
    ] == [
        (sep, "10000.00", "8000.00", "2000.00", "PARTIAL"),
        (oct_, "5000.00", "0.00", "5000.00", "ISSUED"),
        (nov, "2500.00", "0.00", "0.00", "VOID"),
    ]
    assert s["invoices"][2]["voided_at"] is not None
    assert s["totals"] == {
        "charges": "15000.00",
        "payments": "8000.00",
        "invoiced": "15000.00",  # the void invoice is left out
        "paid": "8000.00",
        "pending": "7000.00",
        "closing_balance": "-7000.00",
    }
    # SPEC §4a: total pending = minus the latest closing balance when that is a debt
    assert Decimal(s["totals"]["pending"]) == -Decimal(s["periods"][-1]["closing_balance"])


def test_owner_statement_of_a_paid_up_and_of_an_unpaid_owner(client, billing):
    admin = billing["admin"]
    sep = billing["periods"][0]
    boris = owner_statement(client, admin, BORIS).json()
    assert [(i["period_id"], i["status"], i["pending"]) for i in boris["invoices"]] == [
        (sep, "PAID", "0.00")
    ]
    assert boris["totals"]["pending"] == "0.00"
    assert boris["totals"]["closing_balance"] == "0.00"
    vera = owner_statement(client, admin, VERA).json()
    assert [(i["status"], i["paid"], i["pending"]) for i in vera["invoices"]] == [
        ("ISSUED", "0.00", "500.00")
    ]
    assert [p["closing_balance"] for p in vera["periods"]] == ["-500.00", "-500.00", "-500.00"]
    assert vera["totals"]["pending"] == "500.00"


def test_an_open_period_is_a_live_preview(client, billing):
    admin = billing["admin"]
    dec = mkperiod(client, admin, "December 2025", "2025-12-01", "2025-12-31")
    carry(client, admin, billing["periods"][2], dec)
    charge(client, admin, dec, ANA, "100.00", description=FEE)
    pay(client, admin, dec, ANA, "2500.00")
    s = owner_statement(client, admin, ANA).json()
    last = s["periods"][-1]
    assert (last["period_id"], last["status"]) == (dec, "OPEN")
    assert (last["opening_balance"], last["charges"], last["payments"]) == (
        "-7000.00",
        "100.00",
        "2500.00",
    )
    assert last["closing_balance"] == "-4600.00"
    # December's payment already pays September's invoice off, then October's in part
    assert [(i["status"], i["paid"]) for i in s["invoices"]] == [
        ("PAID", "10000.00"),
        ("PARTIAL", "500.00"),
        ("VOID", "0.00"),
    ]
    assert s["totals"]["pending"] == "4500.00"  # December's 100.00 is not invoiced yet


def test_period_statement_lines_totals_and_invoice_counts(client, billing):
    admin = billing["admin"]
    sep, _, nov = billing["periods"]
    r = client.get(f"{P}/{sep}/statement", headers=admin)
    assert r.status_code == 200, r.text
    s = r.json()
    assert (s["period_id"], s["period_name"], s["status"]) == (sep, "September 2025", "CLOSED")
    lines = {
        line["owner_id"]: (
            line["opening_balance"],
            line["charges"],
            line["payments"],
            line["closing_balance"],
            line["invoice_amount"],
            line["invoice_status"],
        )
        for line in s["lines"]
    }
    assert lines == {
        ANA: ("0.00", "10000.00", "5000.00", "-5000.00", "10000.00", "PARTIAL"),
        BORIS: ("0.00", "1000.00", "1000.00", "0.00", "1000.00", "PAID"),
        VERA: ("0.00", "500.00", "0.00", "-500.00", "500.00", "ISSUED"),
    }
    assert s["totals"] == {
        "opening_balance": "0.00",
        "charges": "11500.00",
        "payments": "6000.00",
        "closing_balance": "-5500.00",
        "invoiced": "11500.00",
        "paid": "9000.00",  # Ana's October payment pays September's invoice too
        "pending": "2500.00",
    }
    assert s["invoice_counts"] == {"ISSUED": 1, "PARTIAL": 1, "PAID": 1, "VOID": 0}

    n = client.get(f"{P}/{nov}/statement", headers=admin).json()
    assert n["invoice_counts"] == {"ISSUED": 0, "PARTIAL": 0, "PAID": 0, "VOID": 1}
    assert {line["owner_id"]: line["invoice_status"] for line in n["lines"]} == {
        ANA: None,
        BORIS: None,
        VERA: None,
    }
    assert n["totals"]["opening_balance"] == n["totals"]["closing_balance"] == "-7500.00"


def test_statements_are_scoped_to_the_community(client, billing):
    other = new_community(client)
    assert_problem(owner_statement(client, other["headers"], ANA), 404, str(ANA))
    sep = billing["periods"][0]
    assert_problem(client.get(f"{P}/{sep}/statement", headers=other["headers"]), 404)
    assert_problem(owner_statement(client, billing["admin"], ANA, format="docx"), 400, "format")


def test_an_owner_without_periods_has_an_empty_statement(client, community, admin):
    post(client, admin, "/owners", {"owner_id": 7, "name": "New"})
    s = owner_statement(client, admin, 7).json()
    assert s["periods"] == [] and s["invoices"] == []
    assert s["totals"]["pending"] == s["totals"]["closing_balance"] == "0.00"


# ---------------------------------------------------------------- files


def attachment_name(r: Any) -> str:
    disposition = r.headers["content-disposition"]
    m = re.fullmatch(r'attachment; filename="([A-Za-z0-9.\-]+)"', disposition)
    assert m, disposition
    return m.group(1)


def test_owner_statement_csv(client, billing):
    r = owner_statement(client, billing["admin"], ANA, format="csv")
    assert r.status_code == 200, r.text
    assert r.headers["content-type"] == "text/csv; charset=utf-8"
    name = attachment_name(r)
    assert re.fullmatch(r"statement-owner-201-snt-sosnovyi-bor-\d{4}-\d{2}-\d{2}\.csv", name)
    rows = list(csv.reader(io.StringIO(r.content.decode("utf-8-sig"))))
    fields = {row[0]: row[1:] for row in rows if row}
    assert fields["Owner"] == ["Анна Смирнова"]
    assert fields["Invoiced"] == ["15000.00"]
    assert fields["Paid"] == ["8000.00"]
    assert fields["Pending"] == ["7000.00"]
    assert fields["Closing balance"] == ["-7000.00"]
    statuses = [row[-1] for row in rows if len(row) == 8 and row[-1] in ("PARTIAL", "ISSUED")]
    assert statuses == ["PARTIAL", "ISSUED"]
    assert any(row[-1] == "VOID" for row in rows if row)


def test_owner_statement_xlsx_reads_back(client, billing):
    sep, oct_, nov = billing["periods"]
    r = owner_statement(client, billing["admin"], ANA, format="xlsx")
    assert r.status_code == 200, r.text
    assert r.headers["content-type"] == XLSX
    assert attachment_name(r).endswith(".xlsx")
    rows = sheet_rows(r.content, "Statement")
    by_period = {row[0]: row for row in rows if row[0] in (sep, oct_, nov)}
    assert amounts(by_period[oct_][5:9]) == decimals("-5000.00", "5000.00", "3000.00", "-7000.00")
    assert by_period[oct_][2] == datetime(2025, 10, 1)  # a real date cell
    total = next(row for row in rows if row[1] == "Total")
    assert amounts(total[6:9]) == decimals("15000.00", "8000.00", "-7000.00")
    invoices = sheet_rows(r.content, "Invoices")
    by_status = {row[7]: row for row in invoices[1:] if row[7]}
    assert money(by_status["PARTIAL"][5]) == Decimal("8000.00")
    assert money(by_status["PARTIAL"][6]) == Decimal("2000.00")
    assert money(by_status["VOID"][4]) == Decimal("2500.00")
    inv_total = next(row for row in invoices if row[2] == "Total")
    assert amounts(inv_total[4:7]) == decimals("15000.00", "8000.00", "7000.00")


def test_owner_statement_pdf_has_the_totals(client, billing, tmp_path):
    r = owner_statement(client, billing["admin"], ANA, format="pdf")
    assert r.status_code == 200, r.text
    assert r.headers["content-type"] == "application/pdf"
    assert r.content.startswith(b"%PDF")
    name = attachment_name(r)
    assert name.startswith("statement-owner-201-") and name.endswith(".pdf")
    reader = PdfReader(io.BytesIO(r.content))
    text = "\n".join(page.extract_text() for page in reader.pages)
    compact = text.replace("\u00a0", " ")
    for needle in (
        "Account statement",
        "Анна Смирнова",
        "Сосновый бор",
        "September 2025",
        "October 2025",
        "November 2025",
        "15000.00",
        "8000.00",
        "7000.00",
        "-7000.00",
        "2500.00",
    ):
        assert needle in compact, (needle, compact)
    totals = compact[compact.index("Totals") :]
    for label, value in (("Invoiced", "15000.00"), ("Paid", "8000.00"), ("Pending", "7000.00")):
        assert re.search(rf"{label}\s+{re.escape(value)}", totals), (label, totals)
    (tmp_path / name).write_bytes(r.content)


def test_period_statement_csv_and_xlsx(client, billing):
    admin = billing["admin"]
    sep = billing["periods"][0]
    r = client.get(f"{P}/{sep}/statement", params={"format": "csv"}, headers=admin)
    assert r.status_code == 200, r.text
    assert r.headers["content-type"] == "text/csv; charset=utf-8"
    assert re.fullmatch(
        r"statement-period-september-2025-snt-sosnovyi-bor-\d{4}-\d{2}-\d{2}\.csv",
        attachment_name(r),
    )
    rows = list(csv.reader(io.StringIO(r.content.decode("utf-8-sig"))))
    total = next(row for row in rows if row and row[0] == "Total")
    assert total[2:7] == ["0.00", "11500.00", "6000.00", "-5500.00", "11500.00"]
    counts = {row[0]: row[1] for row in rows if row and row[0] in ("ISSUED", "PARTIAL", "PAID")}
    assert counts == {"ISSUED": "1", "PARTIAL": "1", "PAID": "1"}

    r = client.get(f"{P}/{sep}/statement", params={"format": "xlsx"}, headers=admin)
    assert r.status_code == 200, r.text
    assert r.headers["content-type"] == XLSX
    assert attachment_name(r).endswith(".xlsx")
    rows = sheet_rows(r.content, "Statement")
    owners = {row[0]: row for row in rows if row[0] in (ANA, BORIS, VERA)}
    assert owners[ANA][1] == "Анна Смирнова"
    assert money(owners[ANA][5]) == Decimal("-5000.00")
    assert owners[ANA][7] == "PARTIAL"
    total = next(row for row in rows if row[1] == "Total")
    assert amounts(total[2:7]) == decimals("0.00", "11500.00", "6000.00", "-5500.00", "11500.00")
    counts = {row[0]: row[1] for row in rows if row[0] in ("ISSUED", "PARTIAL", "PAID", "VOID")}
    assert counts == {"ISSUED": 1, "PARTIAL": 1, "PAID": 1, "VOID": 0}


def test_period_statement_pdf_is_a_pdf(client, billing):
    sep = billing["periods"][0]
    r = client.get(f"{P}/{sep}/statement", params={"format": "pdf"}, headers=billing["admin"])
    assert r.status_code == 200, r.text
    assert r.headers["content-type"] == "application/pdf"
    text = "\n".join(p.extract_text() for p in PdfReader(io.BytesIO(r.content)).pages)
    assert "11500.00" in text and "-5500.00" in text


def test_today_is_the_communitys_in_the_file_name(client, billing):
    r = owner_statement(client, billing["admin"], BORIS, format="csv")
    day = date.fromisoformat(attachment_name(r).removesuffix(".csv")[-10:])
    assert abs((day - date.today()).days) <= 1


def test_statements_speak_the_owners_language_else_the_communitys(client, billing, tmp_path):
    """A Russian village's PDF, XLSX and CSV read in Russian (the community's language); an owner
    who chose English gets theirs in English; a period statement follows the community."""
    cid, admin = billing["community"]["id"], billing["admin"]
    r = client.patch(f"/api/communities/{cid}", json={"language": "ru"}, headers=admin)
    assert r.status_code == 200, r.text
    r = owner_statement(client, admin, ANA, format="pdf")
    assert r.status_code == 200, r.text
    text = "\n".join(p.extract_text() for p in PdfReader(io.BytesIO(r.content)).pages)
    compact = text.replace("\u00a0", " ")
    for needle in (
        "Выписка по лицевому счёту",
        "Исходящий остаток (долг)",
        "Итоги (RUB)",
        "К оплате",
    ):
        assert needle in compact, (needle, compact)
    assert "Account statement" not in compact
    (tmp_path / "ru.pdf").write_bytes(r.content)
    csv_text = owner_statement(client, admin, ANA, format="csv").content.decode("utf-8-sig")
    assert "Выписка по лицевому счёту" in csv_text and "Входящий остаток" in csv_text
    sep = billing["periods"][0]
    r = client.get(f"{PAYMENTS}/periods/{sep}/statement", params={"format": "xlsx"}, headers=admin)
    ws = load_workbook(io.BytesIO(r.content)).active
    assert ws.cell(1, 1).value == "Ведомость периода"
    # the owner's own language wins over the community's
    r = client.patch(f"{PAYMENTS}/owners/{ANA}", json={"language": "en"}, headers=admin)
    assert r.status_code == 200, r.text
    csv_text = owner_statement(client, admin, ANA, format="csv").content.decode("utf-8-sig")
    assert "Account statement" in csv_text and "Выписка" not in csv_text
