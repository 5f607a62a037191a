"""End to end: the API, the real Celery worker and relay, the bot process and the fake Bot API.

Closing a period with 200 linked owners gives each exactly one balance message, even though the
bot (``run_bot``, what ``python -m kopilka_bot`` runs) is stopped in the middle of sending them and
a new one takes over. And without a token ``python -m kopilka_bot`` only logs what it would send
(a real process, stopped with SIGTERM).
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal
import sys
import time
from typing import Any

import pytest

from kopilka.config import get_settings
from kopilka.money import human
from kopilka_bot.main import run_bot
from tests.bot.conftest import TOKEN, add_notification, make_community, make_owner, plain, sql
from tests.conftest import new_community, unique_id
from tests.fakes.fake_telegram import FakeTelegram
from tests.support.processes import Proc, base_env, wait_until

P = "/api/payments"
OWNERS = 200


def start_bot(env: dict[str, str]) -> Proc:
    bot = Proc("bot", [sys.executable, "-m", "kopilka_bot"], env).start()
    wait_until(lambda: "bot_start" in bot.output() or not bot.alive, 60, "the bot")
    assert bot.alive, bot.output()
    return bot


def stop_bot(bot: Proc) -> None:
    assert bot.proc is not None
    os.killpg(bot.proc.pid, signal.SIGTERM)
    assert bot.proc.wait(timeout=60) == 0, bot.output()[-3000:]


@pytest.mark.slow
@pytest.mark.usefixtures("worker_stack")
def test_close_with_200_owners_and_a_bot_restart(client: Any, fake: FakeTelegram) -> None:
    com = new_community(client)
    admin = com["headers"]
    r = client.post(
        f"{P}/periods",
        json={"name": "Ноябрь 2025", "start_date": "2025-11-01", "end_date": "2025-11-30"},
        headers=admin,
    )
    assert r.status_code == 201, r.text
    pid = r.json()["id"]
    chats: dict[int, str] = {}
    for i in range(OWNERS):
        chat, lang = unique_id(), ("ru" if i % 2 else "en")
        r = client.post(
            f"{P}/owners",
            json={"owner_id": unique_id(), "telegram_id": chat, "language": lang},
            headers=admin,
        )
        assert r.status_code == 201, r.text
        chats[chat] = lang
    r = client.post(
        f"{P}/periods/{pid}/expenses",
        json={"amount": str(37 * OWNERS) + ".00", "payment_type": "SECURITY", "date": "2025-11-03"},
        headers=admin,
    )
    assert r.status_code == 201, r.text

    r = client.post(f"{P}/periods/{pid}/close", headers={**admin, "Prefer": "wait=60"})
    assert r.status_code == 200, r.text
    job = r.json()
    assert job["status"] == "SUCCEEDED", job
    assert job["result"]["notifications"] == OWNERS

    rows = sql(
        "SELECT count(*), count(DISTINCT owner_pk) FROM notifications "
        "WHERE community_id = :c AND kind = 'period_closed' AND status = 'PENDING'",
        c=com["id"],
    )
    assert tuple(rows[0]) == (OWNERS, OWNERS)

    settings = get_settings().model_copy(
        update={
            "telegram_bot_token": TOKEN,
            "telegram_api_base": fake.base_url,
            "bot_global_rate": 60.0,
            "bot_poll_interval": 0.1,
        }
    )

    def mine() -> list[dict[str, Any]]:
        return [m for m in fake.sent if m["chat_id"] in chats]

    def sent_rows() -> int:
        return int(
            sql(
                "SELECT count(*) FROM notifications WHERE community_id = :c AND status = 'SENT'",
                c=com["id"],
            )[0][0]
        )

    async def bots() -> int:
        # The bot as `python -m kopilka_bot` runs it (polling and sender), scoped to this
        # community so rows other tests left behind stay out of the count.
        first = asyncio.create_task(run_bot(settings, polling_timeout=1, communities=[com["id"]]))
        await fake.wait_for_async(lambda _: len(mine()) >= 40, timeout=60)
        first.cancel()  # restarted in the middle of the sending
        with contextlib.suppress(asyncio.CancelledError):
            await first
        sent_by_first = len(mine())
        stop = asyncio.Event()
        second = asyncio.create_task(
            run_bot(settings, stop=stop, polling_timeout=1, communities=[com["id"]])
        )
        await fake.wait_for_async(lambda _: len(mine()) >= OWNERS, timeout=60)
        deadline = time.monotonic() + 20
        while sent_rows() < OWNERS and time.monotonic() < deadline:
            await asyncio.sleep(0.05)
        await asyncio.sleep(0.5)  # anything sent twice would show up by now
        stop.set()
        await asyncio.wait_for(second, 30)
        return sent_by_first

    sent_by_first = asyncio.run(bots())
    assert 40 <= sent_by_first < OWNERS, "the first bot finished before the restart"
    assert sent_rows() == OWNERS
    assert len(mine()) == OWNERS
    for chat, lang in chats.items():
        [message] = fake.messages_to(chat)
        text = plain(message["text"])
        assert plain(human(3700, "RUB", lang)) in text, text
        assert ("закрыт" if lang == "ru" else "is closed") in text
    recorded = dict(
        sql(
            "SELECT chat_id, telegram_message_id FROM notifications WHERE community_id = :c",
            c=com["id"],
        )
    )
    assert recorded == {chat: fake.messages_to(chat)[0]["message_id"] for chat in chats}


@pytest.mark.slow
def test_without_a_token_the_bot_only_logs(fake: FakeTelegram) -> None:
    c = make_community()
    pk, chat = make_owner(c, language="ru")
    nid = add_notification(
        c,
        pk,
        "contribution_receipt",
        {"amount_minor": 4200, "currency": "RUB", "period_name": "Ноябрь", "date": "2025-11-01"},
    )
    env = base_env(TELEGRAM_BOT_TOKEN="", TELEGRAM_API_BASE=fake.base_url)
    bot = start_bot(env)
    try:
        wait_until(lambda: f'"id": {nid}' in bot.output(), 30, "the dry run to log the row")
    finally:
        stop_bot(bot)
    out = bot.output()
    assert "dry_run_would_send" in out and "bot_dry_run" in out
    line = next(x for x in out.splitlines() if f'"id": {nid}' in x)
    assert "42,00" in line and str(chat) in line
    assert fake.sent == []
    assert sql("SELECT status FROM notifications WHERE id = :i", i=nid)[0][0] == "PENDING"
