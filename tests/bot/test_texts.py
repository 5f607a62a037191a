"""Messages are real sentences in English and Russian, with amounts in the community's currency,
and always valid Telegram HTML."""

from __future__ import annotations

from typing import Any

import pytest

from kopilka_bot import texts
from tests.bot.conftest import plain
from tests.fakes.fake_telegram import _html_error

CLOSED_DEBT = {
    "period_id": 1,
    "period_name": "Ноябрь 2025",
    "balance_minor": -123450,
    "currency": "RUB",
    "invoice_amount_minor": 300000,
}


def render(
    kind: str, payload: dict[str, Any], lang: str, community: str | None = "Сосновка"
) -> str:
    out = texts.render(kind, payload, lang, community)
    assert _html_error(out) is None, out
    return plain(out)


def test_receipt_in_both_languages() -> None:
    payload = {
        "contribution_id": 1,
        "amount_minor": 100000,
        "currency": "RUB",
        "period_name": "November 2025",
        "date": "2025-11-12",
        "comment": "за свет",
    }
    ru = render("contribution_receipt", payload, "ru")
    assert ru.startswith("<b>Сосновка</b>\n")
    assert "Ваш взнос <b>1 000,00 ₽</b> записан в период «November 2025» (12 ноября 2025)." in ru
    assert "Комментарий: за свет" in ru
    en = render("contribution_receipt", payload, "en")
    assert "Your contribution of <b>1,000.00 RUB</b> has been recorded" in en
    assert "(12 November 2025)" in en
    assert "Thank you!" in en


def test_currency_decides_the_format() -> None:
    eur = render("contribution_receipt", {"amount_minor": 5050, "currency": "EUR"}, "en")
    assert "€50.50" in eur
    jpy = render("contribution_receipt", {"amount_minor": 1500, "currency": "JPY"}, "ru")
    assert "1 500 ¥" in jpy  # no decimals in yen
    rub_ru = render("contribution_receipt", {"amount_minor": 100000, "currency": "RUB"}, "ru")
    assert "1 000,00 ₽" in rub_ru


def test_period_closed_says_debt_credit_or_settled() -> None:
    ru = render("period_closed", CLOSED_DEBT, "ru")
    assert "Период «Ноябрь 2025» закрыт. Ваш итог за период: долг <b>1 234,50 ₽</b>." in ru
    assert "Начислено за период: 3 000,00 ₽." in ru
    assert "-" not in ru.split("\n", 1)[1]  # the sign is said in words
    en = render("period_closed", CLOSED_DEBT, "en")
    assert "The period “Ноябрь 2025” is closed. Your balance for it: a debt of" in en
    assert "1,234.50 RUB" in en
    credit = {**CLOSED_DEBT, "balance_minor": 5000, "invoice_amount_minor": None}
    assert "переплата <b>50,00 ₽</b>" in render("period_closed", credit, "ru")
    assert "a credit of <b>50.00 RUB</b>" in render("period_closed", credit, "en")
    settled = {**CLOSED_DEBT, "balance_minor": 0}
    assert "долга нет" in render("period_closed", settled, "ru")
    assert "you owe nothing" in render("period_closed", settled, "en")


def test_opening_balance_and_reminder() -> None:
    opening = {
        "period_id": 2,
        "period_name": "Декабрь 2025",
        "from_period_name": "Ноябрь 2025",
        "opening_minor": -50000,
        "currency": "RUB",
    }
    ru = render("opening_balance", opening, "ru")
    assert "Долг <b>500,00 ₽</b> из периода «Ноябрь 2025» перенесён" in ru
    en = render("opening_balance", {**opening, "opening_minor": 50000}, "en")
    assert "Your credit of <b>500.00 RUB</b> from “Ноябрь 2025” has been carried" in en
    reminder = {
        "period_id": 2,
        "period_name": "Декабрь",
        "balance_minor": -700000,
        "currency": "RUB",
    }
    assert "ваш долг в периоде «Декабрь» составляет <b>7 000,00 ₽</b>" in render(
        "debt_reminder", reminder, "ru"
    )
    assert "your debt in the period “Декабрь” is <b>7,000.00 RUB</b>" in render(
        "debt_reminder", reminder, "en"
    )
    assert "Telegram подключён" in render("linked", {}, "ru")


