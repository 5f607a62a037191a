"""The bot's commands: ``/start [TOKEN]``, ``/balance``, ``/statement``, ``/help``.

Handlers are thin: each calls one ``kopilka.owners.chat.OwnerChat`` use case in a thread (it runs
its own transaction) and answers in the owner's language, with the Mini App button when its URL
is https (Telegram opens web apps only over https; otherwise the link is in the text).

``/start TOKEN`` spends a one-time token an admin issued (``POST /api/payments/owners/{id}/
link-token``) and links the chat to that owner; a plain ``/start`` greets a user whose Telegram id
an admin already set on an owner, or explains how to get a link.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import Any, TypeVar

from aiogram import F, Router
from aiogram.enums import ChatType, ParseMode
from aiogram.filters import Command, CommandObject, CommandStart
from aiogram.types import LinkPreviewOptions, Message, User
from sqlalchemy import Engine

from kopilka.config import Settings, get_settings
from kopilka.logging import get_logger
from kopilka.owners.chat import Membership, OwnerChat, StatementSummary
from kopilka_bot import texts

log = get_logger("kopilka.bot.commands")
T = TypeVar("T")


def _reply_language(members: list[Membership], user: User | None) -> str:
    if members:
        return texts.lang_of(members[0].language)
    return texts.lang_of(user.language_code if user else None)


def _block(summary: StatementSummary) -> texts.StatementBlock:
    return texts.StatementBlock(
        community=summary.community,
        currency=summary.currency,
        lines=[texts.StatementLine(name, balance) for name, balance in summary.closed],
        current=summary.current,
    )


async def reply(
    message: Message, text: str, lang: str, app_url: str, *, with_link: bool = False
) -> None:
    """Answer in HTML with the Mini App button (with its link in the text instead, when
    ``with_link`` and the button cannot be shown)."""
    keyboard = texts.app_keyboard(app_url, lang)
    if keyboard is None and with_link:
        text += "\n\n" + texts.app_link(app_url, lang)
    await message.answer(
        text,
        parse_mode=ParseMode.HTML,
        reply_markup=keyboard,
        link_preview_options=LinkPreviewOptions(is_disabled=True),
    )


def private_router(name: str) -> Router:
    """A router of commands answered in private chats only."""
    router = Router(name=name)
    router.message.filter(F.chat.type == ChatType.PRIVATE)
    return router


# ---------------------------------------------------------------- handlers


def make_router(engine: Engine | None = None, settings: Settings | None = None) -> Router:
    """The command handlers, bound to a database engine and the settings."""
    settings = settings or get_settings()
    chat = OwnerChat(engine)
    app_url = texts.mini_app_url(settings)
    router = private_router("kopilka-commands")

    async def answer(message: Message, text: str, lang: str, *, with_link: bool = False) -> None:
        await reply(message, text, lang, app_url, with_link=with_link)

    async def failed(message: Message, lang: str) -> None:
        log.exception("command_failed", text=(message.text or "")[:64])
        await message.answer(texts.sorry_text(lang))

    async def read(message: Message, use_case: Callable[[int], tuple[list[Membership], T]]) -> Any:
        """``use_case(telegram id)`` in a thread: (the user's language, what it found), or None
        (no user, or it failed: the user is told)."""
        user = message.from_user
        if user is None:
            return None
        try:
            members, found = await asyncio.to_thread(use_case, user.id)
        except Exception:
            await failed(message, texts.lang_of(user.language_code))
            return None
        return _reply_language(members, user), found

    @router.message(CommandStart())
    async def start(message: Message, command: CommandObject) -> None:
        user = message.from_user
        if user is None:
            return
        code = user.language_code
        token = (command.args or "").strip()
        try:
            if token:
                linked = await asyncio.to_thread(chat.link, token, user.id, code)
                if linked is None:
                    lang = texts.lang_of(code)
                    await answer(message, texts.link_failed_text(lang), lang)
                    return
                log.info("telegram_linked", telegram_id=user.id, community=linked.community)
                lang = texts.lang_of(linked.language)
                await answer(
                    message,
                    texts.linked_text(lang, linked.community, linked.owner_name),
                    lang,
                    with_link=True,
                )
                return
            members = await asyncio.to_thread(chat.start, user.id, code)
            lang = texts.lang_of(members[0].language) if members else texts.lang_of(code)
            communities = [m.community for m in members]
        except Exception:
            await failed(message, texts.lang_of(code))
            return
        if communities:
            await answer(message, texts.welcome_back_text(lang, communities), lang, with_link=True)
        else:
            await answer(message, texts.not_linked_text(lang), lang)

    @router.message(Command("balance"))
    async def balance(message: Message) -> None:
        got = await read(message, chat.balances)
        if got is not None:
            lang, lines = got
            await answer(message, texts.balance_text(lang, lines), lang, with_link=bool(lines))

    @router.message(Command("statement"))
    async def statement_cmd(message: Message) -> None:
        got = await read(message, chat.statements)
        if got is not None:
            lang, summaries = got
            blocks = [_block(summary) for summary in summaries]
            url = app_url if blocks else None
            await answer(message, texts.statement_text(lang, blocks, url), lang)

    @router.message(Command("help"))
    async def help_cmd(message: Message) -> None:
        user = message.from_user
        lang = texts.lang_of(user.language_code if user else None)
        if user is not None:
            try:
                members = await asyncio.to_thread(chat.memberships, user.id)
                lang = _reply_language(members, user)
            except Exception:
                log.exception("help_language_lookup_failed")
        await answer(message, texts.help_text(lang), lang, with_link=True)

    @router.message(F.text)
    async def other(message: Message) -> None:
        user = message.from_user
        lang = texts.lang_of(user.language_code if user else None)
        await answer(message, texts.help_text(lang), lang)

    return router
