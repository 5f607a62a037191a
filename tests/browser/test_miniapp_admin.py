"""The treasurer's Mini App in Chromium against the live API and a real Celery worker: the issue's
"done when" as a person does it. A treasurer who has never seen Kopilka creates the periods and the
budget, records a month of a 20-owner village (contributions, two expenses, a charge, readings, a
transfer), corrects an entry someone else changed meanwhile (412, reload), closes the period and
watches it reach CLOSED, carries it forward, finds an owner, makes their /start link with its QR
code and downloads their PDF statement; then switches to their own owner's view. Screenshots in
Russian and English, light and dark; axe-core checks labels and contrast."""

from __future__ import annotations

import calendar
import re
from datetime import UTC, date, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

import httpx
import pytest
from playwright.sync_api import expect

from tests.browser.conftest import app_url, check_a11y, new_page, new_village, screenshot
from tests.conftest import unique_id

pytestmark = pytest.mark.usefixtures("worker_stack")

NAMES = [
    "Иван Петров",
    "Мария Смирнова",
    "Алексей Кузнецов",
    "Ольга Попова",
    "Сергей Васильев",
    "Анна Соколова",
    "Дмитрий Михайлов",
    "Елена Новикова",
    "Павел Фёдоров",
    "Наталья Морозова",
    "Андрей Волков",
    "Татьяна Алексеева",
    "Николай Лебедев",
    "Ирина Семёнова",
    "Михаил Егоров",
    "Светлана Павлова",
    "Виктор Козлов",
    "Юлия Степанова",
    "Георгий Николаев",
    "Галина Орлова",
]


def _months() -> tuple[tuple[str, str], tuple[str, str]]:
    today = datetime.now(UTC).date()
    first = date(today.year, today.month, 1)
    last = date(today.year, today.month, calendar.monthrange(today.year, today.month)[1])
    nxt = date(today.year + (today.month == 12), today.month % 12 + 1, 1)
    nxt_last = date(nxt.year, nxt.month, calendar.monthrange(nxt.year, nxt.month)[1])
    return (first.isoformat(), last.isoformat()), (nxt.isoformat(), nxt_last.isoformat())


def _date_input(page: Any, selector: str, iso: str) -> None:
    page.fill(selector, iso)


def _plain(text: str) -> str:
    return text.replace("\u00a0", " ").replace("\u202f", " ")


