"""The fake Bot API server, exercised through aiogram itself (what the bot service uses)."""

from __future__ import annotations

import asyncio
import json
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Awaitable, Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from aiogram import Bot
from aiogram.client.session.aiohttp import AiohttpSession
from aiogram.client.telegram import TelegramAPIServer
from aiogram.exceptions import (
    TelegramBadRequest,
    TelegramForbiddenError,
    TelegramNotFound,
    TelegramRetryAfter,
    TelegramServerError,
    TelegramUnauthorizedError,
)
from aiogram.methods import TelegramMethod
from aiogram.types import (
    BotCommand,
    InlineKeyboardButton,
    InlineKeyboardMarkup,
    MenuButtonWebApp,
    WebAppInfo,
)

from tests.fakes.fake_telegram import FakeTelegram

TOKEN = "123456:TEST-token"
REPO = Path(__file__).resolve().parents[2]


@pytest.fixture
def fake() -> Iterator[FakeTelegram]:
    with FakeTelegram(token=TOKEN) as server:
        yield server


class QuickCloseSession(AiohttpSession):
    """aiogram's own session; only close() skips the 250 ms grace sleep meant for TLS."""

    async def close(self) -> None:
        if self._session is not None and not self._session.closed:
            await self._session.close()


def run_with_bot(
    fake: FakeTelegram, scenario: Callable[[Bot], Awaitable[Any]], token: str = TOKEN
) -> Any:
    async def main() -> Any:
        session = QuickCloseSession(api=TelegramAPIServer.from_base(fake.base_url))
        async with Bot(token, session=session) as bot:
            return await scenario(bot)

    return asyncio.run(main())


def test_get_me(fake: FakeTelegram) -> None:
    me = run_with_bot(fake, lambda bot: bot.get_me())
    assert me.is_bot is True
    assert me.username == "kopilka_test_bot"
    assert me.id == 123456


def test_wrong_token_is_unauthorized(fake: FakeTelegram) -> None:
    with pytest.raises(TelegramUnauthorizedError):
        run_with_bot(fake, lambda bot: bot.get_me(), token="999:wrong")


def test_unknown_method_is_not_found(fake: FakeTelegram) -> None:
    class SendDice(TelegramMethod[bool]):
        __returning__ = bool
        __api_method__ = "sendTeleportation"

    with pytest.raises(TelegramNotFound, match="method not found"):
        run_with_bot(fake, lambda bot: bot(SendDice()))


def test_send_message_is_returned_and_recorded(fake: FakeTelegram) -> None:
    async def scenario(bot: Bot) -> Any:
        first = await bot.send_message(42, "Balance: <b>-1 500.00</b>", parse_mode="HTML")
        second = await bot.send_message(42, "again")
        other = await bot.send_message(7, "hello")
        return first, second, other

    first, second, other = run_with_bot(fake, scenario)
    assert first.text == "Balance: <b>-1 500.00</b>"
    assert first.chat.id == 42
    assert first.chat.type == "private"
    assert first.from_user is not None and first.from_user.is_bot
    assert (first.message_id, second.message_id, other.message_id) == (1, 2, 1)

    sent = fake.sent
    assert [(m["chat_id"], m["text"], m["message_id"]) for m in sent] == [
        (42, "Balance: <b>-1 500.00</b>", 1),
        (42, "again", 2),
        (7, "hello", 1),
    ]
    assert sent[0]["parse_mode"] == "HTML"
    assert sent[1]["parse_mode"] is None
    assert fake.texts_to(7) == ["hello"]
    assert [m["message_id"] for m in fake.messages_to(42)] == [1, 2]
    assert sent[0]["at"] <= sent[1]["at"] <= time.monotonic()


