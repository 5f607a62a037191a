"""The README's two-zone electricity month in Chromium against the live API and a real worker:
3 plots (one with two co-owners, one owner with two plots), the owners send their readings
through the Mini App's Meters screen, the treasurer sees who is missing on the Plots screen,
a bill of 12,345.67 with a loss closes with the README's exact figures."""

from __future__ import annotations

import calendar
import re
from datetime import UTC, date, datetime
from typing import Any

import httpx
import pytest
from playwright.sync_api import expect

from tests.browser.conftest import app_url, check_a11y, new_page, new_village, screenshot
from tests.conftest import unique_id

pytestmark = pytest.mark.usefixtures("worker_stack")

ANNA, BORIS, VERA = 101, 102, 103
# plot: (number, area, owners, initial T1/T2, the reading sent T1/T2)
PLOTS = [
    (
        "1",
        "600",
        [{"owner_id": ANNA, "fraction": "1/2"}, {"owner_id": BORIS}],
        ("1000", "500"),
        ("1650", "800"),
    ),
    ("2", "800", [{"owner_id": VERA}], ("2000", "1000"), ("2900", "1350")),
    ("3", "400", [{"owner_id": VERA}], ("300", "100"), ("520", "160")),
]


def _ok(r: httpx.Response, status: int = 201) -> Any:
    assert r.status_code == status, r.text
    return r.json()


def _send_reading(page: Any, meter_id: int, t1: str, t2: str) -> None:
    page.fill(f"#m{meter_id}-T1", t1)
    page.fill(f"#m{meter_id}-T2", t2)
    page.locator(f"#reading-form-{meter_id} button[type=submit]").click()
    expect(page.locator(f"#reading-form-{meter_id} .status.ok")).to_be_visible()


