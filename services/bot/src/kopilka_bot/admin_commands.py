"""The treasurer's commands: ``/debtors`` (the current period's debtors, largest debt first) and
``/today`` (the payments recorded today), with the Mini App button.

Thin: each calls one ``kopilka.communities.admin_chat.AdminChat`` use case in a thread and words
the answer from ``kopilka.i18n``'s catalogues in the user's language (Telegram's
``language_code``, else the community's). Someone who is not an admin of any community is told so.
"""

from __future__ import annotations

import asyncio
from html import escape

from aiogram import Router
from aiogram.filters import Command
from aiogram.types import Message
from sqlalchemy import Engine

from kopilka.communities.admin_chat import AdminChat, Debtors, Today
from kopilka.config import Settings, get_settings
from kopilka.i18n import money, plural, resolve, t
from kopilka.logging import get_logger
from kopilka_bot import texts
from kopilka_bot.commands import private_router, reply

log = get_logger("kopilka.bot.admin")
SHOWN = 30  # debtors listed per community; the rest are counted


def debtors_text(lang: str, blocks: list[Debtors]) -> str:
    parts = []
    for b in blocks:
        c = b.community
        head = f"<b>{escape(c.community)}</b>"
        if b.period is None:
            parts.append(head + "\n" + t(lang, "No period yet."))
            continue
        if not b.debtors:
            parts.append(
                head + "\n" + t(lang, "{period}: nobody owes anything.", period=escape(b.period))
            )
            continue
        lines = [
            head,
            t(
                lang,
                "{period}: {count}, {total} in all.",
                period=escape(b.period),
                count=plural(lang, "{n} debtors", len(b.debtors)),
                total=escape(money(-b.total_minor, c.currency, lang)),
            ),
        ]
        for i, d in enumerate(b.debtors[:SHOWN], 1):
            name = escape(d.name or t(lang, "Owner {id}", id=d.owner_id))
            lines.append(f"{i}. {name} — {escape(money(-d.balance_minor, c.currency, lang))}")
        if len(b.debtors) > SHOWN:
            lines.append(t(lang, "…and {more} more in the Mini App.", more=len(b.debtors) - SHOWN))
        parts.append("\n".join(lines))
    return "\n\n".join(parts)


def today_text(lang: str, blocks: list[Today]) -> str:
    parts = []
    for b in blocks:
        c = b.community
        head = f"<b>{escape(c.community)}</b>"
        if not b.payments:
            parts.append(head + "\n" + t(lang, "No payments recorded today."))
            continue
        lines = [
            head,
            t(
                lang,
                "Today: {count}, {total}.",
                count=plural(lang, "{n} payments", len(b.payments)),
                total=escape(money(b.total_minor, c.currency, lang)),
            ),
        ]
        for p in b.payments[:SHOWN]:
            name = escape(p.name or t(lang, "Owner {id}", id=p.owner_id))
            note = f" · {escape(p.comment)}" if p.comment else ""
            lines.append(f"• {name} — {escape(money(p.amount_minor, c.currency, lang))}{note}")
        if len(b.payments) > SHOWN:
            lines.append(t(lang, "…and {more} more in the Mini App.", more=len(b.payments) - SHOWN))
        parts.append("\n".join(lines))
    return "\n\n".join(parts)


def make_admin_router(engine: Engine | None = None, settings: Settings | None = None) -> Router:
    settings = settings or get_settings()
    chat = AdminChat(engine)
    app_url = texts.mini_app_url(settings)
    router = private_router("kopilka-admin-commands")

    async def ask(message: Message, what: str) -> None:
        user = message.from_user
        if user is None:
            return
        try:
            admin_of = await asyncio.to_thread(chat.admin_of, user.id)
            lang = resolve(user.language_code, None, admin_of[0].language if admin_of else None)
            if not admin_of:
                await message.answer(t(lang, "This command is for the community's treasurer."))
                return
            if what == "debtors":
                text = debtors_text(lang, await asyncio.to_thread(chat.debtors, user.id))
            else:
                text = today_text(lang, await asyncio.to_thread(chat.today, user.id))
        except Exception:
            log.exception("admin_command_failed", command=what)
            await message.answer(
                t(resolve(user.language_code), "Something went wrong; try again in a minute.")
            )
            return
        await reply(message, text, lang, app_url, with_link=True)

    @router.message(Command("debtors"))
    async def debtors(message: Message) -> None:
        await ask(message, "debtors")

    @router.message(Command("today"))
    async def today(message: Message) -> None:
        await ask(message, "today")

    return router