def test_web_app_button_round_trips(fake: FakeTelegram) -> None:
    url = "https://kopilka.test/app?c=1"
    markup = InlineKeyboardMarkup(
        inline_keyboard=[[InlineKeyboardButton(text="Open", web_app=WebAppInfo(url=url))]]
    )
    message = run_with_bot(fake, lambda bot: bot.send_message(5, "menu", reply_markup=markup))
    assert message.reply_markup is not None
    button = message.reply_markup.inline_keyboard[0][0]
    assert button.text == "Open"
    assert button.web_app is not None and button.web_app.url == url
    assert fake.sent[0]["reply_markup"] == {
        "inline_keyboard": [[{"text": "Open", "web_app": {"url": url}}]]
    }


def test_forced_retry_after_raises_and_is_not_recorded(fake: FakeTelegram) -> None:
    fake.force_retry_after(42, seconds=3)

    async def scenario(bot: Bot) -> Any:
        await bot.send_message(7, "other chat is not affected")
        with pytest.raises(TelegramRetryAfter) as caught:
            await bot.send_message(42, "first try")
        await bot.send_message(42, "second try")
        return caught.value

    error = run_with_bot(fake, scenario)
    assert error.retry_after == 3
    assert fake.texts_to(42) == ["second try"]
    assert fake.rejected_429 == 1
    assert fake.rejected[0]["text"] == "first try"


def test_blocked_chat_is_forbidden(fake: FakeTelegram) -> None:
    fake.block_chat(99)
    with pytest.raises(TelegramForbiddenError, match="blocked by the user"):
        run_with_bot(fake, lambda bot: bot.send_message(99, "hi"))
    assert fake.sent == []
    assert [(r["chat_id"], r["status"]) for r in fake.rejected] == [(99, 403)]
    fake.unblock_chat(99)
    run_with_bot(fake, lambda bot: bot.send_message(99, "hi"))
    assert fake.texts_to(99) == ["hi"]


def test_server_error_then_recovery(fake: FakeTelegram) -> None:
    fake.fail_next(2)

    async def scenario(bot: Bot) -> None:
        for _ in range(2):
            with pytest.raises(TelegramServerError):
                await bot.send_message(1, "x")
        await bot.send_message(1, "y")

    run_with_bot(fake, scenario)
    assert fake.texts_to(1) == ["y"]
    assert [r["status"] for r in fake.rejected] == [500, 500]
    assert fake.rejected_429 == 0


def test_bad_html_is_rejected_like_telegram(fake: FakeTelegram) -> None:
    async def scenario(bot: Bot) -> None:
        for text in ("1 < 2", "a<br>b", "<b>open", "AT&T", "<b>x</i>"):
            with pytest.raises(TelegramBadRequest, match="can't parse entities"):
                await bot.send_message(1, text, parse_mode="HTML")
        await bot.send_message(1, '1 &lt; 2 &amp; <a href="https://x.test/?a=1&amp;b=2">x</a>')
        await bot.send_message(1, "1 < 2 & no parse mode")

    run_with_bot(fake, scenario)
    assert len(fake.sent) == 2


def test_get_updates_offset_semantics(fake: FakeTelegram) -> None:
    first = fake.push_message(1001, "/start TOKEN123", language_code="ru", first_name="Олег")
    second = fake.push_message(1002, "hello")

    async def scenario(bot: Bot) -> Any:
        everything = await bot.get_updates()
        again = await bot.get_updates()  # nothing confirmed yet
        after_first = await bot.get_updates(offset=everything[0].update_id + 1)
        after_all = await bot.get_updates(offset=everything[-1].update_id + 1)
        return everything, again, after_first, after_all

    everything, again, after_first, after_all = run_with_bot(fake, scenario)
    assert [u.update_id for u in everything] == [first["update_id"], second["update_id"]]
    assert [u.update_id for u in again] == [first["update_id"], second["update_id"]]
    assert [u.update_id for u in after_first] == [second["update_id"]]
    assert after_all == []

    message = everything[0].message
    assert message.text == "/start TOKEN123"
    assert message.chat.id == 1001 and message.chat.type == "private"
    assert message.from_user.id == 1001 and message.from_user.language_code == "ru"
    assert message.from_user.first_name == "Олег"
    command = message.entities[0]
    assert (command.type, command.offset, command.length) == ("bot_command", 0, 6)
    assert everything[1].message.entities is None
    assert fake.pending_updates == []


