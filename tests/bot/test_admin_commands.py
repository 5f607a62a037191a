"""The treasurer's commands through real polling against the fake Bot API: /debtors lists the
current period's debtors (largest debt first, Russian plurals), /today the payments recorded
today; both with the Mini App button; someone who is not an admin is told so."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from tests.api._support import mkperiod
from tests.bot.conftest import plain
from tests.bot.test_commands import APP, P, run_polling
from tests.conftest import new_community, unique_id
from tests.fakes.fake_telegram import FakeTelegram


def test_debtors_and_today_for_the_treasurer(client: Any, fake: FakeTelegram) -> None:
    treasurer, stranger = unique_id(), unique_id()
    com = new_community(client, name=f"Сосновка {unique_id()}", admin_telegram_ids=[treasurer])
    admin = com["headers"]
    today = datetime.now(ZoneInfo("Europe/Moscow")).date()
    pid = mkperiod(
        client, admin, "Этот месяц", str(today - timedelta(days=3)), str(today + timedelta(days=3))
    )
    owners = {}
    for name in ("Анна", "Борис", "Вера", "Глеб"):
        oid = unique_id()
        owners[name] = oid
        assert (
            client.post(
                f"{P}/owners", json={"owner_id": oid, "name": name}, headers=admin
            ).status_code
            == 201
        )
    for name, charge in (("Анна", "100.00"), ("Борис", "2500.00"), ("Вера", "700.00")):
        r = client.post(
            f"{P}/periods/{pid}/charges",
            json={"owner_id": owners[name], "amount": charge},
            headers=admin,
        )
        assert r.status_code == 201, r.text
    for name, paid in (("Анна", "1000.50"), ("Глеб", "300.00")):
        r = client.post(
            f"{P}/periods/{pid}/contributions",
            json={"owner_id": owners[name], "amount": paid, "comment": "наличными"},
            headers=admin,
        )
        assert r.status_code == 201, r.text

    async def scenario(ask: Any) -> None:
        reply = await ask(treasurer, "/debtors", language="ru")
        text = plain(reply["text"])
        assert "Этот месяц: 2 должника, всего 3 200,00 ₽." in text, text
        assert text.index("Борис — 2 500,00 ₽") < text.index("Вера — 700,00 ₽"), text
        assert "Анна" not in text and "Глеб" not in text
        assert reply["reply_markup"]["inline_keyboard"][0][0]["web_app"]["url"] == APP

        reply = await ask(treasurer, "/today", language="en")
        text = plain(reply["text"])
        assert "Today: 2 payments, 1,300.50 RUB." in text, text
        assert "Анна — 1,000.50 RUB · наличными" in text

        reply = await ask(stranger, "/debtors", language="ru")
        assert "для казначея" in reply["text"]

    run_polling(fake, scenario)
