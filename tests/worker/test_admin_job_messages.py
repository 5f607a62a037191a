"""The treasurer hears how their job ended (issue 16): a close started from the Mini App (a
Telegram admin) queues a message to that admin when the real worker finishes it, or when it fails
(with the reason); a job started with an API key tells no chat."""

from __future__ import annotations

from typing import Any

import pytest

from kopilka.auth.telegram import make_init_data
from kopilka_bot import texts
from tests.api._support import sql
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
    pid = client.post(
        f"{P}/periods",
        json={"name": "Ноябрь", "start_date": "2025-11-01", "end_date": "2025-11-30"},
        headers=admin,
    ).json()["id"]
    # water by meter readings, and nobody read a meter: the close fails with the reason
    r = client.post(
        f"{P}/periods/{pid}/budget-items",
        json={
            "payment_type": "water",
            "budgeted_amount": "100",
            "allocation_strategy": "USAGE_BASED",
            "meter_type": "W",
        },
        headers=admin,
    )
    assert r.status_code == 201, r.text
    client.post(
        f"{P}/periods/{pid}/expenses",
        json={"amount": "100", "payment_type": "water"},
        headers=admin,
    )
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