def test_long_poll_returns_early_when_a_message_is_pushed(fake: FakeTelegram) -> None:
    timer = threading.Timer(0.3, fake.push_message, args=(1001, "/balance"))

    async def scenario(bot: Bot) -> Any:
        empty_started = time.monotonic()
        empty = await bot.get_updates(timeout=1)
        empty_took = time.monotonic() - empty_started
        timer.start()
        started = time.monotonic()
        updates = await bot.get_updates(timeout=10)
        return empty, empty_took, updates, time.monotonic() - started

    empty, empty_took, updates, took = run_with_bot(fake, scenario)
    assert empty == []
    assert 0.9 <= empty_took < 3
    assert [u.message.text for u in updates] == ["/balance"]
    assert 0.2 <= took < 2


def test_per_chat_limit_when_telegram_like() -> None:
    with FakeTelegram(token=TOKEN, telegram_like=True) as fake:

        async def scenario(bot: Bot) -> Any:
            await bot.send_message(42, "one")
            await bot.send_message(43, "other chat is fine")
            with pytest.raises(TelegramRetryAfter) as caught:
                await bot.send_message(42, "two")
            return caught.value

        error = run_with_bot(fake, scenario)
        assert error.retry_after >= 1
        assert fake.texts_to(42) == ["one"]
        assert fake.rejected_429 == 1
        assert fake.rejected[0]["status"] == 429


def test_global_limit_sliding_window() -> None:
    with FakeTelegram(token=TOKEN, global_limit=5, window=0.5, min_retry_after=1) as fake:

        async def scenario(bot: Bot) -> int:
            results = await asyncio.gather(
                *(bot.send_message(chat, "x") for chat in range(1, 9)), return_exceptions=True
            )
            assert all(
                isinstance(r, TelegramRetryAfter) for r in results if isinstance(r, Exception)
            )
            await asyncio.sleep(0.55)
            await bot.send_message(100, "after the window")
            return sum(isinstance(r, TelegramRetryAfter) for r in results)

        rejected = run_with_bot(fake, scenario)
        assert rejected == 3 == fake.rejected_429
        assert len(fake.sent) == 6


def test_setup_methods_and_wait_for(fake: FakeTelegram) -> None:
    async def scenario(bot: Bot) -> Any:
        await bot.delete_webhook(drop_pending_updates=False)
        await bot.set_my_commands([BotCommand(command="balance", description="My balance")])
        commands = await bot.get_my_commands()
        await bot.set_chat_menu_button(
            menu_button=MenuButtonWebApp(text="Kopilka", web_app=WebAppInfo(url="https://k.test"))
        )
        await bot.answer_callback_query("abc")
        await bot.delete_my_commands()
        return commands, await bot.get_my_commands()

    commands, after_delete = run_with_bot(fake, scenario)
    assert [(c.command, c.description) for c in commands] == [("balance", "My balance")]
    assert after_delete == []
    assert fake.calls_to("setChatMenuButton")[0]["params"]["menu_button"]["type"] == "web_app"

    threading.Timer(
        0.2, lambda: run_with_bot(fake, lambda bot: bot.send_message(3, "late"))
    ).start()
    got = fake.wait_for(lambda sent: any(m["text"] == "late" for m in sent), timeout=5)
    assert got[-1]["chat_id"] == 3
    with pytest.raises(TimeoutError):
        fake.wait_for(5, timeout=0.1)
    fake.clear()
    assert fake.sent == [] and fake.calls == []


