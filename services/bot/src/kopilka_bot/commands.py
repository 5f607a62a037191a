"""The bot's commands: ``/start [TOKEN]``, ``/balance``, ``/statement``, ``/help``.

Handlers are thin: each runs one synchronous database step in a thread (``asyncio.to_thread``
with its own transaction) and answers in the owner's language, with the Mini App button when its
URL is https (Telegram opens web apps only over https; otherwise the link is in the text).

``/start TOKEN`` spends a one-time token an admin issued (``POST /api/payments/owners/{id}/
link-token``) and links the chat to that owner; a plain ``/start`` greets a user whose Telegram id
an admin already set on an owner, or explains how to get a link.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import TypeVar
from zoneinfo import ZoneInfo

from aiogram import F, Router
from aiogram.enums import ChatType, ParseMode
from aiogram.filters import Command, CommandObject, CommandStart
from aiogram.types import LinkPreviewOptions, Message, User
from sqlalchemy import Engine, select
from sqlalchemy.orm import Session

from kopilka.audit.service import record
from kopilka.balances.service import live_sheet
from kopilka.config import Settings, get_settings
from kopilka.context import Actor, Ctx, Role
from kopilka.db import get_engine, session_factory
from kopilka.logging import get_logger
from kopilka.models import Community, Owner, Period, PeriodBalance
from kopilka.owners.linking import link_telegram
from kopilka_bot import texts

log = get_logger("kopilka.bot.commands")

T = TypeVar("T")

STATEMENT_PERIODS = 3


# ---------------------------------------------------------------- database steps (sync)


@dataclass(frozen=True)
class Linked:
    language: str
    community: str
    owner_name: str | None


def _memberships(session: Session, telegram_id: int) -> list[tuple[Owner, Community]]:
    rows = session.execute(
        select(Owner, Community)
        .join(Community, Community.id == Owner.community_id)
        .where(Owner.telegram_id == telegram_id)
        .order_by(Community.name, Owner.id)
    ).all()
    return [(o, c) for o, c in rows]


def _reply_language(owners: list[tuple[Owner, Community]], user: User | None) -> str:
    if owners:
        return texts.lang_of(owners[0][0].language)
    return texts.lang_of(user.language_code if user else None)


def start_with_token(session: Session, token: str, user_id: int, lang: str | None) -> Linked | None:
    owner = link_telegram(session, token, user_id, texts.supported(lang))
    if owner is None:
        return None
    community = session.get(Community, owner.community_id)
    assert community is not None
    return Linked(texts.lang_of(owner.language), community.name, owner.name)


def start_plain(session: Session, user_id: int, lang: str | None) -> tuple[str, list[str]]:
    """A returning user: forget a block (they talk to us again), adopt their Telegram language
    when we speak it. Returns the reply language and their communities."""
    owners = session.scalars(
        select(Owner)
        .where(Owner.telegram_id == user_id)
        .order_by(Owner.id)
        .with_for_update()
        .execution_options(populate_existing=True)
    ).all()
    wanted = texts.supported(lang)
    for owner in owners:
        before = {"language": owner.language, "telegram_blocked_at": owner.telegram_blocked_at}
        changed = False
        if owner.telegram_blocked_at is not None:
            owner.telegram_blocked_at = None
            changed = True
        if wanted is not None and owner.language != wanted:
            owner.language = wanted
            changed = True
        if changed:
            owner.version += 1
            ctx = Ctx(
                session,
                Actor(Role.OWNER, f"telegram:{user_id}", owner.community_id, owner.id, user_id),
            )
            record(
                ctx,
                "owner.telegram_start",
                "owner",
                owner.owner_id,
                before={
                    "language": before["language"],
                    "telegram_blocked_at": (
                        before["telegram_blocked_at"].isoformat()
                        if isinstance(before["telegram_blocked_at"], datetime)
                        else None
                    ),
                },
                after={"language": owner.language, "telegram_blocked_at": None},
            )
    session.flush()
    members = _memberships(session, user_id)
    language = texts.lang_of(members[0][0].language) if members else texts.lang_of(lang)
    return language, [c.name for _, c in members]


def current_period(session: Session, community: Community) -> Period | None:
    """The OPEN period covering the community's today, else the latest OPEN one."""
    today = datetime.now(ZoneInfo(community.timezone)).date()
    covering = session.scalar(
        select(Period)
        .where(
            Period.community_id == community.id,
            Period.status == "OPEN",
            Period.start_date <= today,
            Period.end_date >= today,
        )
        .limit(1)
    )
    if covering is not None:
        return covering
    return session.scalar(
        select(Period)
        .where(Period.community_id == community.id, Period.status == "OPEN")
        .order_by(Period.start_date.desc())
        .limit(1)
    )


