"""What the bot says, in English and Russian: notifications and command replies.

Every message is HTML (``parse_mode=HTML``): names, comments and period names come from users, so
they are escaped; amounts are formatted by :func:`kopilka.money.human` in the owner's locale and
the community's currency ("1,000.00 RUB" / "1 000,00 ₽"). A language we do not speak falls back to
English. The sign of a balance is said in words (credit, debt, settled), never as a bare minus.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import date
from html import escape
from typing import TYPE_CHECKING, Any

from babel.dates import format_date

from kopilka.config import Settings
from kopilka.money import human

if TYPE_CHECKING:  # aiogram is imported only when a keyboard is built (the dry run needs none)
    from aiogram.types import InlineKeyboardMarkup

LANGUAGES = ("en", "ru")
DEFAULT_LANGUAGE = "en"


def lang_of(code: str | None) -> str:
    """Our language for a Telegram ``language_code`` or an owner's language ("ru-RU" -> "ru")."""
    if not code:
        return DEFAULT_LANGUAGE
    base = code.strip().lower().replace("_", "-").split("-", 1)[0]
    return base if base in LANGUAGES else DEFAULT_LANGUAGE


def supported(code: str | None) -> str | None:
    """The language if we speak it, else None (so a caller can keep what it had)."""
    if not code:
        return None
    base = code.strip().lower().replace("_", "-").split("-", 1)[0]
    return base if base in LANGUAGES else None


def money(minor: int, currency: str, lang: str) -> str:
    """An amount for a person, escaped for HTML: "1,000.00 RUB" (en) / "1 000,00 ₽" (ru)."""
    return escape(human(minor, currency, lang_of(lang)))


def day(value: date | str | None, lang: str) -> str:
    """A calendar date in words: "12 November 2025" / "12 ноября 2025"."""
    if value is None:
        return ""
    if isinstance(value, str):
        try:
            value = date.fromisoformat(value[:10])
        except ValueError:
            return escape(str(value))
    return escape(format_date(value, "d MMMM y", locale=lang_of(lang)))


def q(text: object, lang: str) -> str:
    """A quoted user-supplied name, escaped: “November” / «Ноябрь»."""
    inner = escape(str(text))
    return f"«{inner}»" if lang_of(lang) == "ru" else f"“{inner}”"


def _header(community: str | None) -> str:
    return f"<b>{escape(community)}</b>\n" if community else ""


# ---------------------------------------------------------------- balances in words


def balance_phrase(minor: int, currency: str, lang: str) -> str:
    """A balance as a phrase: "a credit of X" / "a debt of X" / "settled: nothing owed"."""
    lang = lang_of(lang)
    amount = money(abs(minor), currency, lang)
    if lang == "ru":
        if minor > 0:
            return f"переплата <b>{amount}</b>"
        if minor < 0:
            return f"долг <b>{amount}</b>"
        return "расчёт закрыт, долга нет"
    if minor > 0:
        return f"a credit of <b>{amount}</b>"
    if minor < 0:
        return f"a debt of <b>{amount}</b>"
    return "settled: you owe nothing"


# ---------------------------------------------------------------- notifications


def _receipt(p: Mapping[str, Any], lang: str) -> str:
    amount = money(int(p["amount_minor"]), str(p["currency"]), lang)
    period = q(p.get("period_name", ""), lang)
    when = day(p.get("date"), lang)
    comment = p.get("comment")
    if lang == "ru":
        text = f"Ваш взнос <b>{amount}</b> записан в период {period}"
        text += f" ({when})." if when else "."
        if comment:
            text += f"\nКомментарий: {escape(str(comment))}"
        return text + "\nСпасибо!"
    text = f"Your contribution of <b>{amount}</b> has been recorded in the period {period}"
    text += f" ({when})." if when else "."
    if comment:
        text += f"\nComment: {escape(str(comment))}"
    return text + "\nThank you!"


