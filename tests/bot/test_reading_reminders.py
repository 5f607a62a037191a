"""Reading reminders (SPEC §3a): owners whose meters lack a reading, on the window's first day
and two days before its end, once per owner per window and occasion, as notification rows."""

from __future__ import annotations

from datetime import date
from typing import Any

from kopilka.db import transaction
from kopilka.plots.reminders import BEFORE_END, FIRST_DAY, occasion, queue_reading_reminders
from tests.bot.conftest import notifications_of
from tests.conftest import new_community, unique_id

P = "/api/payments"


def _post(client: Any, h: dict[str, str], path: str, body: dict[str, Any]) -> Any:
    r = client.post(P + path, json=body, headers=h)
    assert r.status_code == 201, r.text
    return r.json()


def _run(day: date) -> int:
    with transaction() as s:
        return queue_reading_reminders(s, day)


def test_occasions_of_a_window() -> None:
    w = {"from_day": 20, "to_day": 25}
    got = {d: occasion(w, date(2031, 3, d)) for d in range(1, 32)}
    assert [d for d, o in got.items() if o is not None] == list(range(20, 26))
    assert got[20] == (date(2031, 3, 20), date(2031, 3, 25), FIRST_DAY)
    assert got[22] is not None and got[22][2] == FIRST_DAY  # late: the first one still due
    assert got[23] == (date(2031, 3, 20), date(2031, 3, 25), BEFORE_END)
    assert got[25] is not None and got[25][2] == BEFORE_END
    # a window over the month's end
    w = {"from_day": 28, "to_day": 3}
    assert occasion(w, date(2031, 3, 29)) == (date(2031, 3, 28), date(2031, 4, 3), FIRST_DAY)
    assert occasion(w, date(2031, 4, 1)) == (date(2031, 3, 28), date(2031, 4, 3), BEFORE_END)
    assert occasion(w, date(2031, 4, 4)) is None
    # too short for a second reminder
    assert occasion({"from_day": 10, "to_day": 11}, date(2031, 3, 11)) == (
        date(2031, 3, 10),
        date(2031, 3, 11),
        FIRST_DAY,
    )


def test_owners_without_readings_are_reminded_once_per_window_and_occasion(client: Any) -> None:
    com = new_community(client, reading_window={"from_day": 20, "to_day": 25})
    h, cid = com["headers"], com["id"]
    _post(
        client, h, "/periods", {"name": "M", "start_date": "2031-03-01", "end_date": "2031-03-31"}
    )
    _post(
        client, h, "/periods", {"name": "A", "start_date": "2031-04-01", "end_date": "2031-04-30"}
    )
    sent, lazy, unlinked = unique_id(), unique_id(), unique_id()
    for oid, tg in ((sent, unique_id()), (lazy, unique_id()), (unlinked, None)):
        _post(client, h, "/owners", {"owner_id": oid, "language": "ru", "telegram_id": tg})
    meters = {}
    for n, oid in ((1, sent), (2, lazy), (3, unlinked)):
        plot = _post(
            client, h, "/plots", {"number": str(n), "area": "10", "owners": [{"owner_id": oid}]}
        )
        meters[oid] = _post(
            client,
            h,
            f"/plots/{plot['id']}/meters",
            {"meter_type": "ELECTRICITY", "serial": f"E-{n}"},
        )
    _post(
        client,
        h,
        f"/meters/{meters[sent]['id']}/readings",
        {"reading_date": "2031-03-19", "values": {"T1": "5"}},
    )

    def run(day: date) -> int:
        """Rows queued for this community by a look on ``day``."""
        before = len(notifications_of(cid, "reading_reminder"))
        _run(day)
        return len(notifications_of(cid, "reading_reminder")) - before

    assert run(date(2031, 3, 19)) == 0  # before the window
    assert run(date(2031, 3, 20)) == 1  # lazy only: sent has sent, unlinked has no chat
    assert run(date(2031, 3, 20)) == 0  # once
    assert run(date(2031, 3, 21)) == 0
    rows = notifications_of(cid, "reading_reminder")
    assert [(r[0], r[1].rsplit(":", 2)[1:]) for r in rows] == [(lazy, ["2031-03-20", FIRST_DAY])]
    payload = rows[0][2]
    assert payload["meters"] == [{"serial": "E-2", "plot_number": "2", "meter_type": "ELECTRICITY"}]
    assert payload["window_end"] == "2031-03-25" and payload["period_name"] == "M"
    # the scheduler's sweep runs the same look (nothing new on a day already looked at)
    from datetime import UTC, datetime

    from kopilka.scheduler import sweep

    assert "reading_reminders" in sweep(datetime(2031, 3, 21, 12, tzinfo=UTC))
    assert len(notifications_of(cid, "reading_reminder")) == 1
    assert run(date(2031, 3, 23)) == 1  # two days before the end
    assert run(date(2031, 3, 24)) == 0
    assert run(date(2031, 3, 26)) == 0  # after the window
    # the next window is another one; a reading sent stops the reminders
    _post(
        client,
        h,
        f"/meters/{meters[lazy]['id']}/readings",
        {"reading_date": "2031-04-02", "values": {"T1": "1"}},
    )
    assert run(date(2031, 4, 20)) == 1  # sent has no April reading yet; lazy has
    assert [r[0] for r in notifications_of(cid, "reading_reminder")] == [lazy, lazy, sent]


def test_the_reminder_in_both_languages() -> None:
    from kopilka_bot.texts import render

    payload = {
        "occasion": BEFORE_END,
        "period_id": 1,
        "period_name": "Март",
        "window_start": "2031-03-20",
        "window_end": "2031-03-25",
        "meters": [
            {"serial": "E-2<b>", "plot_number": "17а", "meter_type": "ELECTRICITY"},
            {"serial": "W-2", "plot_number": "17а", "meter_type": "SEWAGE"},
        ],
    }
    ru = render("reading_reminder", payload, "ru", "Сосенки")
    assert "остаётся два дня" in ru and "участок 17а, электричество, счётчик E-2&lt;b&gt;" in ru
    assert "sewage" in ru and "25 мар" in ru and "«Счётчики»" in ru
    en = render("reading_reminder", {**payload, "occasion": FIRST_DAY}, "en", "Sosenki")
    assert en.count("\n• plot 17а") == 2 and "Time to send your meter readings" in en
    assert "Mar 25" in en or "25 Mar" in en
