"""A group purchase's messages reach the owners' chats through the bot, once each: the new list to
every owner with Telegram, and, when it is finalized, each ordering owner's share."""

from __future__ import annotations

from typing import Any

from tests.bot.conftest import make_sender, plain, with_bot
from tests.conftest import unique_id
from tests.fakes.fake_telegram import FakeTelegram

P = "/api/payments"


def test_the_list_is_announced_and_each_share_told_once(
    client: Any,
    community: dict[str, Any],
    admin: dict[str, str],
    period: dict[str, Any],
    fake: FakeTelegram,
) -> None:
    people = {}
    for lang in ("ru", "en", "ru"):
        oid, chat = unique_id(), unique_id()
        body = {"owner_id": oid, "telegram_id": chat, "language": lang}
        assert client.post(f"{P}/owners", json=body, headers=admin).status_code == 201
        people[oid] = chat
    ru1, en, ru2 = list(people)
    r = client.post(
        f"{P}/periods/{period['id']}/purchases",
        json={"title": "Дрова", "deadline": "2099-11-20"},
        headers=admin,
    )
    assert r.status_code == 201, r.text
    pid = r.json()["id"]
    for oid, qty in ((ru1, 2), (en, 1)):
        body = {"price": "4500.00", "quantity": qty, "owner_id": oid}
        assert (
            client.post(f"{P}/purchases/{pid}/items", json=body, headers=admin).status_code == 201
        )
    r = client.post(f"{P}/purchases/{pid}/finalize", json={"amount": "14000.00"}, headers=admin)
    assert r.status_code == 200, r.text
    client.post(f"{P}/purchases/{pid}/finalize", json={"amount": "14000.00"}, headers=admin)

    with_bot(fake, lambda bot: make_sender(bot, [community["id"]]).drain())
    with_bot(fake, lambda bot: make_sender(bot, [community["id"]]).drain())  # nothing more
    texts = {
        oid: [plain(m["text"]) for m in fake.messages_to(chat)] for oid, chat in people.items()
    }
    assert len(texts[ru2]) == 1 and "Открыта совместная закупка «Дрова»" in texts[ru2][0]
    assert len(texts[ru1]) == 2 and len(texts[en]) == 2
    # 9,000.00 + half the delivery of 500.00 = 9,250.00; 4,500.00 + 250.00 = 4,750.00
    assert any("Ваша доля: <b>9 250,00 ₽</b>" in t for t in texts[ru1])
    assert any("Your share: <b>4,750.00 RUB</b>" in t for t in texts[en])
    assert len(fake.sent) == 5
