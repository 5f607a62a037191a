"""The treasurer's screens on a 360-px phone (Telegram's narrowest common width), in Russian and
English, light and dark: nothing is cut or pushed off the side (every tab in sight, the period
picker's text inside its box, the budget table inside its card), and the server's sentences (an
expense's unallocated reason, an error's detail) read in the page's language."""

from __future__ import annotations

import calendar
from datetime import UTC, date, datetime
from typing import Any

import httpx
import pytest
from playwright.sync_api import expect

from tests.browser.conftest import (
    app_url,
    check_a11y,
    lose_first_answer,
    new_page,
    new_village,
    screenshot,
)
from tests.conftest import unique_id

pytestmark = pytest.mark.usefixtures("worker_stack")

# What is cut on a phone, measured in the page: the widths that stick out of the viewport, the
# tabs whose right edge is past it, the period picker whose chosen text is wider than its box, a table
# wider than its card.
LAYOUT = """() => {
  const width = document.documentElement.clientWidth;
  const out = [];
  if (document.documentElement.scrollWidth > width) {
    const wide = [...document.querySelectorAll('body *')].filter(
      (e) => e.getBoundingClientRect().right > width + 0.5 && ![...e.children].some(
        (c) => c.getBoundingClientRect().right > width + 0.5));
    out.push('page ' + document.documentElement.scrollWidth + ': ' + wide.slice(0, 3).map(
      (e) => e.tagName + '#' + e.id + '.' + e.className + ' ' + (e.textContent || '').slice(0, 30)).join(' | '));
  }
  for (const b of document.querySelectorAll('.tabs button')) {
    const r = b.getBoundingClientRect();
    if (r.right > width + 0.5 || r.left < -0.5) out.push('tab ' + b.textContent);
  }
  const ctx = document.createElement('canvas').getContext('2d');
  for (const s of document.querySelectorAll('select#period-picker')) {
    const cs = getComputedStyle(s);
    ctx.font = cs.fontWeight + ' ' + cs.fontSize + ' ' + cs.fontFamily;
    const text = s.options[s.selectedIndex] ? s.options[s.selectedIndex].text : '';
    const room = s.clientWidth - parseFloat(cs.paddingLeft) - parseFloat(cs.paddingRight) - 20;
    if (ctx.measureText(text).width > room) out.push('select #' + s.id + ': ' + text);
  }
  for (const t of document.querySelectorAll('table')) {
    const box = t.parentElement;
    if (t.scrollWidth > box.clientWidth + 0.5) out.push('table ' + t.scrollWidth + ' > ' + box.clientWidth);
  }
  return out;
}"""


def _month() -> tuple[str, str]:
    today = datetime.now(UTC).date()
    last = calendar.monthrange(today.year, today.month)[1]
    return date(today.year, today.month, 1).isoformat(), date(
        today.year, today.month, last
    ).isoformat()


def _an_expense_booked_once_though_its_answer_is_lost(
    page: Any, api: httpx.Client, admin: dict[str, str], pid: int
) -> None:
    """The treasurer's money form keeps its Idempotency-Key across a retry: the first answer is
    lost on the way back (the server booked it), the treasurer taps again, one expense."""
    before = len(api.get(f"/api/payments/periods/{pid}/expenses", headers=admin).json())
    lost: list[str] = []
    page.click("#tab-admin-record")
    page.route("**/expenses", lose_first_answer(lost))
    page.click("#kind-expense")
    page.fill("#f-amount", "150")
    page.fill("#f-type", "Охрана и видеонаблюдение")
    page.click("#record-form button[type=submit]")
    status = page.locator("#record-form .status, #record-form [role=alert]").first
    expect(status).to_be_visible()
    page.click("#record-form button[type=submit]")
    expect(page.locator("#record-form .status.ok")).to_contain_text("150,00")
    page.unroute("**/expenses")
    assert lost and lost[0]
    after = api.get(f"/api/payments/periods/{pid}/expenses", headers=admin).json()
    assert len(after) == before + 1, after
    page.click("#tab-admin-dashboard")


