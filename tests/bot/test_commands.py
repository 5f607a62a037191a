"""Commands through real polling against the fake Bot API: /start with and without a token,
/balance, /statement, /help, and the Mini App button."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from datetime import datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from tests.api._support import mkperiod
from tests.bot.conftest import plain, scalar, sql, with_bot
from tests.conftest import new_community, unique_id
from tests.fakes.fake_telegram import FakeTelegram

P = "/api/payments"
APP = "https://mini.example/app"

Ask = Callable[..., Awaitable[dict[str, Any]]]


def run_polling(fake: FakeTelegram, scenario: Callable[[Ask], Awaitable[None]]) -> None:
    from kopilka.config import get_settings
    from kopilka_bot.main import make_dispatcher

    settings = get_settings().model_copy(update={"mini_app_url": APP})

    async def body(bot: Any) -> None:
        dp = make_dispatcher(settings=settings)
        polling = asyncio.create_task(
            dp.start_polling(bot, handle_signals=False, close_bot_session=False, polling_timeout=1)
        )

        async def ask(user: int, text: str, language: str | None = "en") -> dict[str, Any]:
            before = len(fake.messages_to(user))
            fake.push_message(user, text, language_code=language)
            await fake.wait_for_async(
                lambda sent: sum(1 for m in sent if m["chat_id"] == user) > before, timeout=15
            )
            return fake.messages_to(user)[before]

        try:
            await scenario(ask)
        finally:
            await dp.stop_polling()
            await polling

    with_bot(fake, body)


def _issue(client: Any, admin: dict[str, str], owner_id: int) -> dict[str, Any]:
    r = client.post(f"{P}/owners/{owner_id}/link-token", headers=admin)
    assert r.status_code == 201, r.text
    return dict(r.json())


def test_start_links_balance_statement_help(client: Any, fake: FakeTelegram, wait_job: Any) -> None:
    com = new_community(client, name=f"Сосновка {unique_id()}")
    admin = com["headers"]
    owner_id, user = unique_id(), unique_id()
    r = client.post(f"{P}/owners", json={"owner_id": owner_id, "name": "Анна"}, headers=admin)
    assert r.status_code == 201
    link = _issue(client, admin, owner_id)
    token = link["token"]
    assert link["deep_link"].endswith(f"?start={token}")

    today = datetime.now(ZoneInfo("Europe/Moscow")).date()
    old = client.post(
        f"{P}/periods",
        json={
            "name": "Прошлый",
            "start_date": str(today - timedelta(days=60)),
            "end_date": str(today - timedelta(days=31)),
        },
        headers=admin,
    ).json()["id"]
    r = client.post(
        f"{P}/periods/{old}/charges",
        json={"owner_id": owner_id, "amount": "250.00", "date": str(today - timedelta(days=40))},
        headers=admin,
    )
    assert r.status_code == 201, r.text
    r = client.post(f"{P}/periods/{old}/close", headers={**admin, "Prefer": "wait=0"})
    assert r.status_code in (200, 202), r.text
    job_id = r.json()["id"]
    from kopilka.jobs.registry import COMPENSATIONS, HANDLERS
    from kopilka.jobs.service import run as run_job

    run_job(job_id, HANDLERS, COMPENSATIONS)  # whether or not a worker is running: once only
    assert wait_job(job_id, admin)["status"] == "SUCCEEDED"
    assert scalar("SELECT status FROM periods WHERE id = :p", p=old) == "CLOSED"
    current = mkperiod(
        client, admin, "Текущий", str(today - timedelta(days=10)), str(today + timedelta(days=10))
    )
    r = client.post(
        f"{P}/periods/{current}/contributions",
        json={"owner_id": owner_id, "amount": "1000.00"},
        headers=admin,
    )
    assert r.status_code == 201

    async def scenario(ask: Ask) -> None:
        stranger = unique_id()
        reply = await ask(stranger, "/start", "ru")
        assert "ещё не подключён" in reply["text"]

        reply = await ask(user, f"/start {token}", "ru")
        text = plain(reply["text"])
        assert "Здравствуйте, Анна!" in text and com["name"] in text
        button = reply["reply_markup"]["inline_keyboard"][0][0]
        assert button["web_app"]["url"] == APP

        again = await ask(unique_id(), f"/start {token}", "en")  # a token works once
        assert "already used or has expired" in again["text"]

        reply = await ask(user, "/balance", "ru")
        text = plain(reply["text"])
        assert "Период «Текущий»: переплата <b>1 000,00 ₽</b>." in text, text

        reply = await ask(user, "/statement", "ru")
        text = plain(reply["text"])
        assert "Сейчас, «Текущий»: переплата <b>1 000,00 ₽</b>" in text, text
        assert "• «Прошлый»: долг <b>250,00 ₽</b>" in text
        assert APP in text

        reply = await ask(user, "/help", "en")  # the owner's language wins over the client's
        assert "/balance — ваш баланс" in reply["text"]

        reply = await ask(user, "/start", "ru")
        assert "С возвращением" in reply["text"]

        reply = await ask(user, "hello?", "en")
        assert "/help" in reply["text"]

    run_polling(fake, scenario)

    row = sql(
        "SELECT telegram_id, language, telegram_blocked_at FROM owners "
        "WHERE community_id = :c AND owner_id = :o",
        c=com["id"],
        o=owner_id,
    )[0]
    assert (row[0], row[1], row[2]) == (user, "ru", None)
    assert scalar(
        "SELECT used_at IS NOT NULL FROM link_tokens WHERE token_hash = encode(sha256(:t), 'hex')",
        t=token.encode(),
    )
    assert (
        scalar(
            "SELECT count(*) FROM audit_log WHERE community_id = :c AND action = 'owner.telegram_link' "
            "AND actor = :a",
            c=com["id"],
            a=f"telegram:{user}",
        )
        == 1
    )


def test_start_for_an_owner_an_admin_linked_and_an_unblock(client: Any, fake: FakeTelegram) -> None:
    com = new_community(client)
    admin = com["headers"]
    owner_id, user = unique_id(), unique_id()
    r = client.post(f"{P}/owners", json={"owner_id": owner_id, "telegram_id": user}, headers=admin)
    assert r.status_code == 201
    sql("UPDATE owners SET telegram_blocked_at = now() WHERE telegram_id = :u", u=user)

    async def scenario(ask: Ask) -> None:
        reply = await ask(user, "/start", "ru")
        assert "С возвращением" in reply["text"] and com["name"] in reply["text"]
        reply = await ask(user, "/balance", "ru")
        assert "Сейчас нет открытого периода." in reply["text"]
        reply = await ask(user, "/statement", "ru")
        assert "Закрытых периодов пока нет." in reply["text"]

    run_polling(fake, scenario)
    # Writing to the bot again means it is not blocked; the client's language is adopted.
    row = sql("SELECT telegram_blocked_at, language FROM owners WHERE telegram_id = :u", u=user)[0]
    assert row[0] is None and row[1] == "ru"


def test_link_token_route(client: Any) -> None:
    from kopilka.config import get_settings

    com = new_community(client)
    other = new_community(client)
    admin = com["headers"]
    owner_id = unique_id()
    client.post(f"{P}/owners", json={"owner_id": owner_id}, headers=admin)
    body = _issue(client, admin, owner_id)
    assert set(body) == {"owner_id", "token", "deep_link", "expires_at"}
    username = get_settings().telegram_bot_username
    assert body["deep_link"] == f"https://t.me/{username}?start={body['token']}"
    stored = sql(
        "SELECT token_hash, expires_at - now() > interval '6 days' FROM link_tokens "
        "WHERE owner_pk = (SELECT id FROM owners WHERE community_id = :c AND owner_id = :o)",
        c=com["id"],
        o=owner_id,
    )
    assert len(stored) == 1 and stored[0][1]
    assert body["token"] not in stored[0][0]  # only the hash is kept
    assert client.post(f"{P}/owners/{owner_id}/link-token").status_code == 401
    assert client.post(
        f"{P}/owners/{owner_id}/link-token", headers=other["headers"]
    ).status_code == (404)
    assert client.post(f"{P}/owners/{unique_id()}/link-token", headers=admin).status_code == 404
    assert (
        scalar(
            "SELECT count(*) FROM audit_log WHERE community_id = :c AND action = "
            "'owner.link_token_issue'",
            c=com["id"],
        )
        == 1
    )


def test_expired_token_does_not_link(client: Any) -> None:
    from kopilka.db import transaction
    from kopilka.owners.linking import link_telegram, token_hash

    com = new_community(client)
    owner_id = unique_id()
    client.post(f"{P}/owners", json={"owner_id": owner_id}, headers=com["headers"])
    pk = scalar(
        "SELECT id FROM owners WHERE community_id = :c AND owner_id = :o", c=com["id"], o=owner_id
    )
    sql(
        "INSERT INTO link_tokens (community_id, owner_pk, token_hash, expires_at) "
        "VALUES (:c, :o, :h, now() - interval '1 minute')",
        c=com["id"],
        o=pk,
        h=token_hash("old-token"),
    )
    with transaction() as session:
        assert link_telegram(session, "old-token", unique_id(), "ru") is None
        assert link_telegram(session, "never-issued", unique_id(), "ru") is None
    assert scalar("SELECT telegram_id FROM owners WHERE id = :o", o=pk) is None
