"""The sender loop against the fake Bot API and the real test database."""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import time
from typing import Any

from tests.bot.conftest import (
    add_notification,
    make_community,
    make_owner,
    make_sender,
    notification,
    plain,
    receipt,
    scalar,
    sql,
    with_bot,
)
from tests.fakes.fake_telegram import FakeTelegram


def test_receipt_reaches_the_chat_once_with_its_amount(fake: FakeTelegram) -> None:
    c = make_community("RUB")
    pk, chat = make_owner(c, language="ru")
    nid = add_notification(c, pk, "contribution_receipt", receipt(100000))

    async def body(bot: Any) -> Any:
        sender = make_sender(bot, [c], app_url="https://kopilka.example/app")
        await sender.drain()
        await make_sender(bot, [c]).drain()  # a second sender finds nothing left to send
        return sender

    sender = with_bot(fake, body)
    messages = fake.messages_to(chat)
    assert len(messages) == 1
    text = plain(messages[0]["text"])
    assert "1 000,00 ₽" in text
    assert "взнос" in text
    assert messages[0]["parse_mode"] == "HTML"
    button = messages[0]["reply_markup"]["inline_keyboard"][0][0]
    assert button["web_app"]["url"] == "https://kopilka.example/app"
    row = notification(nid)
    assert row["status"] == "SENT"
    assert row["chat_id"] == chat
    assert row["telegram_message_id"] == messages[0]["message_id"]
    assert row["sent_at"] is not None
    assert row["error"] is None
    assert row["attempts"] == 1
    assert sender.counters.sent == 1


def test_http_mini_app_url_gives_no_web_app_button(fake: FakeTelegram) -> None:
    c = make_community("EUR")
    pk, chat = make_owner(c, language="en")
    add_notification(c, pk, "contribution_receipt", receipt(12345, "EUR"))
    with_bot(fake, lambda bot: make_sender(bot, [c], app_url="http://127.0.0.1:8000/app").drain())
    [message] = fake.messages_to(chat)
    assert "€123.45" in message["text"]
    assert not message["reply_markup"]


def test_retry_after_is_honoured_and_nothing_is_lost(fake: FakeTelegram) -> None:
    c = make_community()
    pk, chat = make_owner(c)
    first = add_notification(c, pk, "contribution_receipt", receipt(1000))
    second = add_notification(c, pk, "contribution_receipt", receipt(2000))
    fake.force_retry_after(chat, seconds=2)

    async def body(bot: Any) -> Any:
        sender = make_sender(bot, [c])
        await sender.drain(timeout=20)
        return sender

    sender = with_bot(fake, body)
    [refused] = [r for r in fake.rejected if r["chat_id"] == chat]
    assert refused["status"] == 429
    messages = fake.messages_to(chat)
    assert len(messages) == 2  # both arrive, once each, in order
    assert "10.00 RUB" in messages[0]["text"] and "20.00 RUB" in messages[1]["text"]
    assert messages[0]["at"] - refused["at"] >= 1.95  # waited retry_after before sending again
    assert sender.counters.retry_after == 1
    for nid in (first, second):
        row = notification(nid)
        assert row["status"] == "SENT"
        assert row["attempts"] == 1  # a 429 is not a failed attempt


def test_retry_after_pauses_every_chat(fake: FakeTelegram) -> None:
    c = make_community()
    pk, chat = make_owner(c)
    other_pk, other_chat = make_owner(c)
    add_notification(c, pk, "contribution_receipt", receipt(1000))
    fake.force_retry_after(chat, seconds=2)

    async def body(bot: Any) -> None:
        stop = asyncio.Event()
        task = asyncio.create_task(make_sender(bot, [c]).run(stop))
        while not fake.rejected:
            await asyncio.sleep(0.01)
        # Telegram does not say whether the flood limit is the chat's or the bot's: all wait.
        add_notification(c, other_pk, "contribution_receipt", receipt(3000))
        await fake.wait_for_async(2, timeout=15)
        stop.set()
        await task

    with_bot(fake, body)
    [refused] = fake.rejected
    [later] = fake.messages_to(other_chat)
    assert later["at"] - refused["at"] >= 1.95
    assert len(fake.messages_to(chat)) == 1


async def _pacer_times(rate: float, n: int, pause: float = 0.0) -> list[float]:
    from kopilka_bot.sender import Pacer

    pacer = Pacer(rate)
    if pause:
        pacer.pause(pause)
    times = []
    for _ in range(n):
        await pacer.acquire()
        times.append(time.monotonic())
    return times


