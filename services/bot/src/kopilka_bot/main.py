"""The bot process: ``python -m kopilka_bot``.

With ``TELEGRAM_BOT_TOKEN`` it polls for commands and runs the sender loop side by side, against
``TELEGRAM_API_BASE`` (the real Bot API, or the fake one on loopback in tests and demos). Without a
token it runs the dry run (:mod:`kopilka_bot.dryrun`): it logs the message every pending
notification would become and changes nothing, so a bot started later with a token still delivers
them. SIGINT/SIGTERM stop it gracefully: sends in progress finish and are recorded, claimed rows
not yet sent are handed back, then the process exits.

aiogram is imported only in the token mode (it takes seconds to import), so the dry run of
``make run`` starts at once.
"""

from __future__ import annotations

import asyncio
import contextlib
import signal
from collections.abc import Awaitable
from typing import TYPE_CHECKING, Any, TypeVar

from sqlalchemy import Engine

from kopilka import heartbeat
from kopilka.config import Settings, get_settings
from kopilka.logging import configure_logging, get_logger
from kopilka_bot import texts
from kopilka_bot.dryrun import DryRun

if TYPE_CHECKING:
    from aiogram import Bot, Dispatcher

log = get_logger("kopilka.bot")

T = TypeVar("T")

SEND_TIMEOUT = 20.0  # seconds per Bot API request; far below the sender's lease


def make_bot(settings: Settings | None = None, *, timeout: float = SEND_TIMEOUT) -> Bot:
    """A Bot on ``TELEGRAM_API_BASE`` with HTML as the default parse mode."""
    from aiogram import Bot
    from aiogram.client.default import DefaultBotProperties
    from aiogram.client.session.aiohttp import AiohttpSession
    from aiogram.client.telegram import TelegramAPIServer
    from aiogram.enums import ParseMode

    s = settings or get_settings()
    session = AiohttpSession(api=TelegramAPIServer.from_base(s.telegram_api_base), timeout=timeout)
    return Bot(
        s.telegram_bot_token,
        session=session,
        default=DefaultBotProperties(parse_mode=ParseMode.HTML),
    )


def make_dispatcher(engine: Engine | None = None, settings: Settings | None = None) -> Dispatcher:
    from aiogram import Dispatcher

    from kopilka_bot.admin_commands import make_admin_router
    from kopilka_bot.commands import make_router

    dp = Dispatcher()
    dp.include_router(make_admin_router(engine, settings))  # before the owners' catch-all help
    dp.include_router(make_router(engine, settings))
    return dp


async def set_commands(bot: Bot) -> None:
    """The command menu, in English by default and in Russian for Russian clients."""
    from aiogram.types import BotCommand

    for lang, commands in texts.COMMANDS.items():
        await bot.set_my_commands(
            [BotCommand(command=c, description=d) for c, d in commands],
            language_code=None if lang == "en" else lang,
        )


POLL_BACKOFF_FIRST = 1.0
POLL_BACKOFF_CAP = 60.0


async def poll_forever(
    dp: Dispatcher,
    bot: Bot,
    stop: asyncio.Event,
    *,
    polling_timeout: int = 10,
    backoff_first: float = POLL_BACKOFF_FIRST,
    backoff_cap: float = POLL_BACKOFF_CAP,
) -> None:
    """Answer commands until ``stop``, whatever Telegram does: getMe and polling are retried with
    exponential backoff (capped) for ever when Telegram is unreachable (DNS, outage, 5xx), so a
    Telegram outage never ends the bot process (nor, through it, anything else)."""
    delay = backoff_first
    attempt = 0
    while not stop.is_set():
        attempt += 1
        try:
            me = await _unless_stopped(bot.me(), stop)
            if me is None:
                return
            log.info("bot_polling", username=me.username, attempt=attempt)
            delay = backoff_first  # reached Telegram: the next failure starts over
            await dp.start_polling(
                bot,
                handle_signals=False,
                close_bot_session=False,
                polling_timeout=polling_timeout,
            )
            if stop.is_set():
                return
            log.warning("bot_polling_ended", attempt=attempt)
        except asyncio.CancelledError:
            raise
        except Exception as exc:
            log.warning(
                "telegram_unreachable",
                error=f"{type(exc).__name__}: {str(exc)[:200]}",
                attempt=attempt,
                retry_in=round(delay, 1),
            )
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(stop.wait(), timeout=delay)
        delay = min(delay * 2, backoff_cap)


async def _unless_stopped(call: Awaitable[T], stop: asyncio.Event) -> T | None:
    """``await call``, or None as soon as ``stop`` is set (the call is cancelled)."""
    task = asyncio.ensure_future(call)
    stopped = asyncio.ensure_future(stop.wait())
    try:
        await asyncio.wait({task, stopped}, return_when=asyncio.FIRST_COMPLETED)
    finally:
        stopped.cancel()
    if task.done():
        return task.result()
    task.cancel()
    with contextlib.suppress(asyncio.CancelledError, Exception):
        await task
    return None


async def run_bot(
    settings: Settings | None = None,
    *,
    stop: asyncio.Event | None = None,
    engine: Engine | None = None,
    polling_timeout: int = 10,
    **sender_options: Any,
) -> None:
    """Commands and the sender until ``stop`` is set or the task is cancelled; either way the
    sender finishes what it started before this returns."""
    s = settings or get_settings()
    stop = stop or asyncio.Event()
    if not s.telegram_bot_token:
        await DryRun(engine, poll_interval=max(s.bot_poll_interval, 1.0)).run(stop)
        return
    from kopilka_bot.sender import Sender

    bot = make_bot(s)
    dp = make_dispatcher(engine, s)
    sender = Sender.from_settings(bot, s, engine, **sender_options)
    try:
        try:
            await set_commands(bot)
        except Exception as exc:  # the menu is a nicety; never a reason not to start
            log.warning("set_commands_failed", error=str(exc))
        polling = asyncio.create_task(
            poll_forever(dp, bot, stop, polling_timeout=polling_timeout), name="polling"
        )
        sending = asyncio.create_task(sender.run(stop), name="sender")
        stopped = asyncio.create_task(stop.wait(), name="stop")
        try:
            done, _ = await asyncio.wait(
                {polling, sending, stopped}, return_when=asyncio.FIRST_COMPLETED
            )
            for task in done:
                if task is not stopped and task.exception() is not None:
                    log.error("bot_task_failed", task=task.get_name(), error=str(task.exception()))
        finally:
            # Also on cancellation: the sender stops claiming, finishes the sends in flight,
            # hands back what it claimed but did not start, and only then do we return.
            stop.set()
            with contextlib.suppress(RuntimeError):
                await dp.stop_polling()
            for task in (polling, sending, stopped):
                with contextlib.suppress(asyncio.CancelledError, Exception):
                    await task
    finally:
        await bot.session.close()


def main() -> None:
    settings = get_settings()
    configure_logging(settings.log_level, settings.log_json)

    async def _main() -> None:
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGINT, signal.SIGTERM):
            with contextlib.suppress(NotImplementedError):
                loop.add_signal_handler(sig, stop.set)
        log.info(
            "bot_start",
            api=settings.telegram_api_base,
            mode="send" if settings.telegram_bot_token else "dry-run",
        )
        heartbeat.start_thread("bot")
        await run_bot(settings, stop=stop)
        log.info("bot_stopped")

    asyncio.run(_main())