def test_a_treasurer_runs_a_month_of_a_20_owner_village(browser: Any, server: str) -> None:
    api = httpx.Client(base_url=server, timeout=60)
    treasurer_tg = unique_id()
    v = new_village(api, admin_telegram_ids=[treasurer_tg])
    assert v["language"] == "ru", "a rouble community speaks Russian unless told otherwise"
    admin = v["headers"]
    owners = [unique_id() for _ in NAMES]
    for i, (oid, name) in enumerate(zip(owners, NAMES, strict=True)):
        body: dict[str, Any] = {"owner_id": oid, "name": name, "share_weight": str(1 + i % 3)}
        if i == 0:
            body["telegram_id"] = treasurer_tg  # the treasurer owns a house too
        r = api.post("/api/payments/owners", json=body, headers=admin)
        assert r.status_code == 201, r.text

    page = new_page(browser, server, accept_downloads=True)
    page.goto(app_url(server, treasurer_tg, language_code="ru", theme="light"))
    expect(page.locator("#screen-title")).to_have_text("Сводка")
    expect(page.locator("#mode-admin")).to_have_attribute("aria-pressed", "true")

    # ---- periods: this month and the next
    (start, end), (nstart, nend) = _months()
    page.click("#tab-admin-periods")
    for name, a, b in (("Этот месяц", start, end), ("Следующий месяц", nstart, nend)):
        page.fill("#p-name", name)
        _date_input(page, "#p-start", a)
        _date_input(page, "#p-end", b)
        page.click("#period-form button[type=submit]")
        expect(page.locator("#app .status.ok").first).to_contain_text(name)
    periods = {
        p["name"]: p for p in api.get("/api/payments/periods", headers=admin).json()["periods"]
    }
    pid, next_pid = periods["Этот месяц"]["id"], periods["Следующий месяц"]["id"]

    # ---- budget: guards shared by share weight, water by meter readings
    page.click("#tab-admin-budget")
    page.select_option("#period-picker", str(pid))
    for ptype, amount, strategy, meter in (
        ("Охрана", "9000", "PROPORTIONAL", None),
        ("Вода", "2400", "USAGE_BASED", "ВОДА"),
    ):
        page.fill("#b-type", ptype)
        page.fill("#b-amount", amount)
        page.select_option("#b-strategy", strategy)
        if meter:
            page.fill("#b-meter", meter)
        page.click("#budget-form button[type=submit]")
        expect(page.locator("#budget-items")).to_contain_text(ptype)
    expect(page.locator("#budget-items li")).to_have_count(2)

    # ---- a month of money: 20 contributions, two expenses, a charge, readings, a transfer
    page.click("#tab-admin-record")
    page.select_option("#period-picker", str(pid))
    status = page.locator("#record-form .status")
    paid = Decimal(0)
    for i, oid in enumerate(owners[:18]):  # two owners pay nothing: debtors
        amount = Decimal(500 + 50 * i)
        paid += amount
        page.select_option("#f-owner", str(oid))
        page.fill("#f-amount", f"{amount},00")
        page.click("#record-form button[type=submit]")
        expect(status).to_contain_text(NAMES[i])
        expect(status).to_have_class(re.compile(r"\bok\b"))
    page.click("#kind-expense")
    page.fill("#f-amount", "9000")
    page.fill("#f-type", "Охрана")
    page.fill("#f-vendor", "ЧОП Щит")
    page.click("#record-form button[type=submit]")
    expect(status).to_contain_text("Записан расход 9\u00a0000,00\u00a0₽")
    page.select_option("#f-owner", str(owners[1]))  # Мария paid the water bill herself
    page.fill("#f-amount", "2400")
    page.fill("#f-type", "Вода")
    page.click("#record-form button[type=submit]")
    expect(status).to_contain_text("2\u00a0400,00\u00a0₽")
    page.click("#kind-charge")
    page.select_option("#f-owner", str(owners[2]))
    page.fill("#f-amount", "750")
    page.fill("#f-comment", "Ремонт калитки")
    page.click("#record-form button[type=submit]")
    expect(status).to_contain_text("Начислено 750,00\u00a0₽")
    page.click("#kind-reading")
    for oid, a, b in (
        (owners[0], "100", "130"),
        (owners[1], "200", "250"),
        (owners[2], "50", "70,5"),
    ):
        page.select_option("#f-owner", str(oid))
        page.fill("#f-meter", "ВОДА")
        page.fill("#f-start", a)
        page.fill("#f-end", b)
        page.click("#record-form button[type=submit]")
        expect(status).to_have_class(re.compile(r"\bok\b"))
        expect(status).to_contain_text("Показание записано")
    page.click("#kind-transfer")
    page.select_option("#f-owner", str(owners[3]))
    page.select_option("#f-to-owner", str(owners[4]))
    page.fill("#f-amount", "100")
    page.click("#record-form button[type=submit]")
    expect(status).to_contain_text("Записан перевод 100,00\u00a0₽")
    screenshot(page, "admin-record-ru-light")

    # ---- the glance: what was collected, the debtors in Russian plurals, budget against actual
    page.click("#tab-admin-dashboard")
    page.select_option("#period-picker", str(pid))
    sheet = api.get(f"/api/payments/periods/{pid}/balance-sheet", headers=admin).json()
    assert Decimal(sheet["total_contributions"]) == paid
    expect(page.locator("#collected")).to_have_text(
        f"{paid:,.2f}".replace(",", "\u00a0").replace(".", ",") + "\u00a0₽"
    )
    debtors = [e for e in sheet["entries"] if Decimal(e["balance"]) < 0]
    assert len(debtors) >= 2
    n = len(debtors)
    form = (
        "должник"
        if n % 10 == 1 and n % 100 != 11
        else "должника"
        if 2 <= n % 10 <= 4 and not 12 <= n % 100 <= 14
        else "должников"
    )
    expect(page.locator("#debtors-count")).to_contain_text(f"{n} {form}")
    worst = min(debtors, key=lambda e: Decimal(e["balance"]))
    expect(page.locator("#debtors li").first).to_contain_text(worst["name"])
    expect(page.locator("#budget-vs-actual tbody tr")).to_have_count(2)
    expect(page.locator("#budget-vs-actual")).to_contain_text("Охрана")
    screenshot(page, "admin-dashboard-ru-light")
    check_a11y(page)

    # ---- correct an entry that someone else changed meanwhile: 412 explained, reload, save
    page.click("#tab-admin-journal")
    page.select_option("#period-picker", str(pid))
    first = api.get(
        f"/api/payments/periods/{pid}/contributions", params={"owner_id": owners[0]}, headers=admin
    ).json()[0]
    page.locator("#journal li button", has_text=NAMES[0]).first.click()
    expect(page.locator("#screen-title")).to_have_text("Записать")
    r = api.patch(
        f"/api/payments/contributions/{first['id']}",
        json={"comment": "наличными"},
        headers={**admin, "If-Match": f'"{first["version"]}"'},
    )
    assert r.status_code == 200, r.text
    page.fill("#f-amount", "600")
    page.click("#record-form button[type=submit]")
    alert = page.locator("#record-form [role=alert]")
    expect(alert).to_contain_text("изменили")
    alert.locator("button").click()
    expect(page.locator("#f-comment")).to_have_value("наличными")
    page.fill("#f-amount", "600")
    page.click("#record-form button[type=submit]")
    expect(page.locator("#record-form .status.ok")).to_have_text("Сохранено.")
    assert (
        api.get(
            f"/api/payments/periods/{pid}/contributions",
            params={"owner_id": owners[0]},
            headers=admin,
        ).json()[0]["amount"]
        == "600.00"
    )
    page.click("#history")
    # the audit trail of the entry: recorded by the page, changed with the API key, then here
    audit = page.locator("#audit li")
    expect(audit).to_have_count(3)
    expect(audit.first).to_contain_text(f"telegram:{treasurer_tg}")
    expect(audit.first).to_contain_text("500,00\u00a0₽ → 600,00\u00a0₽")

    # ---- close the period and watch the job until CLOSED
    page.click("#tab-admin-periods")
    page.once("dialog", lambda d: d.accept())
    page.click(f"#close-{pid}")
    job = page.locator("[data-testid=job]")
    expect(job).to_contain_text("Закрытие")
    expect(job).to_contain_text("готово", timeout=90_000)
    expect(page.locator(f"#period-{pid} .pill")).to_have_text("закрыт")
    assert api.get(f"/api/payments/periods/{pid}", headers=admin).json()["status"] == "CLOSED"

    # ---- carry it forward into the next month
    page.select_option(f"#carry-to-{pid}", str(next_pid))
    page.click(f"#carry-{pid}")
    expect(job).to_contain_text("Перенос остатков")
    expect(job).to_contain_text("готово", timeout=90_000)
    opening = api.get(
        f"/api/payments/periods/{next_pid}/opening-transactions", headers=admin
    ).json()
    assert opening["from_period_id"] == pid
    assert len(opening["opening_contributions"]) + len(opening["opening_charges"]) == len(owners)
    screenshot(page, "admin-periods-ru-light")

    # ---- find an owner, make their /start link and QR code, download their PDF statement
    page.click("#tab-admin-owners")
    page.fill("#owner-search", "смирн")
    expect(page.locator("#owners-list li")).to_have_count(1)
    page.locator("#owners-list li button").click()
    expect(page.locator("#owner-card h2")).to_have_text(NAMES[1])
    expect(page.locator("#tg-state")).to_contain_text("Ещё не привязан")
    page.click("#issue-link")
    link = page.locator("#start-link")
    expect(link).to_have_value(re.compile(r"^https://t\.me/\w+\?start=\S+$"))
    expect(page.locator("#start-qr")).to_be_visible()
    assert page.locator("#start-qr").evaluate("img => img.naturalWidth") > 100
    expect(page.locator("#invoices li")).to_have_count(1)
    with page.expect_download() as dl:
        page.click("#statement-card button[data-format=pdf]")
    assert Path(dl.value.path()).read_bytes()[:5] == b"%PDF-"
    screenshot(page, "admin-owner-ru-light")
    check_a11y(page)

    # ---- send the treasurer-owner's own statement to their Telegram as a PDF (the bot sends it:
    # tests/bot/test_statement_pdf.py); an owner without Telegram has no such button
    assert page.locator("#send-statement").count() == 0
    page.click("#tab-admin-owners")
    page.fill("#owner-search", "петров")
    page.locator("#owners-list li button").first.click()
    expect(page.locator("#owner-card h2")).to_have_text(NAMES[0])
    page.click("#send-statement")
    expect(page.locator("#telegram-card .status.ok")).to_contain_text("Отправлено")
    from tests.api._support import sql

    queued = sql(
        "SELECT n.kind FROM notifications n JOIN owners o ON o.id = n.owner_pk "
        "WHERE o.owner_id = :o AND o.community_id = :c AND n.kind = 'statement_pdf'",
        o=owners[0],
        c=v["id"],
    )
    assert len(queued) == 1

    # ---- the treasurer is an owner too: switch to their own account
    page.click("#mode-owner")
    expect(page.locator("#screen-title")).to_have_text("Мой счёт")
    expect(page.locator("#balance-card")).to_be_visible()
    page.click("#mode-admin")
    expect(page.locator("#screen-title")).to_have_text("Сводка")

    assert page.problems == []
    assert page.outside == []
    assert all("hash=" not in u and "auth_date" not in u for u in page.urls)
    page.context.close()

    # ---- the same screens in English, dark
    page = new_page(browser, server, color_scheme="dark")
    page.goto(app_url(server, treasurer_tg, language_code="en"))
    expect(page.locator("#screen-title")).to_have_text("Overview")
    page.select_option("#period-picker", str(pid))
    expect(page.locator("#debtors-count")).to_contain_text(f"{n} debtors")
    expect(page.locator("#collected")).to_have_text(re.compile(r"^[\d,]+\.00 RUB$"))
    screenshot(page, "admin-dashboard-en-dark")
    check_a11y(page)
    page.click("#tab-admin-periods")
    expect(page.locator(f"#period-{pid} .pill")).to_have_text("closed")
    screenshot(page, "admin-periods-en-dark")
    check_a11y(page)
    page.click("#mode-owner")
    expect(page.locator("#balance")).to_be_visible()  # loaded, not "Loading…"
    screenshot(page, "owner-en-dark")
    assert page.problems == []
    page.context.close()
    api.close()