def test_pacer_spaces_slots_evenly_and_honours_a_pause() -> None:
    from kopilka_bot.sender import Pacer

    start = time.monotonic()
    times = asyncio.run(_pacer_times(20.0, 6, pause=0.3))
    assert times[0] - start >= 0.29
    gaps = [b - a for a, b in itertools.pairwise(times)]
    assert all(g >= 0.049 for g in gaps), gaps

    async def aborted() -> bool:
        pacer = Pacer(1.0)
        pacer.pause(30)
        abort = asyncio.Event()
        asyncio.get_running_loop().call_later(0.05, abort.set)
        return await asyncio.wait_for(pacer.acquire(abort), 5)

    assert asyncio.run(aborted()) is False


def test_blocked_bot_marks_the_owner_and_skips_their_rows(fake: FakeTelegram) -> None:
    from kopilka.db import transaction
    from kopilka.models import Owner
    from kopilka.notifications.service import RECEIPT, enqueue

    c = make_community()
    c2 = make_community()
    pk, chat = make_owner(c)
    assert chat is not None
    pk2, _ = make_owner(c2, telegram_id=chat)  # the same person in another community
    other, other_chat = make_owner(c)
    ids = [add_notification(c, pk, "contribution_receipt", receipt(100 * i)) for i in (1, 2, 3)]
    ids.append(add_notification(c2, pk2, "contribution_receipt", receipt(500)))
    ok = add_notification(c, other, "contribution_receipt", receipt(700))
    fake.block_chat(chat)

    with_bot(fake, lambda bot: make_sender(bot, [c, c2]).drain())

    assert fake.messages_to(chat) == []
    assert len([r for r in fake.rejected if r["chat_id"] == chat]) == 1  # tried once, then stopped
    assert len(fake.messages_to(other_chat)) == 1
    assert notification(ok)["status"] == "SENT"
    for nid in ids:
        row = notification(nid)
        assert row["status"] == "SKIPPED", row
        assert "blocked" in row["error"]
    blocked = sql("SELECT telegram_blocked_at FROM owners WHERE telegram_id = :t", t=chat)
    assert len(blocked) == 2 and all(b[0] is not None for b in blocked)
    assert (
        scalar(
            "SELECT count(*) FROM audit_log WHERE action = 'owner.telegram_blocked' "
            "AND community_id IN (:a, :b)",
            a=c,
            b=c2,
        )
        == 2
    )
    with transaction() as session:  # and nothing new is queued for them
        owner = session.get(Owner, pk)
        assert owner is not None
        assert enqueue(session, owner, RECEIPT, f"receipt:test:{pk}", receipt(1)) is False


def test_server_errors_are_retried_later_then_failed(fake: FakeTelegram) -> None:
    c = make_community()
    pk, chat = make_owner(c)
    nid = add_notification(c, pk, "contribution_receipt", receipt(4200))
    fake.fail_next(1, 502)

    async def first(bot: Any) -> Any:
        sender = make_sender(bot, [c], backoff_base=30.0)
        await sender.drain()
        return sender

    sender = with_bot(fake, first)
    row = notification(nid)
    assert row["status"] == "PENDING"
    assert row["attempts"] == 1
    assert "TelegramServerError" in row["error"]
    assert fake.messages_to(chat) == []
    assert sender.counters.retried == 1
    # Due later, not now: another sender leaves it alone until then.
    assert scalar(
        "SELECT next_attempt_at > now() + interval '20 seconds' FROM notifications WHERE id = :i",
        i=nid,
    )
    sql("UPDATE notifications SET next_attempt_at = now() WHERE id = :i", i=nid)
    with_bot(fake, lambda bot: make_sender(bot, [c]).drain())
    assert len(fake.messages_to(chat)) == 1
    row = notification(nid)
    assert row["status"] == "SENT" and row["attempts"] == 2

    # A row that keeps failing gives up after max_attempts, sending nothing.
    doomed = add_notification(c, pk, "contribution_receipt", receipt(1))
    fake.fail_next(3, 500)
    with_bot(fake, lambda bot: make_sender(bot, [c], backoff_base=0.01, max_attempts=3).drain())
    row = notification(doomed)
    assert row["status"] == "FAILED"
    assert row["attempts"] == 3
    assert len(fake.messages_to(chat)) == 1


