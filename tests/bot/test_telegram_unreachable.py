"""A Telegram outage never ends the bot: started while the Bot API is unreachable, the bot retries
getMe with backoff (logged), and answers commands once Telegram is back."""

from __future__ import annotations

import contextlib
import json
import signal
import sys

from tests.bot.conftest import TOKEN
from tests.fakes.fake_telegram import FakeTelegram
from tests.support.processes import Proc, base_env, free_port, wait_until


def _events(proc: Proc, name: str) -> list[dict[str, object]]:
    out = []
    for line in proc.output().splitlines():
        if line.startswith("{") and f'"{name}"' in line:
            with contextlib.suppress(ValueError):
                out.append(json.loads(line))
    return out


def test_the_bot_waits_out_an_unreachable_telegram_and_then_polls() -> None:
    port = free_port()  # nothing listens here yet: connection refused, like an outage
    env = base_env(
        TELEGRAM_BOT_TOKEN=TOKEN,
        TELEGRAM_API_BASE=f"http://127.0.0.1:{port}",
        KOPILKA_BOT_POLL_INTERVAL="0.2",
    )
    bot = Proc("bot-outage", [sys.executable, "-m", "kopilka_bot"], env).start()
    try:
        wait_until(lambda: len(_events(bot, "telegram_unreachable")) >= 2, 90, "two failed tries")
        assert bot.alive, bot.output()
        tries = _events(bot, "telegram_unreachable")
        assert [t["attempt"] for t in tries[:2]] == [1, 2]
        assert float(tries[1]["retry_in"]) > float(tries[0]["retry_in"])  # backing off
        with FakeTelegram(token=TOKEN, port=port) as fake:
            wait_until(lambda: bool(fake.calls_to("getUpdates")), 90, "the bot polling again")
            assert bot.alive
            fake.push_message(from_user_id=424242, text="/help")
            fake.wait_for(lambda sent: any(m["chat_id"] == 424242 for m in sent), timeout=30)
            assert _events(bot, "bot_polling")
        assert bot.proc is not None
        bot.proc.send_signal(signal.SIGTERM)
        assert bot.proc.wait(timeout=30) == 0
    finally:
        bot.stop()
