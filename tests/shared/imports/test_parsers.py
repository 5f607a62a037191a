"""The statement parsers, pure: realistic files written for these tests (a Windows-1251 1C
statement with Cyrillic names, a camt.053 with several entries and a batch, a bank CSV with ``;``
and decimal commas)."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import pytest

from kopilka.imports.parsers import CREDIT, DEBIT, StatementError, detect, identities, parse
from kopilka.imports.parsers.common import parse_amount

DATA = Path(__file__).parent / "data"
OURS = "40703810938000012345"
CSV_MAPPING = {
    "date": "Дата операции",
    "doc_number": "Номер документа",
    "payer": "Контрагент",
    "account": "Счёт контрагента",
    "inn": "ИНН контрагента",
    "credit": "Приход",
    "debit": "Расход",
    "purpose": "Назначение платежа",
}


def read(name: str) -> bytes:
    return (DATA / name).read_bytes()


def test_1c_windows_1251_statement() -> None:
    st = parse(read("statement_2026-10.1c.txt"), fmt=None, exponent=2)
    assert st.format == "1c" and st.encoding == "windows-1251" and st.account == OURS
    assert len(st.lines) == 9
    first = st.lines[0]
    assert first.direction == CREDIT and first.amount_minor == 180000
    assert first.date == date(2026, 9, 29) and first.doc_number == "605"
    assert first.payer_name == "ИВАНОВ ИВАН ИВАНОВИЧ" and first.payer_inn == "772345678901"
    assert first.payer_account == "40817810099910004312"
    assert first.purpose == "Долг за август, №17. НДС не облагается"
    petrov = st.lines[2]
    assert petrov.date == date(2026, 10, 6) and petrov.doc_date == date(2026, 10, 5)
    assert petrov.payer_inn is None
    sidorov = st.lines[3]
    assert sidorov.amount_minor == 300050
    energy = st.lines[5]
    assert energy.direction == DEBIT and energy.amount_minor == 873420
    assert energy.counterparty_name == 'ПАО "МОСЭНЕРГОСБЫТ"'
    assert energy.counterparty_inn == "7736520080"
    fee = st.lines[7]
    assert fee.direction == DEBIT and fee.extra["kind"] == "Банковский ордер"
    assert [ln.line_no for ln in st.lines][:2] == [21, 44]


def test_1c_utf8_reads_the_same_as_windows_1251() -> None:
    a = parse(read("statement_2026-11_overlap.1c.txt"), fmt="1c", exponent=2)
    b = parse(read("statement_2026-11_overlap.utf8.1c.txt"), fmt="1c", exponent=2)
    assert a.encoding == "windows-1251" and b.encoding == "utf-8"
    assert [(x.payer_name, x.purpose, x.amount_minor) for x in a.lines] == [
        (x.payer_name, x.purpose, x.amount_minor) for x in b.lines
    ]
    assert a.lines[2].payer_name == "СИДОРОВ ПЁТР АЛЕКСЕЕВИЧ"


def test_overlapping_statements_share_identities() -> None:
    october = parse(read("statement_2026-10.1c.txt"), fmt=None, exponent=2).lines
    november = parse(read("statement_2026-11_overlap.1c.txt"), fmt=None, exponent=2).lines
    oct_ids, nov_ids = set(identities(october)), identities(november)
    assert [i in oct_ids for i in nov_ids] == [True, True, False]
    assert len(oct_ids) == len(october)


def test_identity_falls_back_to_the_whole_line_and_keeps_true_twins() -> None:
    text = (
        "Дата;Сумма;Плательщик;Назначение\n"
        "01.10.2026;100,00;Иванов;взнос\n"
        "01.10.2026;100,00;Иванов;взнос\n"
        "01.10.2026;100,00;Иванов;взнос уч. 3\n"
    ).encode()
    m = {"date": "Дата", "amount": "Сумма", "payer": "Плательщик", "purpose": "Назначение"}
    lines = parse(text, fmt="csv", exponent=2, mapping=m).lines
    ids = identities(lines)
    assert len(set(ids)) == 3
    assert identities(lines) == ids  # stable


def test_camt053_entries_batch_and_pending() -> None:
    st = parse(read("camt053_2026-10.xml"), fmt=None, exponent=2, currency="RUB")
    assert st.format == "camt053" and st.account == "RU0240703810938000012345"
    # 5 booked entries, one of them a batch of two; the pending entry is not money yet
    assert len(st.lines) == 6
    ivanov = st.lines[0]
    assert ivanov.direction == CREDIT and ivanov.amount_minor == 500000
    assert ivanov.doc_number == "SB-20261003-512" and ivanov.date == date(2026, 10, 3)
    assert ivanov.payer_account == "40817810099910004312"
    assert ivanov.purpose == "Membership fee October 2026, plot 17"
    assert st.lines[1].payer_account == "RU1140817810500001234567"
    assert st.lines[2].doc_number is None and st.lines[2].payer_name == "Смирнов Алексей"
    energy = st.lines[3]
    assert energy.direction == DEBIT and energy.payee_name == 'ПАО "Мосэнергосбыт"'
    assert energy.payee_inn == "7736520080"
    assert [ln.amount_minor for ln in st.lines[4:]] == [300000, 400000]
    assert [ln.doc_number for ln in st.lines[4:]] == ["SB-20261030-B1", "SB-20261030-B2"]
    assert st.lines[0].line_no == 17


@pytest.mark.parametrize(
    "version", ["camt.053.001.02", "camt.053.001.04", "camt.053.001.08", "camt.053.001.10"]
)
def test_camt053_versions(version: str) -> None:
    data = read("camt053_2026-10.xml").replace(b"camt.053.001.02", version.encode())
    assert len(parse(data, fmt="camt053", exponent=2, currency="RUB").lines) == 6


def test_camt053_refuses_entities_and_other_currencies() -> None:
    bomb = (
        b'<?xml version="1.0"?><!DOCTYPE d [<!ENTITY a "aaaa">]>'
        b"<Document><BkToCstmrStmt>&a;</BkToCstmrStmt></Document>"
    )
    with pytest.raises(StatementError, match="DTD"):
        parse(bomb, fmt="camt053", exponent=2)
    with pytest.raises(
        StatementError, match=r"line 17: the entry is in RUB; the community keeps EUR"
    ):
        parse(read("camt053_2026-10.xml"), fmt="camt053", exponent=2, currency="EUR")
    broken = read("camt053_2026-10.xml").replace(b"</Ntry>", b"</Nt>", 1)
    with pytest.raises(StatementError, match=r"^line \d+: not well-formed XML"):
        parse(broken, fmt="camt053", exponent=2)


def test_csv_semicolons_decimal_commas_windows_1251() -> None:
    st = parse(read("bank_2026-10.csv"), fmt=None, exponent=2, mapping=CSV_MAPPING)
    assert st.format == "csv" and st.encoding == "windows-1251"
    amounts = [(ln.direction, ln.amount_minor) for ln in st.lines]
    assert amounts == [
        (CREDIT, 500000), (CREDIT, 450000), (CREDIT, 300050), (DEBIT, 873420),
        (CREDIT, 250000), (CREDIT, 1234567),
    ]  # fmt: skip
    assert st.lines[0].purpose == "Членский взнос за октябрь 2026; уч. 17"
    assert st.lines[0].payer_inn == "772345678901"
    assert st.lines[3].payee_name == 'ПАО "МОСЭНЕРГОСБЫТ"' and st.lines[3].payer_name is None
    assert st.lines[5].doc_number is None and st.lines[5].line_no == 7


def test_csv_signed_amount_with_commas_and_points() -> None:
    text = b'date,amount,payer,purpose\n2026-10-01,"1,234.50",A,x\n2026-10-02,-20.00,B,y\n'
    m = {"date": "date", "amount": "amount", "payer": "payer", "purpose": "purpose"}
    lines = parse(text, fmt="csv", exponent=2, mapping=m).lines
    assert [(ln.direction, ln.amount_minor) for ln in lines] == [(CREDIT, 123450), (DEBIT, 2000)]


@pytest.mark.parametrize(
    ("text", "sep", "minor"),
    [
        ("1 234,56", ",", 123456),
        ("1\u00a0234,56", ",", 123456),
        ("1.234.567,8", ",", 123456780),
        ("1,234,567.89", ".", 123456789),
        ("-500", ",", -50000),
        ("\u2212500,10", ",", -50010),
        ("0,01", ",", 1),
    ],
)
def test_amounts_are_exact(text: str, sep: str, minor: int) -> None:
    assert parse_amount(text, 2, decimal_sep=sep, line=1) == minor


@pytest.mark.parametrize("text", ["1.2.3", "12.345.6", "abc", "1e5", "", "1,2,3.4.5,6"])
def test_bad_amounts_name_the_line(text: str) -> None:
    with pytest.raises(StatementError, match=r"^line 9: "):
        parse_amount(text, 2, decimal_sep=".", line=9)


def test_more_decimals_than_the_currency() -> None:
    with pytest.raises(StatementError, match="more than 2 decimals"):
        parse_amount("1,005", 2, decimal_sep=",", line=3)
    assert parse_amount("1000", 0, line=1) == 1000


def test_malformed_1c_names_the_line() -> None:
    good = (DATA / "statement_2026-10.1c.txt").read_bytes().decode("cp1251")
    broken = good.replace("Сумма=3000.50", "Сумма=3 000.5O")
    with pytest.raises(StatementError) as exc:
        parse(broken.encode("cp1251"), fmt=None, exponent=2)
    no = next(i for i, ln in enumerate(broken.splitlines(), 1) if ln.startswith("Сумма=3 000.5O"))
    assert exc.value.detail.startswith(f"line {no}: Сумма")
    unclosed = good.replace("КонецДокумента\r\nКонецФайла", "КонецФайла")
    with pytest.raises(StatementError, match="not closed by КонецДокумента"):
        parse(unclosed.encode("cp1251"), fmt=None, exponent=2)
    bad_date = good.replace("Дата=10.10.2026", "Дата=10/13/2026")
    with pytest.raises(StatementError, match=r"^line \d+: Дата '10/13/2026' is not a date"):
        parse(bad_date.encode("cp1251"), fmt=None, exponent=2)
    with pytest.raises(StatementError, match=r"^line 1: a 1C statement starts with"):
        parse(b"1CClientBank\nx=y\n", fmt="1c", exponent=2)


def test_malformed_csv_names_the_line() -> None:
    text = "Дата;Сумма;Кто\n01.10.2026;100,00;А\n32.10.2026;5,00;Б\n".encode()
    m = {"date": "Дата", "amount": "Сумма", "payer": "Кто"}
    with pytest.raises(StatementError, match=r"^line 3: date '32.10.2026'"):
        parse(text, fmt="csv", exponent=2, mapping=m)
    with pytest.raises(StatementError, match=r"column 'Назначение' \(mapping.purpose\)"):
        parse(text, fmt="csv", exponent=2, mapping={**m, "purpose": "Назначение"})
    with pytest.raises(StatementError, match="needs its column mapping"):
        parse(text, fmt=None, exponent=2)
    with pytest.raises(StatementError, match="unknown keys"):
        parse(text, fmt="csv", exponent=2, mapping={**m, "sum": "x"})


def test_detect() -> None:
    assert detect(read("statement_2026-10.1c.txt")) == "1c"
    assert detect(b"\xef\xbb\xbf" + read("statement_2026-11_overlap.utf8.1c.txt")) == "1c"
    assert detect(read("camt053_2026-10.xml")) == "camt053"
    assert detect(read("bank_2026-10.csv")) == "csv"
    with pytest.raises(StatementError):
        detect(b"<html><body>hi</body></html>")