def test_the_two_zone_electricity_month_of_the_readme(browser: Any, server: str) -> None:
    api = httpx.Client(base_url=server, timeout=60)
    treasurer = unique_id()
    today = datetime.now(UTC).date()
    v = new_village(
        api,
        admin_telegram_ids=[treasurer],
        reading_window={"from_day": 1, "to_day": 31},
    )
    admin, P = v["headers"], "/api/payments"
    tg = {ANNA: unique_id(), BORIS: unique_id(), VERA: unique_id()}
    for oid, name in ((ANNA, "Анна"), (BORIS, "Борис"), (VERA, "Вера")):
        _ok(
            api.post(
                f"{P}/owners",
                json={"owner_id": oid, "name": name, "telegram_id": tg[oid]},
                headers=admin,
            )
        )
    last = calendar.monthrange(today.year, today.month)[1]
    period = _ok(
        api.post(
            f"{P}/periods",
            json={
                "name": "Electricity month",
                "start_date": date(today.year, today.month, 1).isoformat(),
                "end_date": date(today.year, today.month, last).isoformat(),
            },
            headers=admin,
        )
    )
    pid = period["id"]
    meters = {}
    for number, area, owners, initial, _ in PLOTS:
        plot = _ok(
            api.post(
                f"{P}/plots", json={"number": number, "area": area, "owners": owners}, headers=admin
            )
        )
        meters[number] = _ok(
            api.post(
                f"{P}/plots/{plot['id']}/meters",
                json={
                    "meter_type": "ELECTRICITY",
                    "serial": f"E-{number}",
                    "zones": 2,
                    "initial_readings": {"T1": initial[0], "T2": initial[1]},
                },
                headers=admin,
            )
        )["id"]
    _ok(
        api.post(
            f"{P}/periods/{pid}/budget-items",
            json={
                "payment_type": "ELECTRICITY",
                "budgeted_amount": "12000.00",
                "allocation_strategy": "TARIFF",
                "meter_type": "ELECTRICITY",
                "tariffs": {"T1": "5.12", "T2": "2.48"},
                "loss_strategy": "PROPORTIONAL",
            },
            headers=admin,
        )
    )
    _ok(
        api.post(
            f"{P}/periods/{pid}/expenses",
            json={"amount": "12345.67", "payment_type": "ELECTRICITY", "vendor": "Energosbyt"},
            headers=admin,
        )
    )

    # the treasurer's Plots screen: nobody has sent a reading yet
    page = new_page(browser, server)
    page.goto(app_url(server, treasurer, language_code="ru"))
    page.locator("#tab-admin-plots").click()
    expect(page.locator("#missing-readings li")).to_have_count(3)
    expect(page.locator("#readings-summary")).to_contain_text("0 из 3")
    screenshot(page, "plots-admin-missing-ru-light")
    check_a11y(page)
    page.context.close()

    # Anna sends plot 1's reading (Boris, her co-owner, need not); Vera sends both of hers
    for who, numbers in ((ANNA, ["1"]), (VERA, ["2", "3"])):
        page = new_page(browser, server)
        page.goto(app_url(server, tg[who], language_code="ru"))
        page.locator("#tab-owner-readings").click()
        for number in numbers:
            sent = next(p[4] for p in PLOTS if p[0] == number)
            initial = next(p[3] for p in PLOTS if p[0] == number)
            expect(page.locator(f"#previous-{meters[number]}")).to_contain_text(
                f"День (T1) {initial[0]}"
            )
            _send_reading(page, meters[number], sent[0], sent[1])
        if who == VERA:
            expect(page.locator("#my-consumption")).to_contain_text("всего 1530")
            screenshot(page, "plots-owner-readings-ru-light")
            check_a11y(page)
        page.context.close()

    # the treasurer sees every reading in, then the sheet's TARIFF item and its loss
    page = new_page(browser, server)
    page.goto(app_url(server, treasurer, language_code="ru"))
    page.locator("#tab-admin-plots").click()
    expect(page.locator("#readings-summary")).to_contain_text("3 из 3")
    expect(page.locator("#missing-readings")).to_have_count(0)
    screenshot(page, "plots-admin-all-in-ru-light")
    page.context.close()

    sheet = _ok(api.get(f"{P}/periods/{pid}/balance-sheet", headers=admin), 200)
    tariff = next(p for p in sheet["pools"] if p["strategy"] == "TARIFF")["tariff"]
    assert tariff["tariff_total"] == "10823.20" and tariff["loss"] == "1522.47"
    assert {o["owner_id"]: (o["tariff_charge"], o["loss_share"]) for o in tariff["owners"]} == {
        ANNA: ("2036.00", "253.74"),
        BORIS: ("2036.00", "253.75"),
        VERA: ("6751.20", "1014.98"),
    }
    job = _ok(api.post(f"{P}/periods/{pid}/close", headers={**admin, "Prefer": "wait=60"}), 200)
    assert job["status"] == "SUCCEEDED", job
    closed = _ok(api.get(f"{P}/periods/{pid}/balance-sheet", headers=admin), 200)
    allocated = {e["owner_id"]: e["total_allocated"] for e in closed["entries"]}
    assert allocated == {ANNA: "2289.74", BORIS: "2289.75", VERA: "7766.18"}
    assert closed["total_allocated"] == "12345.67"
    stored = next(p for p in closed["pools"] if p["strategy"] == "TARIFF")["tariff"]
    assert stored == tariff
    statement = _ok(api.get(f"{P}/owners/{VERA}/statement", headers=admin), 200)
    metered = statement["periods"][0]["metered"]
    assert metered == [
        {
            "pool": "type:electricity",
            "meter_type": "ELECTRICITY",
            "consumption": {"T1": "1120", "T2": "410"},
            "tariff_charge": "6751.20",
            "loss_share": "1014.98",
            "estimated": False,
        }
    ]
    assert statement["invoices"][0]["amount"] == "7766.18"
    assert statement["invoices"][0]["metered"] == metered
    assert re.fullmatch(r"[0-9]+", str(pid))
