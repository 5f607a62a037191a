"""Matching a statement line to an owner, pure (SPEC §4b order: rule, plot, name)."""

from __future__ import annotations

from datetime import date

import pytest

from kopilka.imports.matching import (
    INVOICE,
    NAME,
    PLOT,
    RULE,
    Directory,
    match,
    name_key,
    plot_numbers,
)
from kopilka.imports.parsers import CREDIT, DEBIT, StatementLine


def credit(
    purpose: str = "", name: str | None = None, account: str | None = None, inn: str | None = None
) -> StatementLine:
    return StatementLine(
        line_no=1, direction=CREDIT, amount_minor=100, date=date(2026, 10, 1),
        payer_name=name, payer_account=account, payer_inn=inn, purpose=purpose,
    )  # fmt: skip


@pytest.mark.parametrize(
    ("purpose", "plots"),
    [
        ("Членский взнос за октябрь 2026, уч. 17. НДС не облагается", ["17"]),
        ("Оплата за участок № 42, целевой взнос", ["42"]),
        ("Membership fee, plot 17", ["17"]),
        ("Долг за август, №17", ["17"]),
        ("целевой взнос, уч.5", ["5"]),
        ("взнос уч. 17, 18 и 20а", ["17", "18", "20а"]),
        ("Участок 17А", ["17а"]),
        ("Взносы по счёту № 58, уч. 3", ["3"]),
        ("Оплата по договору 90010001 от 01.10.2026", []),
        ("Взнос", []),
    ],
)
def test_plot_numbers(purpose: str, plots: list[str]) -> None:
    assert plot_numbers(purpose) == plots


def test_name_key() -> None:
    assert name_key("СИДОРОВ ПЁТР  Алексеевич") == name_key("Сидоров Петр Алексеевич")
    assert name_key('ПАО "Мосэнергосбыт"') == "пао мосэнергосбыт"


def directory() -> Directory:
    d = Directory(
        owner_by_account={"40817810500001234567": 2},
        owner_by_inn={"772345678901": 1},
        type_by_inn={"7736520080": "ELECTRICITY"},
        plot_owners={"17": frozenset({1}), "23": frozenset({2}), "42": frozenset({6, 7})},
        invoice_owner={58: 7},
    )
    for pk, name in [(1, "Иванов Иван Иванович"), (2, "Петрова Мария Сергеевна"),
                     (3, "Сидоров Пётр Алексеевич"), (4, "Смирнов Алексей Игоревич"),
                     (5, "Смирнов Алексей Игоревич"), (6, "Волков Павел"), (7, "Волкова Елена Павловна")]:  # fmt: skip
        d.add_owner_name(pk, name)
    return d


def test_order_rule_invoice_plot_name() -> None:
    d = directory()
    # the rule wins over the plot number of someone else
    m = match(credit("уч. 17", "ПЕТРОВ С.Н.", account="40817810500001234567"), d)
    assert (m.owner_pk, m.by) == (2, RULE)
    assert match(credit("взнос", inn="772345678901"), d).by == RULE
    m = match(credit("Взносы по счёту 58, уч. 42", "Волков Павел"), d)
    assert (m.owner_pk, m.by) == (7, INVOICE)
    m = match(credit("уч. 17", "Кто-то Другой"), d)
    assert (m.owner_pk, m.by) == (1, PLOT)
    m = match(credit("Членские взносы", "СИДОРОВ ПЕТР АЛЕКСЕЕВИЧ"), d)
    assert (m.owner_pk, m.by) == (3, NAME)


def test_ambiguous_and_unknown_are_unmatched() -> None:
    d = directory()
    m = match(credit("Взнос", "СМИРНОВ АЛЕКСЕЙ ИГОРЕВИЧ"), d)
    assert m.owner_pk is None and "2 owners are named" in (m.note or "")
    m = match(credit("Оплата за участок № 42", "НЕИЗВЕСТНЫЙ"), d)
    assert m.owner_pk is None and "plot 42 has 2 owners" in (m.note or "")
    # a shared plot falls through to the payer's name, which is one owner
    m = match(credit("Оплата за участок № 42", "ВОЛКОВА ЕЛЕНА ПАВЛОВНА"), d)
    assert (m.owner_pk, m.by) == (7, NAME)
    # two plots of two different owners
    assert match(credit("уч. 17 и 23"), d).owner_pk is None
    assert match(credit("взнос"), d).owner_pk is None


def test_debit_rules_name_the_payment_type() -> None:
    d = directory()
    line = StatementLine(
        line_no=1, direction=DEBIT, amount_minor=100, date=date(2026, 10, 1),
        payee_name="ПАО МОСЭНЕРГОСБЫТ", payee_inn="7736520080", payer_account="407",
    )  # fmt: skip
    m = match(line, d)
    assert m.by == RULE and m.note == "ELECTRICITY"
    line.payee_inn = "7707083893"
    assert match(line, d).by is None
