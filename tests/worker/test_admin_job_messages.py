"""The treasurer hears how their job ended (issue 16): a close started from the Mini App (a
Telegram admin) queues a message to that admin when the real worker finishes it, or when it fails
(with the reason); a job started with an API key tells no chat."""

from __future__ import annotations

import re
from typing import Any

import pytest

from kopilka.auth.telegram import make_init_data
from kopilka_bot import texts
from tests.api._support import mkperiod, sql, usage_budget_item
from tests.conftest import new_community, unique_id

pytestmark = pytest.mark.usefixtures("worker_stack")
P = "/api/payments"
BOT_TOKEN = "123456:TEST-TOKEN"


def _messages(community_id: int) -> list[Any]:
    return sql(
        "SELECT owner_pk, kind, payload, dedupe_key FROM notifications "
        "WHERE community_id = :c AND kind = 'job_finished' ORDER BY id",
        c=community_id,
    )


def _water_without_readings(client: Any, admin: dict[str, str]) -> int:
    """A period "Ноябрь" whose water is shared by meter readings, with a water bill and no
    reading: its close fails, with the reason."""
    pid = mkperiod(client, admin, "Ноябрь", "2025-11-01", "2025-11-30")
    usage_budget_item(client, admin, pid, "water", "W", "100")
    client.post(
        f"{P}/periods/{pid}/expenses",
        json={"amount": "100", "payment_type": "water"},
        headers=admin,
    )
    return int(pid)


def test_the_admin_who_closed_hears_the_end_and_the_reason_of_a_failure(
    client: Any, wait_job: Any
) -> None:
    tg = unique_id()
    c = new_community(client, admin_telegram_ids=[tg])
    admin = c["headers"]
    me = {"Authorization": "tma " + make_init_data(tg, BOT_TOKEN, language_code="ru")}
    treasurer = unique_id()
    client.post(
        f"{P}/owners",
        json={"owner_id": treasurer, "name": "Казначей", "telegram_id": tg},
        headers=admin,
    )
    other = unique_id()
    client.post(f"{P}/owners", json={"owner_id": other, "name": "Сосед"}, headers=admin)
    # water by meter readings, and nobody read a meter: the close fails with the reason
    pid = _water_without_readings(client, admin)
    r = client.post(f"{P}/periods/{pid}/close", headers=me)
    assert r.status_code == 202, r.text
    failed = wait_job(r.json()["id"], admin)
    assert failed["status"] == "FAILED"
    [msg] = _messages(c["id"])
    assert msg.payload["status"] == "FAILED" and msg.payload["error"] == failed["error"]
    assert msg.payload["period_name"] == "Ноябрь"
    text = texts.render(msg.kind, msg.payload, "ru", c["name"])
    assert "Не удалось закрыть период Ноябрь." in text and "Причина:" in text

    # fixed: a reading, closed again from the Mini App: the admin hears it closed
    client.post(
        f"{P}/periods/{pid}/meter-readings",
        json={"owner_id": other, "meter_type": "W", "start_reading": 0, "end_reading": 5},
        headers=admin,
    )
    r = client.post(f"{P}/periods/{pid}/close", headers=me)
    assert wait_job(r.json()["id"], admin)["status"] == "SUCCEEDED"
    msgs = _messages(c["id"])
    assert len(msgs) == 2 and msgs[1].payload["status"] == "SUCCEEDED"
    assert (
        texts.render("job_finished", msgs[1].payload, "en", None) == "The period Ноябрь is closed."
    )

    # the same work started with an API key: no chat to tell
    r = client.post(f"{P}/periods/{pid}/reopen", headers=admin)
    assert r.status_code == 200, r.text
    r = client.post(f"{P}/periods/{pid}/close", headers=admin)
    assert wait_job(r.json()["id"], admin)["status"] == "SUCCEEDED"
    assert len(_messages(c["id"])) == 2


def _drain(community_id: int, fake: Any) -> None:
    from tests.bot.conftest import make_sender, with_bot

    with_bot(fake, lambda bot: make_sender(bot, [community_id]).drain())


def test_an_admin_who_owns_nothing_hears_in_their_private_chat_in_their_language(
    client: Any, wait_job: Any
) -> None:
    """Gap of issue 16: the message reaches an admin's private chat (chat id = their Telegram
    user id) though they own nothing in the community, in their Telegram language, else the
    community's; the failure's reason is said in that language too."""
    from tests.fakes.fake_telegram import FakeTelegram

    english_admin, silent_admin, owner_tg = unique_id(), unique_id(), unique_id()
    c = new_community(client, admin_telegram_ids=[english_admin, silent_admin])  # a RUB village
    admin = c["headers"]
    en = {"Authorization": "tma " + make_init_data(english_admin, BOT_TOKEN, language_code="en")}
    silent = {"Authorization": "tma " + make_init_data(silent_admin, BOT_TOKEN, language_code=None)}
    other = unique_id()
    r = client.post(
        f"{P}/owners",
        json={"owner_id": other, "name": "Сосед", "telegram_id": owner_tg},
        headers=admin,
    )
    assert r.status_code == 201, r.text
    pid = _water_without_readings(client, admin)
    # the admin whose Telegram speaks Russian-less (no language_code): the community's Russian
    r = client.post(f"{P}/periods/{pid}/close", headers=silent)
    assert r.status_code == 202, r.text
    failed = wait_job(r.json()["id"], admin)
    assert failed["status"] == "FAILED" and failed["error"]
    # fixed, and closed by the admin whose Telegram is English
    client.post(
        f"{P}/periods/{pid}/meter-readings",
        json={"owner_id": other, "meter_type": "W", "start_reading": 0, "end_reading": 5},
        headers=admin,
    )
    r = client.post(f"{P}/periods/{pid}/close", headers=en)
    assert wait_job(r.json()["id"], admin)["status"] == "SUCCEEDED"
    rows = sql(
        "SELECT owner_pk, chat_id, language FROM notifications "
        "WHERE community_id = :c AND kind = 'job_finished' ORDER BY id",
        c=c["id"],
    )
    assert [(m.owner_pk, m.chat_id, m.language) for m in rows] == [
        (None, silent_admin, None),
        (None, english_admin, "en"),
    ]

    with FakeTelegram(token=BOT_TOKEN) as fake:
        _drain(c["id"], fake)
        [failure] = fake.texts_to(silent_admin)
        assert "Не удалось закрыть период Ноябрь." in failure
        reason = failure.split("Причина: ", 1)[1]
        assert reason != failed["error"] and re.search("[а-я]{4}", reason), reason  # Russian
        [closed] = fake.texts_to(english_admin)
        assert closed.endswith("The period Ноябрь is closed.")
        assert not [m for m in fake.texts_to(owner_tg) if "Ноябрь is closed" in m]
    # sent, and never twice
    assert {
        m.status
        for m in sql(
            "SELECT status FROM notifications WHERE community_id = :c AND kind = 'job_finished'",
            c=c["id"],
        )
    } == {"SENT"}
