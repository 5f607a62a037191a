"""The owner's side of the Mini App in Chromium against the live API: the balance, recording their
own payment (once, even when the answer is lost and they tap again), the statement and its PDF,
Russian formatting, the errors a person meets (a bad amount, an expired sign-in), and the sign-in
form outside Telegram."""

from __future__ import annotations

import calendar
import re
from collections.abc import Iterator
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
from playwright.sync_api import expect

from kopilka.auth.telegram import make_init_data
from tests.browser.conftest import (
    BOT_TOKEN,
    app_url,
    check_a11y,
    lose_first_answer,
    new_page,
    new_village,
    screenshot,
)
from tests.conftest import unique_id


@pytest.fixture
def village(server: str) -> Iterator[dict[str, Any]]:
    """An owner linked to Telegram and a period for the current month, in which the owner paid
    1500.00 and was charged 200.00 (balance 1300.00)."""
    with httpx.Client(base_url=server, timeout=30) as api:
        v = new_village(api, name="Pine Hill")
        admin = v["headers"]
        owner, tg = unique_id(), unique_id()
        r = api.post(
            "/api/payments/owners",
            json={"owner_id": owner, "name": "Anna Petrova", "telegram_id": tg},
            headers=admin,
        )
        assert r.status_code == 201, r.text
        today = datetime.now(UTC).date()
        last = calendar.monthrange(today.year, today.month)[1]
        r = api.post(
            "/api/payments/periods",
            json={
                "name": today.strftime("%B %Y"),
                "start_date": date(today.year, today.month, 1).isoformat(),
                "end_date": date(today.year, today.month, last).isoformat(),
            },
            headers=admin,
        )
        assert r.status_code == 201, r.text
        pid = r.json()["id"]
        for kind, amount in (("contributions", "1500.00"), ("charges", "200.00")):
            r = api.post(
                f"/api/payments/periods/{pid}/{kind}",
                json={"owner_id": owner, "amount": amount},
                headers=admin,
            )
            assert r.status_code == 201, r.text
        yield {"api": api, "admin": admin, "owner": owner, "tg": tg, "period": pid, "id": v["id"]}


def test_the_owner_records_a_payment_once_even_when_the_answer_is_lost(
    browser: Any, server: str, village: dict[str, Any]
) -> None:
    page = new_page(browser, server, accept_downloads=True)
    page.goto(app_url(server, village["tg"], theme="light"))
    balance = page.locator("#balance")
    expect(balance).to_have_text("1,300.00 RUB")
    assert "credit" in (balance.locator("span").get_attribute("class") or "")
    assert page.locator("#community-name").inner_text() == "Pine Hill"
    assert "Anna Petrova" in page.locator("#who").inner_text()
    expect(page.locator("#payments li")).to_have_count(1)
    expect(page.locator("#statement-card")).to_be_visible()
    assert page.locator("#mode-admin").count() == 0, "an owner has no treasurer's mode"

    # The first answer is lost on the way back (the server booked it); the owner taps again: the
    # form sends the same Idempotency-Key, the server replays its answer, nothing is booked twice.
    lost: list[str] = []
    page.route("**/contributions", lose_first_answer(lost))
    page.fill("#amount", "250,50")
    page.fill("#comment", "Cash to the treasurer")
    page.click("#pay-form button[type=submit]")
    expect(page.locator("#pay-form .status")).to_have_text(re.compile("server cannot be reached"))
    page.click("#pay-form button[type=submit]")
    expect(page.locator("#pay-form .status")).to_have_text(re.compile(r"^Recorded 250\.50 RUB"))
    expect(balance).to_have_text("1,550.50 RUB")
    expect(page.locator("#payments li")).to_have_count(2)
    expect(page.locator("#statement tbody tr").first).to_contain_text("1,750.50 RUB")
    assert page.locator("#amount").input_value() == ""
    page.unroute("**/contributions")
    assert lost and lost[0]

    api, pid = village["api"], village["period"]
    rows = api.get(
        f"/api/payments/periods/{pid}/contributions",
        params={"owner_id": village["owner"]},
        headers=village["admin"],
    ).json()
    assert [c["amount"] for c in rows].count("250.50") == 1, rows
    paid = next(c for c in rows if c["amount"] == "250.50")
    assert paid["comment"] == "Cash to the treasurer"
    from tests.api._support import scalar

    assert scalar("SELECT created_by FROM contributions WHERE id = :i", i=paid["id"]) == (
        f"telegram:{village['tg']}"
    )

    # the statement as a PDF, fetched with the same credentials (never an initData in a URL)
    with page.expect_download() as dl:
        page.click("#statement-card button[data-format=pdf]")
    pdf = dl.value
    assert pdf.suggested_filename.endswith(".pdf")
    assert Path(pdf.path()).read_bytes()[:5] == b"%PDF-"
    screenshot(page, "owner-en-light")
    check_a11y(page)

    # no initData in any URL the page asked the server for, nothing loaded from elsewhere
    assert all("hash" not in u and "auth_date" not in u for u in page.urls), page.urls
    assert page.problems == []
    assert page.outside == []
    page.context.close()


