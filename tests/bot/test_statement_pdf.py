"""The treasurer sends an owner their PDF statement (issue 16): the API queues it through the
notifications table, the bot's sender renders it at send time in the owner's language and sends it
as a document with a caption; an owner without Telegram is a clear 409, nothing queued."""

from __future__ import annotations

import io
from typing import Any

from pypdf import PdfReader

from tests.api._support import mkperiod
from tests.bot.conftest import make_sender, sql, with_bot
from tests.conftest import new_community, unique_id
from tests.fakes.fake_telegram import FakeTelegram

P = "/api/payments"


def test_the_owner_gets_their_statement_as_a_pdf(client: Any, fake: FakeTelegram) -> None:
    c = new_community(client, name="Сосновка")
    admin = c["headers"]
    linked, unlinked, chat = unique_id(), unique_id(), unique_id()
    client.post(
        f"{P}/owners", json={"owner_id": linked, "name": "Анна", "telegram_id": chat}, headers=admin
    )
    client.post(f"{P}/owners", json={"owner_id": unlinked, "name": "Борис"}, headers=admin)
    pid = mkperiod(client, admin, "Ноябрь", "2025-11-01", "2025-11-30")
    client.post(
        f"{P}/periods/{pid}/charges", json={"owner_id": linked, "amount": "750.00"}, headers=admin
    )

    r = client.post(f"{P}/owners/{unlinked}/statement/send", headers=admin)
    assert r.status_code == 409 and "/start link" in r.json()["detail"]
    key = {**admin, "Idempotency-Key": f"send-{unique_id()}"}
    r = client.post(f"{P}/owners/{linked}/statement/send", headers=key)
    assert r.status_code == 202, r.text
    again = client.post(f"{P}/owners/{linked}/statement/send", headers=key)
    assert again.status_code == 202 and again.json() == r.json()
    rows = sql("SELECT kind, status FROM notifications WHERE community_id = :c", c=c["id"])
    assert [(x.kind, x.status) for x in rows] == [("statement_pdf", "PENDING")], (
        "a retry sends once"
    )

    with_bot(fake, lambda bot: make_sender(bot, [c["id"]]).drain())
    [sent] = fake.messages_to(chat)
    assert sent["document"]["filename"].startswith("statement-owner-") and sent["document"][
        "filename"
    ].endswith(".pdf")
    assert sent["text"].startswith("<b>Сосновка</b>\nВаша выписка по лицевому счёту на ")
    pdf = PdfReader(io.BytesIO(sent["document"]["content"]))
    text = "\n".join(p.extract_text() for p in pdf.pages).replace("\u00a0", " ")
    assert "Выписка по лицевому счёту" in text and "Ноябрь" in text and "750.00" in text
    row = sql(
        "SELECT status, telegram_message_id FROM notifications WHERE community_id = :c", c=c["id"]
    )[0]
    assert row.status == "SENT" and row.telegram_message_id == sent["message_id"]