def test_user_text_is_escaped() -> None:
    payload = {
        "amount_minor": 100,
        "currency": "RUB",
        "period_name": "<b>Q1</b> & co",
        "comment": "<script>x</script>",
    }
    out = render("contribution_receipt", payload, "en", community="A&B <Village>")
    assert "&lt;b&gt;Q1&lt;/b&gt; &amp; co" in out
    assert "&lt;script&gt;" in out
    assert out.startswith("<b>A&amp;B &lt;Village&gt;</b>")


@pytest.mark.parametrize(
    ("code", "lang"), [("ru", "ru"), ("ru-RU", "ru"), ("en-GB", "en"), ("de", "en"), (None, "en")]
)
def test_language_fallback(code: str | None, lang: str) -> None:
    assert texts.lang_of(code) == lang


def test_unknown_language_renders_english() -> None:
    assert "The period" in render("period_closed", CLOSED_DEBT, "de")


def test_unknown_kind_is_an_error() -> None:
    with pytest.raises(texts.UnknownKind):
        texts.render("nope", {}, "en")


def test_command_replies_are_valid_html() -> None:
    lines = [
        texts.BalanceLine("Сосновка", "Ноябрь", -100000, "RUB"),
        texts.BalanceLine("Empty & Co", None, 0, "EUR"),
    ]
    for lang in ("en", "ru"):
        for out in (
            texts.help_text(lang),
            texts.balance_text(lang, lines),
            texts.not_linked_text(lang),
            texts.link_failed_text(lang),
            texts.linked_text(lang, "A&B", "Анна <3"),
            texts.welcome_back_text(lang, ["A", "B"]),
            texts.statement_text(
                lang,
                [
                    texts.StatementBlock(
                        "Сосновка",
                        "RUB",
                        [texts.StatementLine("Октябрь", 5000)],
                        texts.BalanceLine("Сосновка", "Ноябрь", -100, "RUB"),
                    )
                ],
                "http://127.0.0.1:8000/app?x=1&y=2",
            ),
        ):
            assert _html_error(out) is None, out
    assert "долг <b>1 000,00 ₽</b>" in plain(texts.balance_text("ru", lines))
    assert "There is no open period" in texts.balance_text("en", lines)


def test_app_keyboard_only_for_https() -> None:
    assert texts.app_keyboard("http://127.0.0.1/app", "en") is None
    keyboard = texts.app_keyboard("https://k.example/app", "ru")
    assert keyboard is not None
    button = keyboard.inline_keyboard[0][0]
    assert button.web_app is not None and button.web_app.url == "https://k.example/app"
    assert button.text == "Открыть Копилку"


def test_purchase_messages_in_both_languages() -> None:
    announced = {"purchase_id": 1, "title": "Дрова", "deadline": "2025-11-20T23:59:59+03:00"}
    ru = render("purchase_announced", announced, "ru")
    assert "Открыта совместная закупка «Дрова». Заказы принимаются до 20 ноября 2025" in ru
    en = render("purchase_announced", announced, "en")
    assert "A group purchase “Дрова” is open. Orders are taken until 20 November 2025" in en
    share = {
        "purchase_id": 1,
        "title": "Firewood <oak>",
        "items_minor": 900000,
        "share_minor": 950000,
        "total_minor": 4800000,
        "currency": "RUB",
    }
    ru = render("purchase_share", share, "ru")
    assert "Ваша доля: <b>9 500,00 ₽</b> (ваши позиции 9 000,00 ₽" in ru
    assert "всего 48 000,00 ₽" in ru
    en = render("purchase_share", share, "en")
    assert "Your share: <b>9,500.00 RUB</b> (your items 9,000.00 RUB;" in en
    assert "“Firewood &lt;oak&gt;”" in en