def test_json_and_form_bodies_are_understood(fake: FakeTelegram) -> None:
    def post(method: str, body: bytes, content_type: str) -> tuple[int, dict[str, Any]]:
        request = urllib.request.Request(
            f"{fake.base_url}/bot{TOKEN}/{method}",
            data=body,
            headers={"Content-Type": content_type},
        )
        try:
            with urllib.request.urlopen(request, timeout=5) as response:
                return response.status, json.loads(response.read())
        except urllib.error.HTTPError as error:
            return error.code, json.loads(error.read())

    markup = {"inline_keyboard": [[{"text": "a", "callback_data": "b"}]]}
    status, body = post(
        "sendMessage",
        json.dumps({"chat_id": 8, "text": "json", "reply_markup": markup}).encode(),
        "application/json",
    )
    assert status == 200 and body["ok"] and body["result"]["reply_markup"] == markup
    status, body = post("sendMessage", b"chat_id=8&text=form", "application/x-www-form-urlencoded")
    assert status == 200 and body["result"]["text"] == "form"
    assert [m["reply_markup"] for m in fake.messages_to(8)] == [markup, None]

    status, body = post("nope", b"{}", "application/json")
    assert (status, body) == (
        404,
        {"ok": False, "error_code": 404, "description": "Not Found: method not found"},
    )
    fake.force_retry_after(None, 2)
    status, body = post("sendMessage", b"chat_id=8&text=x", "application/x-www-form-urlencoded")
    assert status == 429 and body["parameters"] == {"retry_after": 2}
    assert body["error_code"] == 429


def test_standalone_process_prints_sent_messages() -> None:
    with FakeTelegram() as probe:  # find a free port, then release it
        port = probe.port
    process = subprocess.Popen(
        [sys.executable, "-m", "tests.fakes.fake_telegram", "--port", str(port)],
        cwd=REPO,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        assert "listening" in process.stderr.readline()
        base = f"http://127.0.0.1:{port}"
        request = urllib.request.Request(
            f"{base}/bot1:any/sendMessage",
            data=json.dumps({"chat_id": 77, "text": "привет"}).encode(),
            headers={"Content-Type": "application/json"},
        )
        with urllib.request.urlopen(request, timeout=5) as response:
            assert json.loads(response.read())["ok"] is True
        line = json.loads(process.stdout.readline())
        assert (line["chat_id"], line["text"], line["message_id"]) == (77, "привет", 1)
        with urllib.request.urlopen(f"{base}/_fake/stats", timeout=5) as response:
            assert json.loads(response.read())["result"]["sent"] == 1
    finally:
        process.terminate()
        assert process.wait(timeout=5) == 0


def test_aiogram_polling_dispatcher_answers_pushed_commands(fake: FakeTelegram) -> None:
    from aiogram import Dispatcher
    from aiogram.filters import Command, CommandObject, CommandStart
    from aiogram.types import Message

    dispatcher = Dispatcher()

    @dispatcher.message(CommandStart())
    async def start(message: Message, command: CommandObject) -> None:
        await message.answer(f"linked {command.args} for {message.from_user.language_code}")

    @dispatcher.message(Command("balance"))
    async def balance(message: Message) -> None:
        await message.answer("balance 0")

    async def scenario(bot: Bot) -> None:
        polling = asyncio.create_task(
            dispatcher.start_polling(bot, polling_timeout=1, handle_signals=False)
        )
        fake.push_message(501, "/start TOKEN9", language_code="ru")
        await fake.wait_for_async(1)
        fake.push_message(501, "/balance")
        fake.push_message(502, "/balance")
        await fake.wait_for_async(3)
        await dispatcher.stop_polling()
        await polling

    run_with_bot(fake, scenario)
    assert fake.texts_to(501) == ["linked TOKEN9 for ru", "balance 0"]
    assert fake.texts_to(502) == ["balance 0"]
    # each update was delivered once: polling confirmed it with the next offset
    assert len(fake.sent) == 3
