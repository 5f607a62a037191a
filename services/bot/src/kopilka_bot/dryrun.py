"""The dry run: what the bot does without ``TELEGRAM_BOT_TOKEN``.

It logs, once per row per process, the message each PENDING notification would become, and
changes nothing in the database: no claims, no status. Nothing was delivered, so marking rows SENT
would lie, and marking them SKIPPED would lose them for a bot with a token configured later; they
stay PENDING and that bot delivers them. This module does not import aiogram, so ``make run``
without a token starts quickly.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Awaitable, Callable
from dataclasses import asdict
from typing import Any

from sqlalchemy import Engine
from sqlalchemy.exc import DBAPIError

from kopilka.logging import get_logger
from kopilka.notifications.outbox import Outbox
from kopilka_bot import texts

log = get_logger("kopilka.bot.dryrun")


class DryRun:
    """No token: log what would be sent, once per row per process; change nothing."""

    def __init__(
        self,
        engine: Engine | None = None,
        *,
        poll_interval: float = 1.0,
        emit: Callable[[dict[str, Any]], Awaitable[None] | None] | None = None,
    ) -> None:
        self.outbox = Outbox(engine)
        self.poll_interval = poll_interval
        self.emit = emit
        self._after = 0

    def _due_sync(self) -> list[dict[str, Any]]:
        rows = [asdict(row) for row in self.outbox.waiting(self._after)]
        for row in rows:
            row["language"] = row["language"] or texts.DEFAULT_LANGUAGE
        return rows

    async def poll_once(self) -> list[dict[str, Any]]:
        rows = await asyncio.to_thread(self._due_sync)
        out = []
        for row in rows:
            self._after = max(self._after, row["id"])
            try:
                row["text"] = texts.render(
                    row["kind"], row["payload"], row["language"], row["community"]
                )
            except Exception as exc:
                row["text"] = f"<cannot render: {exc}>"
            log.info(
                "dry_run_would_send",
                id=row["id"],
                chat_id=row["chat_id"],
                kind=row["kind"],
                text=row["text"],
            )
            if self.emit is not None:
                maybe = self.emit(row)
                if maybe is not None:
                    await maybe
            out.append(row)
        return out

    async def run(self, stop: asyncio.Event | None = None) -> None:
        stop = stop or asyncio.Event()
        log.warning(
            "bot_dry_run",
            reason="TELEGRAM_BOT_TOKEN is not set: logging messages instead of sending them",
        )
        while not stop.is_set():
            try:
                await self.poll_once()
            except DBAPIError as exc:
                log.warning("dry_run_db_error", error=str(exc)[:300])
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stop.wait(), self.poll_interval)