def _period_closed(p: Mapping[str, Any], lang: str) -> str:
    currency = str(p["currency"])
    balance = int(p["balance_minor"])
    period = q(p.get("period_name", ""), lang)
    invoice = p.get("invoice_amount_minor")
    if lang == "ru":
        phrase = balance_phrase(balance, currency, lang)
        text = f"Период {period} закрыт. Ваш итог за период: {phrase}."
        if invoice:
            text += f"\nНачислено за период: {money(int(invoice), currency, lang)}."
        if balance < 0:
            text += "\nПожалуйста, погасите долг: он перейдёт в следующий период."
        elif balance > 0:
            text += "\nПереплата будет зачтена в следующем периоде."
        return text
    text = (
        f"The period {period} is closed. Your balance for it: "
        f"{balance_phrase(balance, currency, lang)}."
    )
    if invoice:
        text += f"\nCharged for the period: {money(int(invoice), currency, lang)}."
    if balance < 0:
        text += "\nPlease pay the debt: it carries over into the next period."
    elif balance > 0:
        text += "\nThe credit will count towards the next period."
    return text


def _opening_balance(p: Mapping[str, Any], lang: str) -> str:
    currency = str(p["currency"])
    opening = int(p["opening_minor"])
    target = q(p.get("period_name", ""), lang)
    source = q(p.get("from_period_name", ""), lang)
    amount = money(abs(opening), currency, lang)
    if lang == "ru":
        if opening > 0:
            return (
                f"Период {target} открыт. Переплата <b>{amount}</b> из периода {source} "
                "зачтена как входящий взнос."
            )
        if opening < 0:
            return (
                f"Период {target} открыт. Долг <b>{amount}</b> из периода {source} "
                "перенесён в него как входящее начисление."
            )
        return f"Период {target} открыт. Из периода {source} вы перешли без долга и переплаты."
    if opening > 0:
        return (
            f"The period {target} is open. Your credit of <b>{amount}</b> from {source} "
            "has been carried into it as an opening payment."
        )
    if opening < 0:
        return (
            f"The period {target} is open. Your debt of <b>{amount}</b> from {source} "
            "has been carried into it as an opening charge."
        )
    return f"The period {target} is open. You start it settled: nothing carried from {source}."


def _debt_reminder(p: Mapping[str, Any], lang: str) -> str:
    currency = str(p["currency"])
    debt = money(abs(int(p["balance_minor"])), currency, lang)
    period = q(p.get("period_name", ""), lang)
    if lang == "ru":
        return (
            f"Напоминание: ваш долг в периоде {period} составляет <b>{debt}</b>. "
            "Пожалуйста, внесите оплату; баланс можно проверить командой /balance."
        )
    return (
        f"A reminder: your debt in the period {period} is <b>{debt}</b>. "
        "Please make a payment; /balance shows where you stand."
    )


def _linked(p: Mapping[str, Any], lang: str) -> str:
    if lang == "ru":
        return (
            "Telegram подключён. Здесь будут приходить квитанции о взносах, итоги периодов "
            "и напоминания. Команды: /balance, /statement, /help."
        )
    return (
        "Your Telegram is linked. Receipts, period balances and reminders will arrive here. "
        "Commands: /balance, /statement, /help."
    )


def _purchase_announced(p: Mapping[str, Any], lang: str) -> str:
    title = q(p.get("title", ""), lang)
    until = day(p.get("deadline"), lang)
    if lang == "ru":
        text = f"Открыта совместная закупка {title}."
        if until:
            text += f" Заказы принимаются до {until} включительно."
        return text + "\nДобавьте свои позиции в приложении Копилки."
    text = f"A group purchase {title} is open."
    if until:
        text += f" Orders are taken until {until} inclusive."
    return text + "\nAdd your items in the Kopilka app."


def _purchase_share(p: Mapping[str, Any], lang: str) -> str:
    currency = str(p["currency"])
    title = q(p.get("title", ""), lang)
    share = money(int(p["share_minor"]), currency, lang)
    items = money(int(p.get("items_minor", 0)), currency, lang)
    total = money(int(p["total_minor"]), currency, lang)
    if lang == "ru":
        return (
            f"Закупка {title} оформлена: всего {total}. Ваша доля: <b>{share}</b> "
            f"(ваши позиции {items}, остальное — доставка и общие позиции поровну)."
        )
    return (
        f"The group purchase {title} is final: {total} in all. Your share: <b>{share}</b> "
        f"(your items {items}; the rest is the delivery and shared items, split equally)."
    )


