"""Group purchases in the Mini App (Chromium, live API process): the treasurer opens a list, the
owners order their own items (the others' are read-only to them) and see everyone's subtotals
live, the treasurer finalizes it into one expense and sees who pays what. Screenshots in Russian
and English; axe-core on the owner's and the treasurer's screens."""

from __future__ import annotations

import calendar
from datetime import UTC, date, datetime, timedelta
from typing import Any

import httpx
from playwright.sync_api import expect

from tests.browser.conftest import app_url, check_a11y, new_page, new_village, screenshot
from tests.conftest import unique_id


def _plain(text: str) -> str:
    return text.replace("\u00a0", " ").replace("\u202f", " ").replace("\u2009", " ")


def test_a_firewood_order_from_the_list_to_the_shares(browser: Any, server: str) -> None:
    api = httpx.Client(base_url=server, timeout=60)
    treasurer_tg, anna_tg, boris_tg = unique_id(), unique_id(), unique_id()
    v = new_village(api, admin_telegram_ids=[treasurer_tg])
    admin = v["headers"]
    anna, boris = unique_id(), unique_id()
    for oid, name, tg in ((anna, "Анна Соколова", anna_tg), (boris, "Борис Волков", boris_tg)):
        body = {"owner_id": oid, "name": name, "telegram_id": tg}
        assert api.post("/api/payments/owners", json=body, headers=admin).status_code == 201
    today = datetime.now(UTC).date()
    first = date(today.year, today.month, 1)
    last = date(today.year, today.month, calendar.monthrange(today.year, today.month)[1])
    r = api.post(
        "/api/payments/periods",
        json={"name": "Этот месяц", "start_date": str(first), "end_date": str(last)},
        headers=admin,
    )
    assert r.status_code == 201, r.text

    # the treasurer opens the list in the Mini App
    page = new_page(browser, server)
    page.goto(app_url(server, treasurer_tg, lang="ru"))
    page.click("#tab-admin-purchases")
    page.fill("#purchase-title", "Дрова берёзовые")
    page.fill("#purchase-deadline", str(today + timedelta(days=7)))
    page.click("#create-purchase-card button[type=submit]")
    expect(page.locator("#create-purchase-card .status.ok")).to_contain_text("Дрова берёзовые")
    purchases = api.get(f"/api/payments/periods/{r.json()['id']}/purchases", headers=admin).json()
    assert [p["title"] for p in purchases] == ["Дрова берёзовые"]
    pid = purchases[0]["id"]

    # Boris orders through the API (his phone); Anna in the Mini App
    r = api.post(
        f"/api/payments/purchases/{pid}/items",
        json={"description": "осина", "price": "4000", "quantity": 1},
        headers={"Authorization": "tma " + _init(boris_tg)},
    )
    assert r.status_code == 201, r.text
    owner = new_page(browser, server)
    owner.goto(app_url(server, anna_tg, lang="ru"))
    owner.click("#tab-owner-purchases")
    expect(owner.locator(f"#purchase-{pid}")).to_contain_text("Вы ещё ничего не заказали")
    owner.click(f"#purchase-{pid} button")
    owner.fill("#item-description", "берёза, м³")
    owner.fill("#item-price", "4 500,00")
    owner.fill("#item-quantity", "2")
    owner.click("#add-item-card button[type=submit]")
    expect(owner.locator("#add-item-card .status.ok, .status.ok")).to_contain_text("9 000,00")
    expect(owner.locator(f"#subtotals li[data-owner='{anna}']")).to_contain_text("9 000,00")
    expect(owner.locator(f"#subtotals li[data-owner='{boris}']")).to_contain_text("4 000,00")
    assert "13 000,00" in _plain(owner.inner_text("[data-testid=purchase-total]"))
    # her own item can be removed, Boris's is read-only to her
    items = owner.locator("#items li")
    expect(items).to_have_count(2)
    assert owner.locator("#items li.mine button").count() == 1
    assert owner.locator("#items li:not(.mine) button").count() == 0
    assert owner.problems == [] and owner.outside == []
    check_a11y(owner)
    screenshot(owner, "owner-purchase-ru-light")

    # the treasurer finalizes: one expense, each household its items + half the delivery
    page.click(f"#purchase-{pid} button")
    expect(page.locator(f"#subtotals li[data-owner='{anna}']")).to_contain_text("9 000,00")
    page.click("#lang-en")
    page.fill("#fin-amount", "16000")
    page.select_option("#fin-payer", str(boris))
    page.fill("#fin-vendor", "Лесхоз")
    page.once("dialog", lambda d: d.accept())
    page.click("#finalize-card button[type=submit]")
    expect(page.locator("#shares-card")).to_be_visible()
    expect(page.locator(f"#shares li[data-owner='{anna}']")).to_contain_text("10,500.00")
    expect(page.locator(f"#shares li[data-owner='{boris}']")).to_contain_text("5,500.00")
    expect(page.locator("#finalize-card")).to_have_count(0)
    check_a11y(page)
    screenshot(page, "admin-purchase-en-light")
    assert page.problems == [] and page.outside == []
    got = api.get(f"/api/payments/purchases/{pid}", headers=admin).json()
    assert got["status"] == "FINALIZED"
    e = api.get(f"/api/payments/expenses/{got['expense_id']}", headers=admin).json()
    assert e["amount"] == "16000.00" and e["paid_by_owner_id"] == boris
    assert {s["owner_id"]: (s["amount"], s["status"]) for s in e["shares"]} == {
        anna: ("10500.00", "UNPAID"),
        boris: ("5500.00", "PAID"),
    }
    # the owner's view is read-only now
    owner.reload()
    owner.click("#tab-owner-purchases")
    owner.click(f"#purchase-{pid} button")
    expect(owner.locator("#purchase-card")).to_contain_text("Оформлена")
    assert owner.locator("#add-item-card").count() == 0
    assert owner.locator("#items button").count() == 0


def _init(tg: int) -> str:
    from kopilka.auth.telegram import make_init_data

    return make_init_data(tg, "123456:TEST-TOKEN", first_name="Test", language_code="ru")
