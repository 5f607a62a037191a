"""The Mini App in a real browser: headless Chromium (Debian's) driven by playwright against a
live API server. The page loads, shows the owner's balance, posts a contribution, and the API
stored it. Outside Telegram the page takes its initData from the URL fragment (``#tma=``) or
from the sign-in field, exactly as it would use Telegram's.

Needs ``/usr/bin/chromium`` (``apt-get install -y chromium``): skipped without it, except in CI.
"""

from __future__ import annotations

import calendar
import os
import re
from collections.abc import Iterator
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any
from urllib.parse import quote

import httpx
import pytest
from playwright.sync_api import expect

from kopilka.auth.telegram import make_init_data
from tests.conftest import OPERATOR, unique_id

CHROMIUM = "/usr/bin/chromium"
BOT_TOKEN = "123456:TEST-TOKEN"
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
SCREENSHOTS = Path(os.environ.get("KOPILKA_SCREENSHOT_DIR", "/tmp/kopilka-screenshots"))

pytestmark = [
    pytest.mark.browser,
    pytest.mark.skipif(
        not Path(CHROMIUM).exists() and not os.environ.get("CI"),
        reason=f"{CHROMIUM} is missing (apt-get install -y chromium); required in CI",
    ),
]


def _plain(text: str) -> str:
    """The page groups digits with thin spaces and writes minus as U+2212."""
    return text.replace("\u2009", "").replace("\u2212", "-").strip()


@pytest.fixture(scope="module")
def server(database: str) -> Iterator[str]:
    from tests.support.processes import base_env, start_api

    proc, url = start_api(base_env())
    try:
        yield url
    finally:
        proc.stop()


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    from playwright.sync_api import sync_playwright

    with sync_playwright() as pw:
        b = pw.chromium.launch(executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS)
        try:
            yield b
        finally:
            b.close()


@pytest.fixture
def village(server: str) -> Iterator[dict[str, Any]]:
    """A community with an owner linked to Telegram and a period for the current month, in
    which the owner paid 1500.00 and was charged 200.00 (balance 1300.00)."""
    with httpx.Client(base_url=server, timeout=30) as api:
        r = api.post(
            "/api/communities",
            json={"name": "Pine Hill", "currency": "RUB", "timezone": "UTC"},
            headers=OPERATOR,
        )
        assert r.status_code == 201, r.text
        admin = {"X-API-Key": r.json()["admin_api_key"]}
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
        yield {"api": api, "admin": admin, "owner": owner, "tg": tg, "period": pid}


@pytest.fixture
def page(browser: Any, server: str) -> Iterator[Any]:
    context = browser.new_context(viewport={"width": 390, "height": 844}, device_scale_factor=1)
    p = context.new_page()
    p.set_default_timeout(15_000)
    problems: list[str] = []
    outside: list[str] = []
    p.on("pageerror", lambda exc: problems.append(f"page error: {exc}"))
    p.on(
        "console",
        lambda msg: (
            problems.append(f"console {msg.type}: {msg.text}") if msg.type == "error" else None
        ),
    )
    p.on(
        "request",
        lambda req: None if req.url.startswith(server) else outside.append(req.url),
    )
    p.problems = problems
    p.outside = outside
    try:
        yield p
    finally:
        context.close()


def _screenshot(page: Any, name: str) -> Path:
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    path = SCREENSHOTS / f"{name}.png"
    page.screenshot(path=str(path), full_page=True)
    return path