def test_bad_request_fails_at_once(fake: FakeTelegram) -> None:
    c = make_community()
    pk, chat = make_owner(c)
    nid = add_notification(c, pk, "contribution_receipt", receipt(100))
    fake.fail_next(1, 400, "Bad Request: chat not found")
    with_bot(fake, lambda bot: make_sender(bot, [c]).drain())
    row = notification(nid)
    assert row["status"] == "FAILED"
    assert "chat not found" in row["error"]
    assert fake.messages_to(chat) == []


def test_unlinked_owner_and_unknown_kind_are_not_sent(fake: FakeTelegram) -> None:
    c = make_community()
    unlinked, _ = make_owner(c, telegram_id=None)
    pk, _chat = make_owner(c)
    a = add_notification(c, unlinked, "contribution_receipt", receipt(100))
    b = add_notification(c, pk, "no_such_kind", {})
    with_bot(fake, lambda bot: make_sender(bot, [c]).drain())
    assert notification(a)["status"] == "SKIPPED"
    assert "no linked Telegram" in notification(a)["error"]
    assert notification(b)["status"] == "FAILED"
    assert "cannot render" in notification(b)["error"]
    assert fake.sent == []


def test_global_rate_stays_within_telegram_limits(fake_limited: FakeTelegram) -> None:
    c = make_community()
    chats = []
    for i in range(60):
        pk, chat = make_owner(c)
        chats.append(chat)
        add_notification(c, pk, "contribution_receipt", receipt(100 + i))

    with_bot(fake_limited, lambda bot: make_sender(bot, [c], global_rate=28.0).drain(timeout=30))

    sent = fake_limited.sent
    assert fake_limited.rejected_429 == 0
    assert sorted(m["chat_id"] for m in sent) == sorted(chats)
    times = sorted(m["at"] for m in sent)
    assert max(sum(1 for t in times if s <= t < s + 1.0) for s in times) <= 30
    assert (len(times) - 1) / (times[-1] - times[0]) <= 30.0


def test_per_chat_spacing_and_order(fake_limited: FakeTelegram) -> None:
    c = make_community()
    pk, chat = make_owner(c)
    for amount in (100, 200, 300):
        add_notification(c, pk, "contribution_receipt", receipt(amount))

    with_bot(
        fake_limited,
        lambda bot: make_sender(bot, [c], global_rate=28.0, per_chat_interval=1.0).drain(
            timeout=20
        ),
    )

    messages = fake_limited.messages_to(chat)
    assert fake_limited.rejected_429 == 0
    assert [
        "1.00 RUB" in messages[0]["text"],
        "2.00 RUB" in messages[1]["text"],
        "3.00 RUB" in messages[2]["text"],
    ] == [True, True, True]
    gaps = [b["at"] - a["at"] for a, b in itertools.pairwise(messages)]
    assert all(g >= 1.0 for g in gaps), gaps


def test_restart_midway_sends_each_once_and_loses_none(fake: FakeTelegram) -> None:
    c = make_community()
    chats: list[int] = []
    ids: list[int] = []
    for i in range(200):
        pk, chat = make_owner(c, language="ru" if i % 2 else "en")
        assert chat is not None
        chats.append(chat)
        ids.append(
            add_notification(
                c,
                pk,
                "period_closed",
                {
                    "period_id": 1,
                    "period_name": "Ноябрь 2025",
                    "balance_minor": -(1000 + i),
                    "currency": "RUB",
                    "invoice_amount_minor": 1000 + i,
                },
            )
        )

    async def body(bot: Any) -> tuple[int, Any]:
        first = make_sender(bot, [c], global_rate=80.0)
        task = asyncio.create_task(first.run())
        await fake.wait_for_async(60, timeout=20)
        task.cancel()  # stopped while sends are in flight and rows are claimed
        with contextlib.suppress(asyncio.CancelledError):
            await task
        sent_by_first = len(fake.sent)
        second = make_sender(bot, [c], global_rate=200.0)
        await second.drain(timeout=30)
        return sent_by_first, first

    sent_by_first, first = with_bot(fake, body)
    assert 60 <= sent_by_first < 200
    assert first.counters.released > 0  # it held claimed rows it had not started
    per_chat = {chat: fake.messages_to(chat) for chat in chats}
    assert all(len(m) == 1 for m in per_chat.values()), [
        (c_, len(m)) for c_, m in per_chat.items() if len(m) != 1
    ]
    assert len(fake.sent) == 200
    statuses = sql(
        "SELECT status, count(*) FROM notifications WHERE id = ANY(:ids) GROUP BY status", ids=ids
    )
    assert dict((s, n) for s, n in statuses) == {"SENT": 200}
    # every row records the message that reached its chat
    recorded = dict(
        sql("SELECT chat_id, telegram_message_id FROM notifications WHERE id = ANY(:ids)", ids=ids)
    )
    assert recorded == {chat: msgs[0]["message_id"] for chat, msgs in per_chat.items()}
    from kopilka.money import human

    for i, chat in enumerate(chats):
        lang = "ru" if i % 2 else "en"
        assert human(1000 + i, "RUB", lang) in per_chat[chat][0]["text"]


