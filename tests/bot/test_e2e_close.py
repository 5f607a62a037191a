"""End to end: the API, the real Celery worker and relay, the bot process and the fake Bot API.

Closing a period with 200 linked owners gives each exactly one balance message, even though the
bot (``run_bot``, what ``python -m kopilka_bot`` runs) is stopped in the middle of sending them and
a new one takes over. An owner with something to pay gets the close message as one photo: the
invoice's payment QR (GOST R 56042-2014), decoded here field by field, with the message as its
caption. And without a token ``python -m kopilka_bot`` only logs what it would send (a real
process, stopped with SIGTERM).
"""

from __future__ import annotations

import asyncio
import contextlib
import io
import os
import signal
import sys
import time
from typing import Any

import pytest
from PIL import Image

from kopilka.config import get_settings
from kopilka.invoices.payment_qr import parse_gost
from kopilka.money import human
from kopilka_bot.main import run_bot
from tests.api._support import make_period, mkperiod, post
from tests.bot.conftest import TOKEN, add_notification, make_community, make_owner, plain, sql
from tests.conftest import new_community, unique_id
from tests.fakes.fake_telegram import FakeTelegram
from tests.support.payment_qr import BANK, decode
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
    pid = mkperiod(client, admin, "Ноябрь 2025", "2025-11-01", "2025-11-30")
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


@pytest.mark.usefixtures("worker_stack")
def test_the_close_message_carries_the_invoice_payment_qr(client: Any, fake: FakeTelegram) -> None:
    com = new_community(client)
    admin, cid = com["headers"], com["id"]
    r = client.patch(f"/api/communities/{cid}", json={"bank": BANK}, headers=admin)
    assert r.status_code == 200, r.text
    pid = make_period(client, admin, "Октябрь 2026", "2026-10-01", "2026-10-31")["id"]
    # a debtor with two plots (Russian), one who paid in advance (English), one not in Telegram
    debtor, paid, offline = unique_id(), unique_id(), unique_id()
    chats = {debtor: unique_id(), paid: unique_id()}
    for oid, lang in ((debtor, "ru"), (paid, "en"), (offline, "ru")):
        body: dict[str, Any] = {"owner_id": oid, "name": f"Владелец {oid}", "language": lang}
        if oid in chats:
            body["telegram_id"] = chats[oid]
        post(client, admin, "/owners", body)
    for number, oid in (("17", debtor), ("18", debtor), ("3", paid), ("5", offline)):
        post(
            client,
            admin,
            "/plots",
            {"number": number, "area": "600", "owners": [{"owner_id": oid}]},
        )
    for oid, amount in ((debtor, "4500.50"), (paid, "100.00"), (offline, "700.00")):
        body = {"owner_id": oid, "amount": amount, "description": "Членский взнос"}
        post(client, admin, f"/periods/{pid}/charges", body)
    body = {"owner_id": paid, "amount": "100.00", "date": "2026-10-05"}
    post(client, admin, f"/periods/{pid}/contributions", body)
    r = client.post(f"{P}/periods/{pid}/close", headers={**admin, "Prefer": "wait=60"})
    assert r.status_code == 200 and r.json()["status"] == "SUCCEEDED", r.text
    assert r.json()["result"]["notifications"] == 2
    settings = get_settings().model_copy(
        update={"telegram_bot_token": TOKEN, "telegram_api_base": fake.base_url}
    )

    async def bot() -> None:
        stop = asyncio.Event()
        task = asyncio.create_task(
            run_bot(settings, stop=stop, polling_timeout=1, communities=[cid])
        )
        # the debtor's close message; the other's receipt of their payment, then the close
        await fake.wait_for_async(
            lambda _: (
                len(fake.messages_to(chats[debtor])) + len(fake.messages_to(chats[paid])) >= 3
            ),
            30,
        )
        await asyncio.sleep(0.5)  # anything sent twice would show up by now
        stop.set()
        await asyncio.wait_for(task, 30)

    asyncio.run(bot())
    # the debtor: one photo, the QR of their invoice, the close message its caption
    [photo] = fake.messages_to(chats[debtor])
    assert [c["params"]["chat_id"] for c in fake.calls_to("sendPhoto")] == [chats[debtor]]
    [invoice] = client.get(f"{P}/owners/{debtor}/invoices", headers=admin).json()
    [code] = decode(Image.open(io.BytesIO(photo["photo"]["content"])))
    assert code == invoice["payment_qr"]
    assert parse_gost(code) == {
        "Name": 'СНТ "Сосенки"', "PersonalAcc": "40703810938000012345", "BankName": "ПАО Сбербанк",
        "BIC": "044525225", "CorrespAcc": "30101810400000000225", "Sum": "450050",
        "Purpose": f"Взносы по счёту {invoice['id']}, уч. 17, 18", "PayeeINN": "5003012345",
    }  # fmt: skip
    caption = plain(photo["text"])
    assert caption.startswith(f"<b>{com['name']}</b>\n"), caption
    assert "Период «Октябрь 2026» закрыт" in caption and "4 500,50" in caption, caption
    assert caption.endswith("отсканируйте QR-код в приложении банка."), caption
    # the owner who has nothing to pay: the message alone
    [receipt, text_only] = fake.messages_to(chats[paid])
    assert "has been recorded" in receipt["text"]
    assert "photo" not in text_only and "is closed" in text_only["text"]
    assert "QR" not in text_only["text"]
    sent = dict(
        sql(
            "SELECT chat_id, telegram_message_id FROM notifications WHERE community_id = :c"
            " AND kind = 'period_closed' AND status = 'SENT'",
            c=cid,
        )
    )
    assert sent == {chats[debtor]: photo["message_id"], chats[paid]: text_only["message_id"]}


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
