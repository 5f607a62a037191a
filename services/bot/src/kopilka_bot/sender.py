"""The sender loop: drains the outbox into Telegram.

The rows and their lifecycle (claim under a lease with SKIP LOCKED, in flight, sent, release,
retry, fail, skip, blocked) are ``kopilka.notifications.outbox``; this module is the Telegram side
of it: render each claimed row in the owner's language, wait for its chat and a global slot, send,
and tell the outbox how it went.

One row: **claim** (the outbox leases due rows, only the oldest of each chat, so a chat's
messages go out in order); **wait for the chat** (at least ``per_chat_interval`` since the last
message to it ended); **mark in flight** (a row whose lease another claimer took is dropped here,
before anything is sent); **take a global slot** (``global_rate`` per second) right before the
request, so requests leave as evenly spaced as the slots; a stop while waiting hands the row back
unsent; **send**, then **record** SENT with the Telegram message id (retried if the database
hiccups).

Outcomes: 429 -> the chat *and* the whole sender pause for ``retry_after`` (Telegram does not say
whether a flood limit is per chat or per bot, and we already keep the per-chat pace, so a 429 is
treated as bot-wide), the row goes back to PENDING due after ``retry_after`` without counting the
attempt, and is sent then; 403 -> the outbox marks every owner with that chat unreachable (audited)
and skips their rows (``kopilka.notifications.service.enqueue`` refuses unreachable owners); 5xx or
a network error -> exponential backoff of the row (the outbox's) and a short bot-wide pause that
grows while Telegram keeps failing; FAILED after ``max_attempts``; other 4xx (bad request, chat
not found) -> FAILED at once, the reason in ``error``.

Rate limiting
-------------
A small pacer of our own (a token bucket with a capacity of one token, i.e. evenly spaced slots)
and a per-chat "not before" table. No rate-limiting library is a dependency of the bot
(``aiolimiter`` is not installed and dependencies are not ours to add), and a capacity-one bucket
is what a sliding one-second window such as Telegram's needs: a bigger burst would let
``capacity + rate`` messages into one second. One sender process is the intended deployment; two
are safe (SKIP LOCKED, leases, fences) but each keeps its own pace.

Never twice, at least once: the remaining window
------------------------------------------------
A row is sent only by the claimer holding its lease (fenced when marked in flight), and the lease
(default 120 s) is far longer than the HTTP timeout of a send (default 20 s). Stopping the sender
(``stop`` event or cancelling its task) lets every sendMessage already started finish and be
recorded, and hands rows that were claimed but not started straight back (PENDING, due now), so a
restart neither resends nor loses anything.

What remains is a hard crash (SIGKILL, power loss, the database unreachable for longer than the
record retries) after Telegram accepted a message and before SENT was committed: milliseconds per
message. Telegram's sendMessage has no idempotency key and the Bot API cannot list what was sent,
so the bot cannot tell afterwards whether such a message arrived. The row still says "in flight"
when its lease expires; the next claim logs it as ``notification_outcome_unknown`` and, by
default (``resend_unknown=True``), sends it again: we choose at-least-once, because a lost receipt
or balance is worse than a rare duplicate of it. ``resend_unknown=False`` chooses at-most-once
instead (the row becomes SKIPPED, "outcome unknown"). The same applies to a network error or
timeout after the request left (the response was lost): the row is retried. Rows claimed but never
started carry no "in flight" mark and are resent without doubt.

Dry run
-------
Without ``TELEGRAM_BOT_TOKEN`` the bot does not send at all: see :mod:`kopilka_bot.dryrun`.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any, TypeVar

from aiogram import Bot
from aiogram.enums import ParseMode
from aiogram.exceptions import (
    TelegramAPIError,
    TelegramForbiddenError,
    TelegramNetworkError,
    TelegramRetryAfter,
    TelegramServerError,
    TelegramUnauthorizedError,
)
from aiogram.types import BufferedInputFile, InlineKeyboardMarkup, LinkPreviewOptions
from sqlalchemy import Engine
from sqlalchemy.exc import DBAPIError

from kopilka.config import Settings, get_settings
from kopilka.invoices.service import period_payment_png
from kopilka.logging import get_logger
from kopilka.notifications.outbox import Claimed, Outbox
from kopilka.notifications.status import Kind
from kopilka.statements.delivery import STATEMENT_PDF, statement_document
from kopilka_bot import texts

log = get_logger("kopilka.bot.sender")

T = TypeVar("T")


# ---------------------------------------------------------------- rate limiting


class Pacer:
    """Evenly spaced slots, ``rate`` per second (a token bucket holding one token), with a pause
    that a 429 or an outage can extend. Waiters are served in arrival order."""

    def __init__(self, rate: float) -> None:
        if rate <= 0:
            raise ValueError("rate must be positive")
        self.interval = 1.0 / rate
        self._next = 0.0
        self._paused_until = 0.0
        self._lock = asyncio.Lock()

    def pause(self, seconds: float) -> None:
        self._paused_until = max(self._paused_until, time.monotonic() + seconds)

    @property
    def paused_for(self) -> float:
        return max(0.0, self._paused_until - time.monotonic())

    async def acquire(self, abort: asyncio.Event | None = None) -> bool:
        """Wait for the next slot; False (no slot taken) if ``abort`` is set first."""
        async with self._lock:
            while True:
                if abort is not None and abort.is_set():
                    return False
                now = time.monotonic()
                at = max(self._next, self._paused_until)
                if at <= now:
                    break
                if abort is None:
                    await asyncio.sleep(at - now)
                else:
                    with contextlib.suppress(TimeoutError):
                        await asyncio.wait_for(abort.wait(), at - now)
            self._next = now + self.interval
            return True


class ChatSpacer:
    """At least ``interval`` seconds between the end of one message to a chat and the next;
    a 429 can push a chat further out."""

    def __init__(self, interval: float) -> None:
        self.interval = interval
        self._not_before: dict[int, float] = {}

    def done(self, chat_id: int) -> None:
        now = time.monotonic()
        self._not_before[chat_id] = max(self._not_before.get(chat_id, 0.0), now + self.interval)
        if len(self._not_before) > 10_000:  # forget chats whose spacing has long passed
            self._not_before = {c: t for c, t in self._not_before.items() if t > now}

    def pause(self, chat_id: int, seconds: float) -> None:
        until = time.monotonic() + seconds
        self._not_before[chat_id] = max(self._not_before.get(chat_id, 0.0), until)

    async def wait(self, chat_id: int) -> None:
        while (delay := self._not_before.get(chat_id, 0.0) - time.monotonic()) > 0:
            await asyncio.sleep(delay)


# ---------------------------------------------------------------- counts


@dataclass
class Counters:
    claimed: int = 0
    sent: int = 0
    retry_after: int = 0
    blocked: int = 0
    failed: int = 0
    retried: int = 0
    released: int = 0
    lost_lease: int = 0
    outcome_unknown: int = 0


# ---------------------------------------------------------------- the sender


class Sender:
    """Claims due notification rows, renders them in the owner's language and sends them
    within Telegram's limits. See the module docstring for the guarantees.

    ``communities`` restricts the sender to some communities (tests, sharding); None sends all.
    """

    def __init__(
        self,
        bot: Bot,
        engine: Engine | None = None,
        *,
        global_rate: float = 28.0,
        per_chat_interval: float = 1.0,
        poll_interval: float = 0.5,
        max_in_flight: int | None = None,
        lease_seconds: float = 120.0,
        max_attempts: int = 12,
        backoff_base: float = 2.0,
        backoff_cap: float = 600.0,
        resend_unknown: bool = True,
        app_url: str | None = None,
        communities: Sequence[int] | None = None,
        shutdown_timeout: float = 30.0,
    ) -> None:
        self.bot = bot
        self.engine = engine
        self.outbox = Outbox(
            engine,
            lease_seconds=lease_seconds,
            max_attempts=max_attempts,
            backoff_base=backoff_base,
            backoff_cap=backoff_cap,
            communities=communities,
        )
        self.pacer = Pacer(global_rate)
        self.spacer = ChatSpacer(per_chat_interval)
        self.poll_interval = poll_interval
        self.max_in_flight = max_in_flight or max(4, int(global_rate * 2))
        self.resend_unknown = resend_unknown
        self.app_url = app_url
        self.shutdown_timeout = shutdown_timeout
        self.counters = Counters()
        self._tasks: set[asyncio.Task[None]] = set()
        self._critical: set[asyncio.Task[None]] = set()
        self._trouble = 0  # consecutive 5xx / network failures
        self._stopping = asyncio.Event()

    @classmethod
    def from_settings(
        cls, bot: Bot, settings: Settings | None = None, engine: Engine | None = None, **kw: Any
    ) -> Sender:
        s = settings or get_settings()
        opts: dict[str, Any] = {
            "global_rate": s.bot_global_rate,
            "per_chat_interval": s.bot_per_chat_interval,
            "poll_interval": s.bot_poll_interval,
            "app_url": texts.mini_app_url(s),
        }
        opts.update(kw)
        return cls(bot, engine, **opts)

    # ------------------------------------------------------------ loop

    async def run(self, stop: asyncio.Event | None = None) -> None:
        """Send until ``stop`` is set or the task is cancelled; either way, messages already
        being sent are finished and recorded, and claimed rows not yet started are released."""
        stop = stop or asyncio.Event()
        self._stopping = asyncio.Event()
        try:
            await self._loop(stop)
        finally:
            await self._shutdown()

    async def drain(self, timeout: float = 30.0, horizon: float = 5.0) -> None:
        """Send until nothing is in flight and no row is due within ``horizon`` seconds (a row
        waiting out a 429 counts; one backing off for longer does not). For tests and one-off
        runs."""
        stop = asyncio.Event()
        runner = asyncio.create_task(self.run(stop))
        deadline = time.monotonic() + timeout
        try:
            idle_since: float | None = None
            while time.monotonic() < deadline:
                await asyncio.sleep(0.05)
                if runner.done():
                    break
                busy = bool(self._tasks) or await self._db(self.outbox.due_count, horizon) > 0
                if busy:
                    idle_since = None
                elif idle_since is None:
                    idle_since = time.monotonic()
                elif time.monotonic() - idle_since > 0.2:
                    break
            else:
                raise TimeoutError(f"sender not idle after {timeout}s: {self.counters}")
        finally:
            stop.set()
            await runner

    async def _loop(self, stop: asyncio.Event) -> None:
        stopped = asyncio.ensure_future(stop.wait())
        db_failures = 0
        try:
            while not stop.is_set():
                free = self.max_in_flight - len(self._tasks)
                got = 0
                pause = self.poll_interval
                if free > 0 and (not self._tasks or free >= self.max_in_flight // 2):
                    try:
                        rows = await self._claim(free)
                    except DBAPIError as exc:  # the database is away: wait, never crash
                        db_failures += 1
                        pause = min(30.0, self.poll_interval * 2**db_failures)
                        log.warning("notification_claim_failed", error=str(exc)[:300])
                        rows = []
                    else:
                        db_failures = 0
                    got = len(rows)
                    for row in rows:
                        self._spawn(row)
                if got and got == free:
                    continue
                waiting: set[asyncio.Future[Any]] = {stopped, *self._tasks}
                await asyncio.wait(waiting, timeout=pause, return_when=asyncio.FIRST_COMPLETED)
        finally:
            stopped.cancel()

    def _spawn(self, row: Claimed) -> None:
        task = asyncio.create_task(self._deliver(row), name=f"notification-{row.id}")
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def _shutdown(self) -> None:
        self._stopping.set()
        for task in list(self._tasks):
            task.cancel()
        if self._tasks:
            await asyncio.gather(*list(self._tasks), return_exceptions=True)
        if self._critical:
            _, pending = await asyncio.wait(list(self._critical), timeout=self.shutdown_timeout)
            for task in pending:  # a send hung past the timeout: its lease will expire
                log.error("notification_send_abandoned", task=task.get_name())
                task.cancel()

    # ------------------------------------------------------------ one row

    async def _deliver(self, row: Claimed) -> None:
        try:
            await self._deliver_row(row)
        except asyncio.CancelledError:
            raise
        except Exception:
            # Most likely the database is away; the row keeps its lease and is claimed again
            # when the lease expires.
            log.exception("notification_delivery_error", id=row.id)

    async def _deliver_row(self, row: Claimed) -> None:
        lang = row.language or texts.DEFAULT_LANGUAGE
        try:
            text = texts.render(row.kind, row.payload, lang, row.community)
        except Exception as exc:
            log.error("notification_render_failed", id=row.id, kind=row.kind, error=str(exc))
            self.counters.failed += 1
            await self._db(self.outbox.fail, row, f"cannot render: {exc}")
            return
        if row.outcome_unknown:
            self.counters.outcome_unknown += 1
            log.warning(
                "notification_outcome_unknown",
                id=row.id,
                chat_id=row.chat_id,
                resend=self.resend_unknown,
                previous=row.previous_error,
            )
            if not self.resend_unknown:
                await self._db(
                    self.outbox.skip, row, "outcome unknown: an earlier send may have arrived"
                )
                return
        try:
            await self.spacer.wait(row.chat_id)
        except asyncio.CancelledError:
            await self._release_unstarted(row)
            raise
        if self._stopping.is_set():
            await self._release_unstarted(row)
            return
        attempt = asyncio.create_task(self._attempt(row, text, lang), name=f"send-{row.id}")
        self._critical.add(attempt)
        attempt.add_done_callback(self._attempt_done)
        with contextlib.suppress(Exception):  # logged by _attempt_done
            await asyncio.shield(attempt)

    def _attempt_done(self, task: asyncio.Task[None]) -> None:
        self._critical.discard(task)
        if not task.cancelled() and (exc := task.exception()) is not None:
            # Most likely the database is away; the row keeps its lease and is claimed again
            # when the lease expires.
            log.error("notification_attempt_error", task=task.get_name(), error=repr(exc)[:300])

    async def _release_unstarted(self, row: Claimed) -> None:
        """Hand a claimed row that was never sent straight back: PENDING, due now, with the
        error it had before this claim (an earlier unknown outcome stays known as such)."""
        self.counters.released += 1
        await self._db(self.outbox.release, row, 0.0, row.previous_error)

    async def _attempt(self, row: Claimed, text: str, lang: str) -> None:
        """Mark, take a global slot, send, record: runs to its end even when the sender is
        stopped, except that a stop while waiting for the slot hands the row back unsent. The
        slot is taken after the database write, right before the request, so the requests leave
        as evenly spaced as the slots (Telegram counts arrivals in a sliding second)."""
        if not await self._db(self.outbox.mark_in_flight, row):
            self.counters.lost_lease += 1
            log.warning("notification_lease_lost", id=row.id, attempt=row.attempt)
            return
        if not await self.pacer.acquire(abort=self._stopping):
            await self._release_unstarted(row)
            return
        try:
            message_id = await self._send(row, text, lang)
        except TelegramRetryAfter as exc:
            wait = float(exc.retry_after)
            self.counters.retry_after += 1
            self.spacer.pause(row.chat_id, wait)
            self.pacer.pause(wait)
            log.warning("telegram_retry_after", id=row.id, chat_id=row.chat_id, seconds=wait)
            await self._db(self.outbox.release, row, wait, f"429: retry after {wait:g} s")
        except TelegramForbiddenError as exc:
            self.counters.blocked += 1
            log.info("telegram_forbidden", id=row.id, chat_id=row.chat_id, error=exc.message)
            await self._db(self.outbox.blocked, row, f"403: {exc.message}")
        except TelegramUnauthorizedError as exc:
            # The token is wrong: nothing can be sent; keep the row and look again later.
            self.pacer.pause(60.0)
            log.error("telegram_unauthorized", error=exc.message)
            await self._db(self.outbox.release, row, 60.0, f"401: {exc.message}")
        except (TelegramServerError, TelegramNetworkError) as exc:
            self._trouble += 1
            self.pacer.pause(min(30.0, 0.5 * 2 ** (self._trouble - 1)))
            log.warning("telegram_unavailable", id=row.id, error=str(exc), streak=self._trouble)
            await self._retry(row, f"{type(exc).__name__}: {exc}")
        except TelegramAPIError as exc:
            self.counters.failed += 1
            log.warning("telegram_rejected", id=row.id, chat_id=row.chat_id, error=exc.message)
            await self._db(self.outbox.fail, row, f"{type(exc).__name__}: {exc.message}")
        except Exception as exc:
            log.exception("notification_send_error", id=row.id)
            await self._retry(row, f"{type(exc).__name__}: {exc}")
        else:
            self._trouble = 0
            self.counters.sent += 1
            await self._record_sent(row, message_id)
        finally:
            self.spacer.done(row.chat_id)

    async def _send(self, row: Claimed, text: str, lang: str) -> int:
        markup: InlineKeyboardMarkup | None = texts.app_keyboard(self.app_url, lang)
        if row.kind == STATEMENT_PDF:
            # the owner's statement as a PDF, rendered now by kopilka (its words in their language)
            name, pdf = await self._db(
                statement_document,
                int(row.payload["community_id"]),
                int(row.payload["owner_id"]),
                self.engine,
            )
            sent = await self.bot.send_document(
                chat_id=row.chat_id,
                document=BufferedInputFile(pdf, filename=name),
                caption=text,
                parse_mode=ParseMode.HTML,
                reply_markup=markup,
            )
            return int(sent.message_id)
        if row.kind == Kind.PERIOD_CLOSED and row.owner_pk is not None:
            # the invoice's payment QR (GOST R 56042-2014) as a photo, the message its caption:
            # one message, so exactly once as any other
            png = await self._db(
                period_payment_png, row.owner_pk, int(row.payload["period_id"]), self.engine
            )
            caption = f"{text}\n{texts.scan_to_pay(lang)}" if png is not None else text
            if png is not None and len(caption) <= texts.CAPTION_MAX:
                photo = await self.bot.send_photo(
                    chat_id=row.chat_id,
                    photo=BufferedInputFile(png, filename="payment-qr.png"),
                    caption=caption,
                    parse_mode=ParseMode.HTML,
                    reply_markup=markup,
                )
                return int(photo.message_id)
        message = await self.bot.send_message(
            chat_id=row.chat_id,
            text=text,
            parse_mode=ParseMode.HTML,
            reply_markup=markup,
            link_preview_options=LinkPreviewOptions(is_disabled=True),
        )
        return int(message.message_id)

    async def _record_sent(self, row: Claimed, message_id: int) -> None:
        """Telegram has the message: record it, retrying through a database hiccup, since a row
        left "in flight" is the one case that can be sent twice."""
        delay = 0.2
        deadline = time.monotonic() + self.outbox.lease_seconds / 2
        while True:
            try:
                if not await self._db(self.outbox.sent, row, message_id):
                    log.error("notification_sent_twice", id=row.id, chat_id=row.chat_id)
                return
            except DBAPIError as exc:
                if time.monotonic() + delay > deadline:
                    log.error("notification_record_failed", id=row.id, error=str(exc)[:300])
                    return
                await asyncio.sleep(delay)
                delay = min(delay * 2, 5.0)

    async def _retry(self, row: Claimed, error: str) -> None:
        """A transient failure: the outbox backs the row off, or gives up after max_attempts."""
        if await self._db(self.outbox.retry, row, error):
            self.counters.failed += 1
        else:
            self.counters.retried += 1

    # ------------------------------------------------------------ the outbox (sync, in a thread)

    async def _db(self, fn: Callable[..., T], *args: Any) -> T:
        """Run a database step in a thread, to its end even if the caller is cancelled."""
        future = asyncio.ensure_future(asyncio.to_thread(fn, *args))
        try:
            return await asyncio.shield(future)
        except asyncio.CancelledError:
            await asyncio.wait([future])
            raise

    async def _claim(self, limit: int) -> list[Claimed]:
        future = asyncio.ensure_future(asyncio.to_thread(self.outbox.claim, limit))
        try:
            rows = await asyncio.shield(future)
        except asyncio.CancelledError:
            await asyncio.wait([future])
            if not future.cancelled() and future.exception() is None:
                for row in future.result():
                    await asyncio.to_thread(self.outbox.release, row, 0.0, None)
            raise
        self.counters.claimed += len(rows)
        return rows