def _live_balance(session: Session, owner: Owner, community: Community) -> texts.BalanceLine:
    period = current_period(session, community)
    if period is None:
        return texts.BalanceLine(community.name, None, 0, community.currency)
    sheet = live_sheet(session, community, period)
    balance = next((r.balance for r in sheet.rows if r.owner_pk == owner.id), 0)
    return texts.BalanceLine(
        community.name, period.name, balance, community.currency, period.start_date, period.end_date
    )


def balances(
    session: Session, user_id: int
) -> tuple[list[tuple[Owner, Community]], list[texts.BalanceLine]]:
    members = _memberships(session, user_id)
    return members, [_live_balance(session, o, c) for o, c in members]


def statement(
    session: Session, user_id: int
) -> tuple[list[tuple[Owner, Community]], list[texts.StatementBlock]]:
    members = _memberships(session, user_id)
    blocks = []
    for owner, community in members:
        closed = session.execute(
            select(Period.name, PeriodBalance.balance)
            .join(PeriodBalance, PeriodBalance.period_id == Period.id)
            .where(
                Period.community_id == community.id,
                Period.status == "CLOSED",
                PeriodBalance.owner_pk == owner.id,
            )
            .order_by(Period.end_date.desc())
            .limit(STATEMENT_PERIODS)
        ).all()
        blocks.append(
            texts.StatementBlock(
                community=community.name,
                currency=community.currency,
                lines=[texts.StatementLine(name, int(balance)) for name, balance in closed],
                current=_live_balance(session, owner, community),
            )
        )
    return members, blocks


# ---------------------------------------------------------------- handlers


def make_router(engine: Engine | None = None, settings: Settings | None = None) -> Router:
    """The command handlers, bound to a database engine and the settings."""
    settings = settings or get_settings()
    factory = session_factory(engine or get_engine())
    app_url = texts.mini_app_url(settings)
    router = Router(name="kopilka-commands")
    router.message.filter(F.chat.type == ChatType.PRIVATE)

    async def in_db(fn: Callable[[Session], T]) -> T:
        def run() -> T:
            with factory() as session, session.begin():
                return fn(session)

        return await asyncio.to_thread(run)

    async def answer(message: Message, text: str, lang: str, *, with_link: bool = False) -> None:
        keyboard = texts.app_keyboard(app_url, lang)
        if keyboard is None and with_link:
            text += "\n\n" + texts.app_link(app_url, lang)
        await message.answer(
            text,
            parse_mode=ParseMode.HTML,
            reply_markup=keyboard,
            link_preview_options=LinkPreviewOptions(is_disabled=True),
        )

    async def failed(message: Message, lang: str) -> None:
        log.exception("command_failed", text=(message.text or "")[:64])
        sorry = (
            "Не получилось: попробуйте ещё раз чуть позже."
            if lang == "ru"
            else "Something went wrong on our side; please try again in a minute."
        )
        await message.answer(sorry)

    @router.message(CommandStart())
    async def start(message: Message, command: CommandObject) -> None:
        user = message.from_user
        if user is None:
            return
        code = user.language_code
        token = (command.args or "").strip()
        try:
            if token:
                linked = await in_db(lambda s: start_with_token(s, token, user.id, code))
                if linked is None:
                    lang = texts.lang_of(code)
                    await answer(message, texts.link_failed_text(lang), lang)
                    return
                log.info("telegram_linked", telegram_id=user.id, community=linked.community)
                await answer(
                    message,
                    texts.linked_text(linked.language, linked.community, linked.owner_name),
                    linked.language,
                    with_link=True,
                )
                return
            lang, communities = await in_db(lambda s: start_plain(s, user.id, code))
        except Exception:
            await failed(message, texts.lang_of(code))
            return
        if communities:
            await answer(message, texts.welcome_back_text(lang, communities), lang, with_link=True)
        else:
            await answer(message, texts.not_linked_text(lang), lang)

    @router.message(Command("balance"))
    async def balance(message: Message) -> None:
        user = message.from_user
        if user is None:
            return
        try:
            members, lines = await in_db(lambda s: balances(s, user.id))
        except Exception:
            await failed(message, texts.lang_of(user.language_code))
            return
        lang = _reply_language(members, user)
        await answer(message, texts.balance_text(lang, lines), lang, with_link=bool(lines))

    @router.message(Command("statement"))
    async def statement_cmd(message: Message) -> None:
        user = message.from_user
        if user is None:
            return
        try:
            members, blocks = await in_db(lambda s: statement(s, user.id))
        except Exception:
            await failed(message, texts.lang_of(user.language_code))
            return
        lang = _reply_language(members, user)
        url = app_url if blocks else None
        await answer(message, texts.statement_text(lang, blocks, url), lang)

    @router.message(Command("help"))
    async def help_cmd(message: Message) -> None:
        user = message.from_user
        lang = texts.lang_of(user.language_code if user else None)
        if user is not None:
            try:
                members = await in_db(lambda s: _memberships(s, user.id))
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