def test_the_treasurer_screens_fit_a_phone_in_both_languages_and_themes(
    browser: Any, server: str
) -> None:
    api = httpx.Client(base_url=server, timeout=60)
    tg = unique_id()
    v = new_village(api, admin_telegram_ids=[tg])
    admin = v["headers"]
    owners = [unique_id() for _ in range(3)]
    for i, oid in enumerate(owners):
        body = {"owner_id": oid, "name": f"Собственник с длинным именем {i}"}
        assert api.post("/api/payments/owners", json=body, headers=admin).status_code == 201
    start, end = _month()
    r = api.post(
        "/api/payments/periods",
        json={"name": "Этот месяц", "start_date": start, "end_date": end},
        headers=admin,
    )
    assert r.status_code == 201, r.text
    pid = r.json()["id"]
    for ptype, amount, strategy, meter in (
        ("Охрана и видеонаблюдение", "1234567.89", "PROPORTIONAL", None),
        ("Вода", "2400", "USAGE_BASED", "ВОДА"),
    ):
        body = {"payment_type": ptype, "budgeted_amount": amount, "allocation_strategy": strategy}
        if meter:
            body["meter_type"] = meter
        r = api.post(f"/api/payments/periods/{pid}/budget-items", json=body, headers=admin)
        assert r.status_code == 201, r.text
    for ptype, amount in (("Охрана и видеонаблюдение", "1000000"), ("Вода", "2400")):
        r = api.post(
            f"/api/payments/periods/{pid}/expenses",
            json={"amount": amount, "payment_type": ptype},
            headers=admin,
        )
        assert r.status_code == 201, r.text

    for lang, theme in (("ru", "light"), ("ru", "dark"), ("en", "light"), ("en", "dark")):
        page = new_page(browser, server, color_scheme=theme)
        page.goto(app_url(server, tg, language_code=lang, theme=theme))
        expect(page.locator("#screen-title")).to_have_text("Сводка" if lang == "ru" else "Overview")
        page.select_option("#period-picker", str(pid))
        expect(page.locator("#budget-vs-actual tbody tr")).to_have_count(2)
        # the water has no readings: its reason, said in the page's language
        reason = page.locator("#unallocated .muted")
        if lang == "ru":
            expect(reason).to_have_text("нулевой общий расход по счётчикам ВОДА")
        else:
            expect(reason).to_have_text("zero total consumption of ВОДА")
        assert page.evaluate(LAYOUT) == []
        screenshot(page, f"phone-dashboard-{lang}-{theme}")
        check_a11y(page)
        if lang == "ru" and theme == "light":
            _an_expense_booked_once_though_its_answer_is_lost(page, api, admin, pid)
        # each screen measured once its rows have arrived (measured before, a screen whose rows
        # overflowed passed whenever the check beat the data)
        loaded = {
            "admin-record": ("#record-form", 1),
            "admin-periods": ("#period-form", 1),
            "admin-owners": ("#owners-list li", 3),
            "admin-budget": ("#budget-items li", 2),
        }
        for tab, (rows, n) in loaded.items():
            page.click(f"#tab-{tab}")
            expect(page.locator(f"#tab-{tab}")).to_have_attribute("aria-current", "page")
            expect(page.locator(rows)).to_have_count(n)
            assert page.evaluate(LAYOUT) == [], tab
            if lang == "ru" and theme == "light" and tab == "admin-budget":
                screenshot(page, "phone-budget-ru-light")
        # an owner's card: their statement's table inside its card too
        page.click("#tab-admin-owners")
        page.locator("#owners-list li button").first.click()
        expect(page.locator("#statement tbody tr")).to_have_count(1)
        assert page.evaluate(LAYOUT) == []
        # an error's detail in the page's language: a period overlapping this one
        page.click("#tab-admin-periods")
        page.fill("#p-name", "Дубль")
        page.fill("#p-start", start)
        page.fill("#p-end", end)
        page.click("#period-form button[type=submit]")
        alert = page.locator("#app [role=alert]").first
        expect(alert).to_contain_text("пересекается" if lang == "ru" else "overlaps")
        if lang == "ru":
            expect(alert).not_to_contain_text("overlaps")
        assert page.evaluate(LAYOUT) == []
        if theme == "light":
            screenshot(page, f"phone-periods-{lang}-{theme}")
        assert page.problems == [] or all("409" in p for p in page.problems), page.problems
        page.context.close()
    api.close()
