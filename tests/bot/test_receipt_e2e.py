"""A contribution recorded through the API reaches the owner's chat exactly once, with its amount."""

from __future__ import annotations

from typing import Any

from tests.bot.conftest import make_sender, plain, sql, with_bot
from tests.conftest import unique_id
from tests.fakes.fake_telegram import FakeTelegram

P = "/api/payments"


def test_recorded_contribution_gives_exactly_one_receipt(
    client: Any,
    community: dict[str, Any],
    admin: dict[str, str],
    period: dict[str, Any],
    fake: FakeTelegram,
) -> None:
    owner_id, chat = unique_id(), unique_id()
    r = client.post(
        f"{P}/owners",
        json={"owner_id": owner_id, "telegram_id": chat, "language": "ru"},
        headers=admin,
    )
    assert r.status_code == 201, r.text
    url = f"{P}/periods/{period['id']}/contributions"
    body = {"owner_id": owner_id, "amount": "1000.00", "date": "2025-11-12", "comment": "свет"}
    headers = {**admin, "Idempotency-Key": f"receipt-{unique_id()}"}
    first = client.post(url, json=body, headers=headers)
    assert first.status_code == 201, first.text
    replay = client.post(url, json=body, headers=headers)
    assert replay.status_code == 201
    assert replay.headers.get("Idempotent-Replayed") == "true"

    rows = sql(
        "SELECT n.kind, n.dedupe_key, n.payload, n.status FROM notifications n "
        "JOIN owners o ON o.id = n.owner_pk WHERE o.community_id = :c AND o.owner_id = :o",
        c=community["id"],
        o=owner_id,
    )
    assert len(rows) == 1
    kind, key, payload, status = rows[0]
    contribution_id = first.json()["id"]
    assert (kind, key, status) == ("contribution_receipt", f"receipt:{contribution_id}", "PENDING")
    assert payload["amount_minor"] == 100000 and payload["currency"] == "RUB"

    # An owner without Telegram gets no row at all.
    silent = unique_id()
    r = client.post(
        url, json={"owner_id": silent, "amount": "5.00", "date": "2025-11-13"}, headers=admin
    )
    assert r.status_code == 201, r.text
    assert (
        sql("SELECT count(*) FROM notifications WHERE community_id = :c", c=community["id"])[0][0]
        == 1
    )

    with_bot(fake, lambda bot: make_sender(bot, [community["id"]]).drain())
    with_bot(fake, lambda bot: make_sender(bot, [community["id"]]).drain())  # nothing more
    [message] = fake.messages_to(chat)
    text = plain(message["text"])
    assert "Ваш взнос <b>1 000,00 ₽</b> записан в период «November 2025» (12 ноября 2025)." in text
    assert "Комментарий: свет" in text
    assert len(fake.sent) == 1
    row = sql(
        "SELECT status, telegram_message_id, chat_id FROM notifications WHERE dedupe_key = :k",
        k=key,
    )[0]
    assert tuple(row) == ("SENT", message["message_id"], chat)
