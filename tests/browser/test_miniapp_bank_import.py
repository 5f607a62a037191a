"""The treasurer's bank import in the Mini App (Chromium, the live API, a real Celery worker):
upload the October 1C statement, watch the job end with its counts, then work the unmatched lines:
find the owner by name, book with "remember", set the bank's fee aside. And the owner's side:
their invoice carries the payment QR code the API draws."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import httpx
import pytest
from playwright.sync_api import expect

from tests.browser.conftest import app_url, check_a11y, new_page, new_village, screenshot
from tests.conftest import unique_id

pytestmark = pytest.mark.usefixtures("worker_stack")

DATA = Path(__file__).resolve().parents[1] / "shared" / "imports" / "data"
P = "/api/payments"
BANK = {
    "recipient": 'СНТ "Сосенки"', "account": "40703810938000012345", "bank_name": "ПАО Сбербанк",
    "bic": "044525225", "corr_account": "30101810400000000225", "inn": "5003012345",
}  # fmt: skip


WIDTH = "() => document.documentElement.scrollWidth"  # wider than 360: something is cut


def test_a_treasurer_imports_a_statement_and_assigns_the_rest(browser: Any, server: str) -> None:
    api = httpx.Client(base_url=server, timeout=60)
    tg = unique_id()
    v = new_village(api, admin_telegram_ids=[tg])
    admin = v["headers"]
    ids = {}
    for key, name in (("ivanov", "Иванов Иван Иванович"), ("sidorov", "Сидоров Пётр Алексеевич"),
                      ("smirnov_sr", "Смирнов Алексей Игоревич"), ("smirnov_jr", "Смирнов Алексей Игоревич")):  # fmt: skip
        ids[key] = unique_id()
        assert (
            api.post(
                f"{P}/owners", json={"owner_id": ids[key], "name": name}, headers=admin
            ).status_code
            == 201
        )
    r = api.post(
        f"{P}/plots",
        json={"number": "17", "area": "600", "owners": [{"owner_id": ids["ivanov"]}]},
        headers=admin,
    )
    assert r.status_code == 201, r.text
    for name, start, end in (
        ("Сентябрь 2026", "2026-09-01", "2026-09-30"),
        ("Октябрь 2026", "2026-10-01", "2026-10-31"),
    ):
        assert (
            api.post(
                f"{P}/periods",
                json={"name": name, "start_date": start, "end_date": end},
                headers=admin,
            ).status_code
            == 201
        )

    page = new_page(browser, server)
    page.goto(app_url(server, tg, language_code="ru"))
    page.click("#tab-admin-import")
    expect(page.locator("#import-upload")).to_contain_text("Загрузить банковскую выписку")
    page.set_input_files("#imp-file", str(DATA / "statement_2026-10.1c.txt"))
    page.click("#import-form button[type=submit]")
    expect(page.locator("[data-testid=job]")).to_contain_text("Импорт выписки", timeout=60_000)
    expect(page.locator("#import-counts [data-count=lines]")).to_have_text("9", timeout=60_000)
    counts = {
        k: page.locator(f"#import-counts [data-count={k}]").inner_text()
        for k in ("booked", "unmatched", "waiting", "duplicates")
    }
    assert counts == {"booked": "4", "unmatched": "3", "waiting": "2", "duplicates": "0"}, counts

    # Smirnov: two owners bear the name; the treasurer searches and picks the elder by his id
    line = page.locator(".import-line", has_text="СМИРНОВ АЛЕКСЕЙ ИГОРЕВИЧ")
    expect(line).to_have_attribute("data-status", "UNMATCHED")
    line_id = line.get_attribute("data-line")
    line.locator("input[list=import-owners]").fill(
        f"Смирнов Алексей Игоревич · {ids['smirnov_sr']}"
    )
    assert page.evaluate(WIDTH) <= 360, "the import's lines fit a phone"
    screenshot(page, "bank-import-ru-light")
    check_a11y(page)
    line.locator("button[type=submit]").click()
    expect(page.locator(f".import-line[data-line='{line_id}']")).to_have_count(0)
    imp = api.get(f"{P}/imports", headers=admin).json()[0]
    [booked] = [
        x
        for x in api.get(f"{P}/imports/{imp['id']}/lines", headers=admin).json()
        if str(x["id"]) == line_id
    ]
    assert (booked["status"], booked["owner_id"], booked["matched_by"]) == (
        "BOOKED",
        ids["smirnov_sr"],
        "ASSIGNED",
    )
    assert any(
        r["account"] == "40817810300000000088"
        for r in api.get(f"{P}/imports/rules", headers=admin).json()
    )

    # the bank's own fee is set aside
    page.click("[data-filter=WAITING]")
    fee = page.locator(".import-line", has_text="Комиссия за ведение счета")
    fee_id = fee.get_attribute("data-line")
    fee.locator("button.secondary").click()
    expect(page.locator(f".import-line[data-line='{fee_id}']")).to_have_count(0)
    page.click("[data-filter=IGNORED]")
    expect(page.locator(f".import-line[data-line='{fee_id}']")).to_have_attribute(
        "data-status", "IGNORED"
    )
    assert not page.problems, page.problems
    assert not page.outside, page.outside


def test_an_owner_sees_the_payment_qr_of_their_invoice(browser: Any, server: str) -> None:
    api = httpx.Client(base_url=server, timeout=60)
    tg = unique_id()
    v = new_village(api)
    admin = v["headers"]
    assert (
        api.patch(f"/api/communities/{v['id']}", json={"bank": BANK}, headers=admin).status_code
        == 200
    )
    owner = unique_id()
    assert (
        api.post(
            f"{P}/owners",
            json={"owner_id": owner, "name": "Иванов Иван", "telegram_id": tg},
            headers=admin,
        ).status_code
        == 201
    )
    pid = api.post(
        f"{P}/periods",
        json={"name": "Октябрь 2026", "start_date": "2026-10-01", "end_date": "2026-10-31"},
        headers=admin,
    ).json()["id"]
    assert (
        api.post(
            f"{P}/periods/{pid}/charges", json={"owner_id": owner, "amount": "4500"}, headers=admin
        ).status_code
        == 201
    )
    r = api.post(f"{P}/periods/{pid}/close", headers={**admin, "Prefer": "wait=60"})
    assert r.status_code == 200 and r.json()["status"] == "SUCCEEDED", r.text
    page = new_page(browser, server)
    page.goto(app_url(server, tg, language_code="ru"))
    qr = page.locator("#invoices .qr-pay img.qr")
    expect(qr).to_be_visible()
    assert qr.get_attribute("src").startswith("data:image/png;base64,")
    expect(page.locator("#invoices .qr-pay")).to_contain_text("Отсканируйте")
    assert page.evaluate(WIDTH) <= 360, "the invoice's QR and its caption fit a phone"
    screenshot(page, "owner-invoice-qr-ru-light")
    assert not page.problems, page.problems