def test_outcome_unknown_after_a_crash_is_resent_once_by_default(fake: FakeTelegram) -> None:
    c = make_community()
    pk, chat = make_owner(c)
    nid = add_notification(c, pk, "contribution_receipt", receipt(777))
    skipped_pk, skipped_chat = make_owner(c)
    other = add_notification(c, skipped_pk, "contribution_receipt", receipt(888))

    async def crash(bot: Any) -> None:
        # A sender claims and marks both rows "in flight", then dies before recording anything.
        dead = make_sender(bot, [c])
        rows = dead.outbox.claim(10)
        assert {r.id for r in rows} == {nid, other}
        for row in rows:
            assert dead.outbox.mark_in_flight(row)

    with_bot(fake, crash)
    sql("UPDATE notifications SET next_attempt_at = now() WHERE id IN (:a, :b)", a=nid, b=other)
    assert notification(nid)["error"].startswith("in flight")

    async def resend_one(bot: Any) -> Any:
        # The policy is per sender: this one resends (at least once) ...
        sender = make_sender(bot, [c], communities=[c])
        sql(
            "UPDATE notifications SET next_attempt_at = now() + interval '1 hour' WHERE id = :b",
            b=other,
        )
        await sender.drain()
        return sender

    sender = with_bot(fake, resend_one)
    assert sender.counters.outcome_unknown == 1
    assert len(fake.messages_to(chat)) == 1
    assert notification(nid)["status"] == "SENT"

    # ... and this one prefers at most once: the doubtful row is skipped, not resent.
    sql("UPDATE notifications SET next_attempt_at = now() WHERE id = :b", b=other)
    with_bot(fake, lambda bot: make_sender(bot, [c], resend_unknown=False).drain())
    assert fake.messages_to(skipped_chat) == []
    row = notification(other)
    assert row["status"] == "SKIPPED" and "outcome unknown" in row["error"]


def test_dry_run_logs_and_changes_nothing() -> None:
    from kopilka_bot.dryrun import DryRun

    c = make_community()
    pk, chat = make_owner(c, language="ru")
    nid = add_notification(
        c,
        pk,
        "debt_reminder",
        {
            "period_id": 1,
            "period_name": "Ноябрь",
            "balance_minor": -250000,
            "currency": "RUB",
        },
    )
    seen: list[dict[str, Any]] = []

    async def body() -> None:
        dry = DryRun(emit=seen.append)
        await dry.poll_once()
        again = await dry.poll_once()  # once per row per process
        assert all(r["id"] != nid for r in again)

    asyncio.run(body())
    [mine] = [r for r in seen if r["id"] == nid]
    assert mine["chat_id"] == chat
    assert "2 500,00 ₽" in plain(mine["text"])
    row = notification(nid)
    assert row["status"] == "PENDING" and row["attempts"] == 0


def test_stop_event_finishes_gracefully(fake: FakeTelegram) -> None:
    c = make_community()
    pk, chat = make_owner(c)
    nid = add_notification(c, pk, "contribution_receipt", receipt(100))

    async def body(bot: Any) -> None:
        stop = asyncio.Event()
        sender = make_sender(bot, [c])
        task = asyncio.create_task(sender.run(stop))
        await fake.wait_for_async(1, timeout=10)
        deadline = time.monotonic() + 5
        while notification(nid)["status"] != "SENT" and time.monotonic() < deadline:
            await asyncio.sleep(0.05)
        stop.set()
        await asyncio.wait_for(task, 10)

    with_bot(fake, body)
    assert notification(nid)["status"] == "SENT"
    assert len(fake.messages_to(chat)) == 1
