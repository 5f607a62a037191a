"""What the bot says, in English and Russian: notifications and command replies.

Every word is in the server's catalogues (``kopilka/i18n/catalogues/{en,ru}.json``, through
:mod:`kopilka.i18n`); this module only assembles the sentences. Every message is HTML
(``parse_mode=HTML``): names, comments and period names come from users, so they are escaped;
amounts are formatted in the owner's locale and the community's currency ("1,000.00 RUB" /
"1 000,00 ₽"). A language we do not speak falls back to English. The sign of a balance is said in
words (credit, debt, settled), never as a bare minus.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import date
from html import escape
from typing import TYPE_CHECKING, Any

from kopilka import i18n
from kopilka.config import Settings
from kopilka.i18n import t
from kopilka.owners.chat import CurrentBalance

if TYPE_CHECKING:  # aiogram is imported only when a keyboard is built (the dry run needs none)
    from aiogram.types import InlineKeyboardMarkup

LANGUAGES = i18n.LANGUAGES
DEFAULT_LANGUAGE = i18n.DEFAULT


def lang_of(code: str | None) -> str:
    """Our language for a Telegram ``language_code`` or an owner's language ("ru-RU" -> "ru")."""
    return i18n.supported(code) or DEFAULT_LANGUAGE


def supported(code: str | None) -> str | None:
    """The language if we speak it, else None (so a caller can keep what it had)."""
    return i18n.supported(code)


def money(minor: int, currency: str, lang: str) -> str:
    """An amount for a person, escaped for HTML: "1,000.00 RUB" (en) / "1 000,00 ₽" (ru)."""
    return escape(i18n.money(minor, currency, lang_of(lang)))


def day(value: date | str | None, lang: str) -> str:
    """A calendar date in words: "12 November 2025" / "12 ноября 2025"."""
    if value is None:
        return ""
    if isinstance(value, str):
        try:
            value = date.fromisoformat(value[:10])
        except ValueError:
            return escape(str(value))
    return escape(i18n.day(value, lang_of(lang), "d MMMM y"))


def q(text: object, lang: str) -> str:
    """A quoted user-supplied name, escaped: “November” / «Ноябрь»."""
    return t(lang, "“{name}”", name=escape(str(text)))


def _header(community: str | None) -> str:
    return f"<b>{escape(community)}</b>\n" if community else ""


# ---------------------------------------------------------------- balances in words


def balance_phrase(minor: int, currency: str, lang: str) -> str:
    """A balance as a phrase: "a credit of X" / "a debt of X" / "settled: nothing owed"."""
    amount = money(abs(minor), currency, lang)
    if minor > 0:
        return t(lang, "a credit of <b>{amount}</b>", amount=amount)
    if minor < 0:
        return t(lang, "a debt of <b>{amount}</b>", amount=amount)
    return t(lang, "settled: you owe nothing")


# ---------------------------------------------------------------- notifications


def _receipt(p: Mapping[str, Any], lang: str) -> str:
    amount = money(int(p["amount_minor"]), str(p["currency"]), lang)
    period = q(p.get("period_name", ""), lang)
    when = day(p.get("date"), lang)
    if when:
        text = t(
            lang,
            "Your contribution of <b>{amount}</b> has been recorded in the period {period} ({date}).",  # noqa: E501
            amount=amount,
            period=period,
            date=when,
        )
    else:
        text = t(
            lang,
            "Your contribution of <b>{amount}</b> has been recorded in the period {period}.",
            amount=amount,
            period=period,
        )
    comment = p.get("comment")
    if comment:
        text += "\n" + t(lang, "Comment: {comment}", comment=escape(str(comment)))
    return text + "\n" + t(lang, "Thank you!")


def _period_closed(p: Mapping[str, Any], lang: str) -> str:
    currency = str(p["currency"])
    balance = int(p["balance_minor"])
    text = t(
        lang,
        "The period {period} is closed. Your balance for it: {balance}.",
        period=q(p.get("period_name", ""), lang),
        balance=balance_phrase(balance, currency, lang),
    )
    invoice = p.get("invoice_amount_minor")
    if invoice:
        amount = money(int(invoice), currency, lang)
        text += "\n" + t(lang, "Charged for the period: {amount}.", amount=amount)
    if balance < 0:
        text += "\n" + t(lang, "Please pay the debt: it carries over into the next period.")
    elif balance > 0:
        text += "\n" + t(lang, "The credit will count towards the next period.")
    return text