_METER_TYPES = {
    "ru": {"ELECTRICITY": "электричество", "WATER": "вода", "GAS": "газ", "HEAT": "тепло"},
    "en": {"ELECTRICITY": "electricity", "WATER": "water", "GAS": "gas", "HEAT": "heat"},
}


def _reading_reminder(p: Mapping[str, Any], lang: str) -> str:
    """The owner's meters that lack a reading of the period, on the window's first day and two
    days before its end (kopilka.plots.reminders)."""
    names = _METER_TYPES["ru" if lang == "ru" else "en"]
    meters = p.get("meters") or []
    until = day(p.get("window_end"), lang)
    if lang == "ru":
        lines = [
            f"• участок {escape(str(m['plot_number']))}, "
            f"{names.get(m['meter_type'], escape(str(m['meter_type'])).lower())}, "
            f"счётчик {escape(str(m['serial']))}"
            for m in meters
        ]
        lead = (
            "Пора передать показания счётчиков"
            if p.get("occasion") == "FIRST_DAY"
            else "Напоминание: остаётся два дня, чтобы передать показания"
        )
        return (
            f"{lead} (до {until} включительно):\n"
            + "\n".join(lines)
            + ("\nПередайте их в приложении Копилки, раздел «Счётчики».")
        )
    lines = [
        f"• plot {escape(str(m['plot_number']))}, "
        f"{names.get(m['meter_type'], escape(str(m['meter_type'])).lower())}, "
        f"meter {escape(str(m['serial']))}"
        for m in meters
    ]
    lead = (
        "Time to send your meter readings"
        if p.get("occasion") == "FIRST_DAY"
        else "A reminder: two days left to send your meter readings"
    )
    return (
        f"{lead} (until {until} inclusive):\n"
        + "\n".join(lines)
        + ("\nSend them in the Kopilka app, under Meters.")
    )


IMPORT_WORDS = ("lines", "booked", "unmatched", "waiting", "duplicates")


def _job_finished(p: Mapping[str, Any], lang: str) -> str:
    """The end of a close, carry-forward or import the admin started (kopilka.notifications.admin);
    the words are kopilka.i18n's."""
    from kopilka.i18n import t

    period = escape(str(p.get("period_name") or ""))
    target = escape(str(p.get("to_period_name") or ""))
    kind, ok = p.get("job_kind"), p.get("status") == "SUCCEEDED"
    if kind == "close_period":
        text = (
            t(lang, "The period {period} is closed.", period=period)
            if ok
            else t(lang, "Closing the period {period} failed.", period=period)
        )
    elif kind == "carry_forward":
        text = (
            t(
                lang,
                "Balances of {period} are carried forward into {target}.",
                period=period,
                target=target,
            )
            if ok
            else t(
                lang,
                "Carrying {period} forward into {target} failed.",
                period=period,
                target=target,
            )
        )
    else:
        text = t(lang, "The bank import is done.") if ok else t(lang, "The bank import failed.")
        counts = p.get("counts") or {}
        if ok and counts:
            text += "\n" + t(
                lang,
                "Lines: {lines}, booked: {booked}, to assign: {unmatched}, waiting: {waiting}, already imported: {duplicates}.",  # noqa: E501
                **{k: int(counts.get(k) or 0) for k in IMPORT_WORDS},
            )
    if not ok and p.get("error"):
        text += "\n" + t(lang, "Reason: {reason}", reason=escape(str(p["error"])))
    return text


def _statement_pdf(p: Mapping[str, Any], lang: str) -> str:
    """The caption of the owner's PDF statement (kopilka.statements.delivery)."""
    from kopilka.i18n import t

    return t(lang, "Your account statement as of {date}.", date=day(p.get("on"), lang))