TELEGRAM_CLIENT = """
window.__tg = [];
window.TelegramWebviewProxy = {postEvent: (name, data) => window.__tg.push([name, data ? JSON.parse(data) : null])};
"""
DARK_THEME = {
    "bg_color": "#17212b",
    "text_color": "#f5f5f5",
    "hint_color": "#a7b3bf",
    "link_color": "#6ab3f3",
    "button_color": "#5288c1",
    "button_text_color": "#ffffff",
    "secondary_bg_color": "#232e3c",
    "section_bg_color": "#17212b",
}


def test_inside_telegram_theme_main_button_and_back_button(browser: Any, server: str) -> None:
    """Launched the way Telegram launches it (launch parameters in the fragment, the client's
    postEvent bridge): Telegram's dark theme is applied, the Main Button submits the form on
    screen, the Back Button goes back — all through @tma.js/sdk."""
    import json
    from urllib.parse import quote

    from kopilka.auth.telegram import sign_init_data
    from tests.browser.conftest import BOT_TOKEN

    api = httpx.Client(base_url=server, timeout=30)
    tg = unique_id()
    v = new_village(api, admin_telegram_ids=[tg])
    oid = unique_id()
    assert (
        api.post(
            "/api/payments/owners",
            json={"owner_id": oid, "name": "Пётр Ильин"},
            headers=v["headers"],
        ).status_code
        == 201
    )
    (start, end), _ = _months()
    r = api.post(
        "/api/payments/periods",
        json={"name": "Месяц", "start_date": start, "end_date": end},
        headers=v["headers"],
    )
    pid = r.json()["id"]

    page = new_page(browser, server)
    page.add_init_script(TELEGRAM_CLIENT)
    # as today's clients send it: with the Ed25519 `signature` field (inside the HMAC too)
    user = {"id": tg, "first_name": "Kaznachei", "language_code": "ru", "allows_write_to_pm": True}
    init_data = sign_init_data(
        {
            "user": json.dumps(user, separators=(",", ":")),
            "auth_date": str(int(datetime.now(UTC).timestamp())),
            "signature": "c2lnbmVkIGJ5IFRlbGVncmFt",
        },
        BOT_TOKEN,
    )
    frag = "&".join(
        f"{k}={quote(val, safe='')}"
        for k, val in (
            ("tgWebAppData", init_data),
            ("tgWebAppVersion", "8.0"),
            ("tgWebAppPlatform", "tdesktop"),
            ("tgWebAppThemeParams", json.dumps(DARK_THEME)),
        )
    )
    page.goto(f"{server}/app#{frag}")
    expect(page.locator("#screen-title")).to_have_text("Сводка")
    assert page.evaluate("document.documentElement.dataset.theme") == "dark"
    bg = page.evaluate("getComputedStyle(document.body).backgroundColor")
    assert bg == "rgb(23, 33, 43)", bg
    events = lambda: page.evaluate("window.__tg")  # noqa: E731
    assert any(name == "web_app_ready" for name, _ in events())
    assert page.locator("#back").count() == 0, "inside Telegram the Back Button replaces the page's"

    # the Main Button carries the form's action and submits it
    page.click("#tab-admin-record")
    # a function, not an expression string: polling an expression needs eval(), which the
    # strict CSP (script-src 'self') refuses whenever the first check is false
    page.wait_for_function(
        "() => window.__tg.some(([n, d]) => n === 'web_app_setup_main_button' && d && d.is_visible && d.text === 'Записать взнос')"
    )
    page.select_option("#f-owner", str(oid))
    page.fill("#f-amount", "1234,50")
    page.evaluate("window.Telegram.WebView.receiveEvent('main_button_pressed', null)")
    expect(page.locator("#record-form .status")).to_contain_text("1\u00a0234,50\u00a0₽")
    rows = api.get(f"/api/payments/periods/{pid}/contributions", headers=v["headers"]).json()
    assert [r["amount"] for r in rows] == ["1234.50"]

    # the Back Button appears on a screen opened from another and goes back
    page.click("#tab-admin-owners")
    page.locator("#owners-list li button").first.click()
    expect(page.locator("#screen-title")).to_have_text("Собственник")
    page.wait_for_function(
        "() => window.__tg.some(([n, d]) => n === 'web_app_setup_back_button' && d && d.is_visible)"
    )
    page.evaluate("window.Telegram.WebView.receiveEvent('back_button_pressed', null)")
    expect(page.locator("#screen-title")).to_have_text("Собственники")
    assert page.problems == []
    assert page.outside == [], "nothing is loaded from telegram.org: the SDK is bundled"
    page.context.close()
    api.close()