def _opening_balance(p: Mapping[str, Any], lang: str) -> str:
    opening = int(p["opening_minor"])
    words = {
        "target": q(p.get("period_name", ""), lang),
        "source": q(p.get("from_period_name", ""), lang),
        "amount": money(abs(opening), str(p["currency"]), lang),
    }
    if opening > 0:
        return t(
            lang,
            "The period {target} is open. Your credit of <b>{amount}</b> from {source} has been carried into it as an opening payment.",  # noqa: E501
            **words,
        )
    if opening < 0:
        return t(
            lang,
            "The period {target} is open. Your debt of <b>{amount}</b> from {source} has been carried into it as an opening charge.",  # noqa: E501
            **words,
        )
    return t(
        lang,
        "The period {target} is open. You start it settled: nothing carried from {source}.",
        target=words["target"],
        source=words["source"],
    )


def _debt_reminder(p: Mapping[str, Any], lang: str) -> str:
    return t(
        lang,
        "A reminder: your debt in the period {period} is <b>{debt}</b>. Please make a payment; /balance shows where you stand.",  # noqa: E501
        period=q(p.get("period_name", ""), lang),
        debt=money(abs(int(p["balance_minor"])), str(p["currency"]), lang),
    )


def _linked(p: Mapping[str, Any], lang: str) -> str:
    return t(
        lang,
        "Your Telegram is linked. Receipts, period balances and reminders will arrive here. Commands: /balance, /statement, /help.",  # noqa: E501
    )


def _purchase_announced(p: Mapping[str, Any], lang: str) -> str:
    text = t(lang, "A group purchase {title} is open.", title=q(p.get("title", ""), lang))
    until = day(p.get("deadline"), lang)
    if until:
        text += " " + t(lang, "Orders are taken until {date} inclusive.", date=until)
    return text + "\n" + t(lang, "Add your items in the Kopilka app.")


def _purchase_share(p: Mapping[str, Any], lang: str) -> str:
    currency = str(p["currency"])
    return t(
        lang,
        "The group purchase {title} is final: {total} in all. Your share: <b>{share}</b> (your items {items}; the rest is the delivery and shared items, split equally).",  # noqa: E501
        title=q(p.get("title", ""), lang),
        share=money(int(p["share_minor"]), currency, lang),
        items=money(int(p.get("items_minor", 0)), currency, lang),
        total=money(int(p["total_minor"]), currency, lang),
    )


def meter_type_name(meter_type: str, lang: str) -> str:
    """A meter type in words ("electricity" / "электричество"); an unknown one as it is."""
    names = {
        "ELECTRICITY": t(lang, "electricity"),
        "WATER": t(lang, "water"),
        "GAS": t(lang, "gas"),
        "HEAT": t(lang, "heat"),
    }
    return names.get(meter_type) or escape(str(meter_type)).lower()


def _reading_reminder(p: Mapping[str, Any], lang: str) -> str:
    """The owner's meters that lack a reading of the period, on the window's first day and two
    days before its end (kopilka.plots.reminders)."""
    until = day(p.get("window_end"), lang)
    lines = [
        t(
            lang,
            "• plot {plot}, {meter_type}, meter {serial}",
            plot=escape(str(m["plot_number"])),
            meter_type=meter_type_name(m["meter_type"], lang),
            serial=escape(str(m["serial"])),
        )
        for m in p.get("meters") or []
    ]
    if p.get("occasion") == "FIRST_DAY":
        lead = t(lang, "Time to send your meter readings (until {date} inclusive):", date=until)
    else:
        lead = t(
            lang,
            "A reminder: two days left to send your meter readings (until {date} inclusive):",
            date=until,
        )
    return "\n".join([lead, *lines, t(lang, "Send them in the Kopilka app, under Meters.")])


IMPORT_WORDS = ("lines", "booked", "unmatched", "waiting", "duplicates")


def _job_finished(p: Mapping[str, Any], lang: str) -> str:
    """The end of a close, carry-forward or import the admin started (kopilka.notifications.admin).
    The failure's reason is the server's English sentence, said in the admin's language."""
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
        reason = escape(i18n.translate(str(p["error"]), lang))
        text += "\n" + t(lang, "Reason: {reason}", reason=reason)
    return text


def _statement_pdf(p: Mapping[str, Any], lang: str) -> str:
    """The caption of the owner's PDF statement (kopilka.statements.delivery)."""
    return t(lang, "Your account statement as of {date}.", date=day(p.get("on"), lang))