_RENDERERS = {
    "statement_pdf": _statement_pdf,
    "reading_reminder": _reading_reminder,
    "job_finished": _job_finished,
    "purchase_announced": _purchase_announced,
    "purchase_share": _purchase_share,
    "contribution_receipt": _receipt,
    "period_closed": _period_closed,
    "opening_balance": _opening_balance,
    "debt_reminder": _debt_reminder,
    "linked": _linked,
}


class UnknownKind(ValueError):
    """A notification kind the bot has no words for."""


def render(
    kind: str, payload: Mapping[str, Any], lang: str | None, community: str | None = None
) -> str:
    """The message of a notification row, in the owner's language, headed by the community."""
    renderer = _RENDERERS.get(kind)
    if renderer is None:
        raise UnknownKind(f"no text for notification kind {kind!r}")
    return _header(community) + renderer(payload, lang_of(lang))


# ---------------------------------------------------------------- command replies


@dataclass(frozen=True)
class BalanceLine:
    community: str
    period_name: str | None
    balance_minor: int
    currency: str
    start_date: date | None = None
    end_date: date | None = None


@dataclass(frozen=True)
class StatementLine:
    period_name: str
    balance_minor: int


@dataclass(frozen=True)
class StatementBlock:
    community: str
    currency: str
    lines: Sequence[StatementLine]
    current: BalanceLine | None = None


def app_button_label(lang: str) -> str:
    return "Открыть Копилку" if lang_of(lang) == "ru" else "Open Kopilka"


def mini_app_url(settings: Settings) -> str:
    """The Mini App's URL: ``KOPILKA_MINI_APP_URL``, else ``KOPILKA_PUBLIC_URL`` + "/app"."""
    return settings.mini_app_url or settings.public_url.rstrip("/") + "/app"


def app_keyboard(url: str | None, lang: str) -> InlineKeyboardMarkup | None:
    """The Mini App button. Telegram opens a web_app only over https, so for any other URL
    there is no button (the replies that need it carry the link as text instead)."""
    if not url or not url.lower().startswith("https://"):
        return None
    from aiogram.types import InlineKeyboardButton, InlineKeyboardMarkup, WebAppInfo

    button = InlineKeyboardButton(text=app_button_label(lang), web_app=WebAppInfo(url=url))
    return InlineKeyboardMarkup(inline_keyboard=[[button]])


def app_link(url: str, lang: str) -> str:
    """A plain link to the Mini App, for when it cannot be a web_app button (not https)."""
    label = "Открыть Копилку" if lang_of(lang) == "ru" else "Open Kopilka"
    return f'<a href="{escape(url, quote=True)}">{label}</a>'


def help_text(lang: str) -> str:
    if lang_of(lang) == "ru":
        return (
            "Я бот Копилки: присылаю квитанции о взносах, итоги закрытых периодов, "
            "входящие остатки и напоминания о долгах.\n\n"
            "/balance — ваш баланс в текущем периоде\n"
            "/statement — сводка по последним периодам и ссылка на выписку\n"
            "/start — подключить Telegram по ссылке от казначея\n"
            "/help — эта справка"
        )
    return (
        "I am the Kopilka bot: I send receipts for your contributions, balances of closed "
        "periods, opening balances and debt reminders.\n\n"
        "/balance — your balance in the current period\n"
        "/statement — a summary of recent periods and a link to your statement\n"
        "/start — link your Telegram with the link from your treasurer\n"
        "/help — this help"
    )


def linked_text(lang: str, community: str, owner_name: str | None) -> str:
    who = escape(owner_name) if owner_name else None
    name = escape(community)
    if lang_of(lang) == "ru":
        hello = f"Здравствуйте, {who}! " if who else "Здравствуйте! "
        return (
            hello + f"Ваш Telegram подключён к сообществу <b>{name}</b>. Здесь будут приходить "
            "квитанции, итоги периодов и напоминания.\n\n/balance — ваш баланс, /help — справка."
        )
    hello = f"Hello, {who}! " if who else "Hello! "
    return (
        hello + f"Your Telegram is now linked to <b>{name}</b>. Receipts, period balances and "
        "reminders will arrive here.\n\n/balance shows your balance, /help lists the commands."
    )