def test_the_owner_in_russian_and_dark(browser: Any, server: str, village: dict[str, Any]) -> None:
    """Telegram's language_code picks Russian: amounts "1 300,00 ₽", Russian labels, dark theme."""
    page = new_page(browser, server, color_scheme="dark")
    page.goto(app_url(server, village["tg"], language_code="ru"))
    balance = page.locator("#balance")
    expect(balance).to_have_text(re.compile("^1\u00a0300,00\u00a0₽$"))
    expect(page.locator("#balance-card h2")).to_have_text("Ваш баланс")
    assert page.evaluate("document.documentElement.dataset.theme") == "dark"
    assert page.evaluate("document.documentElement.lang") == "ru"
    screenshot(page, "owner-ru-dark")
    check_a11y(page)
    # switch to English in the page: it stays switched
    page.click("#lang-en")
    expect(page.locator("#balance-card h2")).to_have_text("Your balance")
    expect(balance).to_have_text("1,300.00 RUB")
    assert page.problems == []
    page.context.close()


def test_errors_a_person_meets(browser: Any, server: str, village: dict[str, Any]) -> None:
    page = new_page(browser, server)
    page.goto(app_url(server, village["tg"]))
    expect(page.locator("#balance")).to_have_text("1,300.00 RUB")
    # more decimals than the currency has: the API's 400 detail is shown under the form
    page.fill("#amount", "10.005")
    page.click("#pay-form button[type=submit]")
    status = page.locator("#pay-form .status")
    expect(status).to_have_class(re.compile(r"\bbad\b"))
    assert "Please check the form" in status.inner_text()
    assert "decimal" in status.inner_text().lower()
    assert page.locator("#balance").inner_text() == "1,300.00 RUB"

    # an expired sign-in (initData two hours old): a clear sentence, in the user's language
    stale = make_init_data(
        village["tg"],
        BOT_TOKEN,
        auth_date=datetime.now(UTC) - timedelta(hours=2),
        language_code="ru",
    )
    from urllib.parse import quote

    page.goto(f"{server}/app#tma={quote(stale, safe='')}")
    page.reload()
    error = page.locator("[role=alert]").first
    expect(error).to_contain_text("Вход устарел")
    screenshot(page, "expired-ru")
    page.context.close()


def test_outside_telegram_the_page_asks_for_init_data(
    browser: Any, server: str, village: dict[str, Any]
) -> None:
    page = new_page(browser, server)
    page.goto(f"{server}/app")
    expect(page.locator("#signin-card")).to_be_visible()
    page.fill("#init-data", make_init_data(village["tg"], BOT_TOKEN))
    page.click("#signin-form button")
    expect(page.locator("#balance")).to_have_text("1,300.00 RUB")
    assert page.locator("#signin-card").count() == 0
    assert page.problems == []
    page.context.close()
