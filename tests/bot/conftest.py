"""Fixtures of the bot tests: the fake Bot API on loopback, a Bot pointed at it, and direct SQL
helpers that commit (on ``sql`` of tests/api/_support.py: the sender works in its own
transactions, so test rows must be visible)."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Awaitable, Callable, Iterator
from typing import Any, TypeVar

import pytest

from tests.api._support import scalar, sql
from tests.conftest import unique_id
from tests.fakes.fake_telegram import FakeTelegram

TOKEN = "123456:TEST-TOKEN"  # what tests/conftest.py puts in TELEGRAM_BOT_TOKEN

T = TypeVar("T")


@pytest.fixture
def fake() -> Iterator[FakeTelegram]:
    with FakeTelegram(token=TOKEN) as server:
        yield server


@pytest.fixture
def fake_limited() -> Iterator[FakeTelegram]:
    """Telegram's limits: 30 messages a second overall, one a second per chat (429 beyond)."""
    with FakeTelegram(token=TOKEN, telegram_like=True) as server:
        yield server


def make_bot(fake: FakeTelegram, timeout: float = 5.0) -> Any:
    from aiogram import Bot
    from aiogram.client.session.aiohttp import AiohttpSession
    from aiogram.client.telegram import TelegramAPIServer

    session = AiohttpSession(api=TelegramAPIServer.from_base(fake.base_url), timeout=timeout)
    return Bot(TOKEN, session=session)


def with_bot(fake: FakeTelegram, body: Callable[[Any], Awaitable[T]]) -> T:
    """Run ``body(bot)`` in a fresh event loop and close the bot's HTTP session afterwards."""

    async def main() -> T:
        bot = make_bot(fake)
        try:
            return await body(bot)
        finally:
            await bot.session.close()

    return asyncio.run(main())


def make_sender(bot: Any, community_ids: list[int], **options: Any) -> Any:
    from kopilka_bot.sender import Sender

    opts: dict[str, Any] = {
        "global_rate": 200.0,
        "per_chat_interval": 0.0,
        "poll_interval": 0.05,
        "communities": community_ids,
    }
    opts.update(options)
    return Sender(bot, **opts)


# ---------------------------------------------------------------- direct SQL


def make_community(
    currency: str = "RUB", timezone: str = "Europe/Moscow", threshold_minor: int | None = None
) -> int:
    return int(
        scalar(
            "INSERT INTO communities (name, currency, timezone, default_strategy, "
            "auto_create_owners, debt_reminder_threshold_minor, version) "
            "VALUES (:n, :c, :tz, 'PROPORTIONAL', true, :t, 1) RETURNING id",
            n=f"Village {uuid.uuid4().hex[:8]}",
            c=currency,
            tz=timezone,
            t=threshold_minor,
        )
    )


def make_owner(
    community_id: int,
    *,
    telegram_id: int | None = -1,
    language: str = "en",
    name: str | None = None,
) -> tuple[int, int | None]:
    """An owner; returns (owner pk, telegram id). ``telegram_id=-1`` picks a fresh one."""
    chat = unique_id() if telegram_id == -1 else telegram_id
    pk = scalar(
        "INSERT INTO owners (community_id, owner_id, name, share_weight, telegram_id, language, "
        "is_active, version) VALUES (:c, :o, :n, 1, :t, :l, true, 1) RETURNING id",
        c=community_id,
        o=unique_id(),
        n=name,
        t=chat,
        l=language,
    )
    return int(pk), chat


def add_notification(
    community_id: int, owner_pk: int, kind: str, payload: dict[str, Any], key: str | None = None
) -> int:
    import json

    return int(
        scalar(
            "INSERT INTO notifications (community_id, owner_pk, kind, dedupe_key, payload, "
            "status, attempts) VALUES (:c, :o, :k, :d, CAST(:p AS jsonb), 'PENDING', 0) "
            "RETURNING id",
            c=community_id,
            o=owner_pk,
            k=kind,
            d=key or f"test:{uuid.uuid4().hex}",
            p=json.dumps(payload),
        )
    )


def receipt(
    amount_minor: int, currency: str = "RUB", period: str = "November 2025"
) -> dict[str, Any]:
    return {
        "contribution_id": unique_id(),
        "amount_minor": amount_minor,
        "currency": currency,
        "period_name": period,
        "date": "2025-11-12",
        "comment": None,
    }


def notification(notification_id: int) -> dict[str, Any]:
    rows = sql("SELECT * FROM notifications WHERE id = :i", i=notification_id)
    assert rows, f"notification {notification_id} missing"
    return dict(rows[0]._mapping)


def notifications_of(community_id: int, kind: str) -> list[Any]:
    """The community's notifications of one kind, oldest first: (owner_id, dedupe_key, payload)."""
    return sql(
        "SELECT o.owner_id, n.dedupe_key, n.payload FROM notifications n "
        "JOIN owners o ON o.id = n.owner_pk "
        "WHERE n.community_id = :c AND n.kind = :k ORDER BY n.id",
        c=community_id,
        k=kind,
    )


def plain(text_: str) -> str:
    """Text with no-break spaces as spaces: "1 000,00 ₽"."""
    return text_.replace("\u00a0", " ").replace("\u202f", " ")