CAPTION_MAX = 1024  # Telegram's limit on a photo's caption


def scan_to_pay(lang: str) -> str:
    """The close message's last line when its invoice's payment QR comes with it."""
    return t(lang, "To pay the invoice, scan the QR code in your bank's app.")


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


# A community's line of /balance: the owner's balance in its current period (kopilka's answer).
BalanceLine = CurrentBalance


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
    return t(lang_of(lang), "Open Kopilka")


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
    return f'<a href="{escape(url, quote=True)}">{escape(app_button_label(lang))}</a>'


def sorry_text(lang: str) -> str:
    """A command failed on our side."""
    return t(lang_of(lang), "Something went wrong on our side; please try again in a minute.")


def help_text(lang: str) -> str:
    lang = lang_of(lang)
    lines = [
        t(lang, "/balance — your balance in the current period"),
        t(lang, "/statement — a summary of recent periods and a link to your statement"),
        t(lang, "/start — link your Telegram with the link from your treasurer"),
        t(lang, "/help — this help"),
    ]
    intro = t(
        lang,
        "I am the Kopilka bot: I send receipts for your contributions, balances of closed periods, opening balances and debt reminders.",  # noqa: E501
    )
    return intro + "\n\n" + "\n".join(lines)


def linked_text(lang: str, community: str, owner_name: str | None) -> str:
    lang = lang_of(lang)
    hello = t(lang, "Hello, {name}!", name=escape(owner_name)) if owner_name else t(lang, "Hello!")
    body = t(
        lang,
        "Your Telegram is now linked to <b>{community}</b>. Receipts, period balances and reminders will arrive here.",  # noqa: E501
        community=escape(community),
    )
    return f"{hello} {body}\n\n" + t(lang, "/balance shows your balance, /help lists the commands.")


def link_failed_text(lang: str) -> str:
    return t(
        lang_of(lang),
        "This link does not work: it was already used or has expired. Please ask your treasurer for a new one.",  # noqa: E501
    )


def welcome_back_text(lang: str, communities: Sequence[str]) -> str:
    lang = lang_of(lang)
    names = ", ".join(f"<b>{escape(c)}</b>" for c in communities)
    return (
        t(lang, "Welcome back! Your Telegram is linked to {communities}.", communities=names)
        + "\n\n"
        + t(lang, "/balance shows your balance, /statement a summary, /help the commands.")
    )


def not_linked_text(lang: str) -> str:
    return t(
        lang_of(lang),
        "Your Telegram is not linked to any community yet. Ask your treasurer for a link and open it; then your receipts and balances will arrive here.",  # noqa: E501
    )


def balance_text(lang: str, lines: Sequence[BalanceLine]) -> str:
    lang = lang_of(lang)
    parts: list[str] = []
    for line in lines:
        head = f"<b>{escape(line.community)}</b>"
        if line.period_name is None:
            parts.append(head + "\n" + t(lang, "There is no open period at the moment."))
            continue
        phrase = balance_phrase(line.balance_minor, line.currency, lang)
        period = q(line.period_name, lang)
        parts.append(
            head + "\n" + t(lang, "Period {period}: {balance}.", period=period, balance=phrase)
        )
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
            rows.append(t(lang, "Now, {period}: {balance}", period=period, balance=phrase))
        if block.lines:
            rows.append(t(lang, "Closed periods:"))
            for line in block.lines:
                phrase = balance_phrase(line.balance_minor, block.currency, lang)
                rows.append(f"• {q(line.period_name, lang)}: {phrase}")
        else:
            rows.append(t(lang, "No closed periods yet."))
        parts.append("\n".join(rows))
    if not parts:
        return not_linked_text(lang)
    text = "\n\n".join(parts)
    if url:
        text += "\n\n" + t(
            lang, "Your full statement and invoices: {link}", link=app_link(url, lang)
        )
    return text


def commands(lang: str) -> list[tuple[str, str]]:
    """The command menu in a language."""
    return [
        ("balance", t(lang, "Your balance in the current period")),
        ("statement", t(lang, "Recent periods and your statement")),
        ("help", t(lang, "What this bot does")),
        ("start", t(lang, "Link your Telegram")),
    ]


COMMANDS: dict[str, list[tuple[str, str]]] = {lang: commands(lang) for lang in LANGUAGES}