def link_failed_text(lang: str) -> str:
    if lang_of(lang) == "ru":
        return (
            "Эта ссылка недействительна: она уже использована или устарела. "
            "Попросите у казначея новую ссылку."
        )
    return (
        "This link does not work: it was already used or has expired. "
        "Please ask your treasurer for a new one."
    )


def welcome_back_text(lang: str, communities: Sequence[str]) -> str:
    names = ", ".join(f"<b>{escape(c)}</b>" for c in communities)
    if lang_of(lang) == "ru":
        return (
            f"С возвращением! Ваш Telegram подключён: {names}.\n\n"
            "/balance — ваш баланс, /statement — сводка, /help — справка."
        )
    return (
        f"Welcome back! Your Telegram is linked to {names}.\n\n"
        "/balance shows your balance, /statement a summary, /help the commands."
    )


def not_linked_text(lang: str) -> str:
    if lang_of(lang) == "ru":
        return (
            "Ваш Telegram ещё не подключён ни к одному сообществу. Попросите казначея прислать "
            "вам ссылку для подключения и откройте её — после этого здесь будут приходить "
            "квитанции и балансы."
        )
    return (
        "Your Telegram is not linked to any community yet. Ask your treasurer for a link "
        "and open it; then your receipts and balances will arrive here."
    )


def balance_text(lang: str, lines: Sequence[BalanceLine]) -> str:
    lang = lang_of(lang)
    parts: list[str] = []
    for line in lines:
        head = f"<b>{escape(line.community)}</b>"
        if line.period_name is None:
            if lang == "ru":
                parts.append(f"{head}\nСейчас нет открытого периода.")
            else:
                parts.append(f"{head}\nThere is no open period at the moment.")
            continue
        phrase = balance_phrase(line.balance_minor, line.currency, lang)
        period = q(line.period_name, lang)
        if lang == "ru":
            parts.append(f"{head}\nПериод {period}: {phrase}.")
        else:
            parts.append(f"{head}\nPeriod {period}: {phrase}.")
    if not parts:
        return not_linked_text(lang)
    return "\n\n".join(parts)


def statement_text(lang: str, blocks: Sequence[StatementBlock], url: str | None) -> str:
    lang = lang_of(lang)
    parts: list[str] = []
    for block in blocks:
        rows = [f"<b>{escape(block.community)}</b>"]
        if block.current is not None and block.current.period_name is not None:
            phrase = balance_phrase(block.current.balance_minor, block.currency, lang)
            period = q(block.current.period_name, lang)
            rows.append(
                f"Сейчас, {period}: {phrase}" if lang == "ru" else f"Now, {period}: {phrase}"
            )
        if block.lines:
            rows.append("Закрытые периоды:" if lang == "ru" else "Closed periods:")
            for line in block.lines:
                phrase = balance_phrase(line.balance_minor, block.currency, lang)
                rows.append(f"• {q(line.period_name, lang)}: {phrase}")
        elif lang == "ru":
            rows.append("Закрытых периодов пока нет.")
        else:
            rows.append("No closed periods yet.")
        parts.append("\n".join(rows))
    if not parts:
        return not_linked_text(lang)
    text = "\n\n".join(parts)
    if url:
        if lang == "ru":
            text += f"\n\nПолная выписка и счета: {app_link(url, lang)}"
        else:
            text += f"\n\nYour full statement and invoices: {app_link(url, lang)}"
    return text


COMMANDS: dict[str, list[tuple[str, str]]] = {
    "en": [
        ("balance", "Your balance in the current period"),
        ("statement", "Recent periods and your statement"),
        ("help", "What this bot does"),
        ("start", "Link your Telegram"),
    ],
    "ru": [
        ("balance", "Ваш баланс в текущем периоде"),
        ("statement", "Последние периоды и выписка"),
        ("help", "Что умеет бот"),
        ("start", "Подключить Telegram"),
    ],
}