def test_the_owner_sees_their_balance_and_records_a_payment(
    page: Any, server: str, village: dict[str, Any]
) -> None:
    init_data = make_init_data(village["tg"], BOT_TOKEN, first_name="Anna")
    page.goto(f"{server}/app#tma={quote(init_data, safe='')}")

    balance = page.locator("#balance")
    balance.wait_for(state="visible")
    assert _plain(balance.inner_text()) == "1300.00 RUB"
    assert "credit" in (balance.get_attribute("class") or "")
    assert page.locator("#community-name").inner_text() == "Pine Hill"
    assert "Anna Petrova" in page.locator("#who").inner_text()
    assert page.locator("#payments li").count() == 1
    page.locator("#statement-card").wait_for(state="visible")

    page.fill("#amount", "250,50")
    page.fill("#comment", "Cash to the treasurer")
    page.click("#pay-submit")
    status = page.locator("#pay-status")
    expect(status).to_have_text(re.compile(r"^Recorded "))
    assert "250.50" in _plain(status.inner_text())
    expect(balance).to_have_text(re.compile("^1\u2009550\\.50 RUB$"))
    # the form is ready again once the balance, the payments and the statement are refreshed
    expect(page.locator("#pay-submit")).to_be_enabled()
    expect(page.locator("#payments li")).to_have_count(2)
    expect(page.locator("#statement tbody tr").first).to_contain_text("1\u2009750.50")
    assert page.locator("#amount").input_value() == ""
    shot = _screenshot(page, "miniapp-after-payment")
    assert shot.stat().st_size > 10_000

    # The API stored it: the owner's own contribution, by their Telegram identity, with an
    # Idempotency-Key (a replayed submit would not record it twice).
    api, pid = village["api"], village["period"]
    rows = api.get(
        f"/api/payments/periods/{pid}/contributions",
        params={"owner_id": village["owner"]},
        headers=village["admin"],
    ).json()
    paid = [c for c in rows if c["amount"] == "250.50"]
    assert len(paid) == 1, rows
    assert paid[0]["comment"] == "Cash to the treasurer"
    assert paid[0]["owner_id"] == village["owner"]
    from tests.api._support import scalar

    assert scalar("SELECT created_by FROM contributions WHERE id = :i", i=paid[0]["id"]) == (
        f"telegram:{village['tg']}"
    )
    community = scalar("SELECT community_id FROM contributions WHERE id = :i", i=paid[0]["id"])
    assert (
        scalar(
            "SELECT count(*) FROM idempotency_records WHERE community_id = :c AND response_status = 201",
            c=community,
        )
        == 1
    )

    assert page.problems == []
    assert page.outside == [], "outside Telegram the page loads nothing from elsewhere"


def test_errors_show_the_api_detail(page: Any, server: str, village: dict[str, Any]) -> None:
    init_data = make_init_data(village["tg"], BOT_TOKEN)
    page.goto(f"{server}/app#tma={quote(init_data, safe='')}")
    page.locator("#balance").wait_for(state="visible")
    # more decimals than the currency has: the API's 400 detail is shown under the form
    page.fill("#amount", "10.005")
    page.click("#pay-submit")
    expect(page.locator("#pay-status")).to_have_class(re.compile(r"\bbad\b"))
    assert "decimal" in page.locator("#pay-status").inner_text().lower()
    assert _plain(page.locator("#balance").inner_text()) == "1300.00 RUB"

    # a stale initData: the banner says why
    stale = make_init_data(
        village["tg"], BOT_TOKEN, auth_date=datetime.now(UTC) - timedelta(hours=2)
    )
    page.goto(f"{server}/app#tma={quote(stale, safe='')}")
    page.reload()
    page.locator("#error").wait_for(state="visible")
    assert "stale" in page.locator("#error").inner_text().lower()
    _screenshot(page, "miniapp-stale")


def test_outside_telegram_the_page_asks_for_init_data(
    page: Any, server: str, village: dict[str, Any]
) -> None:
    page.goto(f"{server}/app")
    page.locator("#signin-card").wait_for(state="visible")
    assert page.locator("#balance-card").is_hidden()
    _screenshot(page, "miniapp-signin")
    page.fill("#init-data", make_init_data(village["tg"], BOT_TOKEN))
    page.click("#signin-form button")
    page.locator("#balance").wait_for(state="visible")
    assert _plain(page.locator("#balance").inner_text()) == "1300.00 RUB"
    assert page.locator("#signin-card").is_hidden()
    assert page.problems == []
