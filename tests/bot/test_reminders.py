"""Debt reminders: owners whose debt passes the community's threshold, at most once a week."""

from __future__ import annotations

from datetime import date
from typing import Any

from kopilka.db import transaction
from kopilka.notifications.reminders import queue_debt_reminders
from tests.api._support import mkperiod
from tests.bot.conftest import notifications_of, scalar, sql
from tests.conftest import new_community, unique_id

P = "/api/payments"


def _owner(client: Any, admin: dict[str, str], telegram: bool = True) -> int:
    oid = unique_id()
    body: dict[str, Any] = {"owner_id": oid, "language": "ru"}
    if telegram:
        body["telegram_id"] = unique_id()
    r = client.post(f"{P}/owners", json=body, headers=admin)
    assert r.status_code == 201, r.text
    return oid


def _charge(client: Any, admin: dict[str, str], period_id: int, oid: int, amount: str) -> None:
    r = client.post(
        f"{P}/periods/{period_id}/charges",
        json={"owner_id": oid, "amount": amount, "description": "fee", "date": "2030-01-05"},
        headers=admin,
    )
    assert r.status_code == 201, r.text


def test_reminders_go_to_reachable_debtors_over_the_threshold_weekly(client: Any) -> None:
    com = new_community(client, debt_reminder_threshold="500.00")
    admin = com["headers"]
    cid = com["id"]
    assert scalar("SELECT debt_reminder_threshold_minor FROM communities WHERE id = :c", c=cid) == (
        50000
    )
    period_id = mkperiod(client, admin, "January 2030", "2030-01-01", "2030-01-31")
    big, small, exact, unlinked, payer = (
        _owner(client, admin),
        _owner(client, admin),
        _owner(client, admin),
        _owner(client, admin, telegram=False),
        _owner(client, admin),
    )
    _charge(client, admin, period_id, big, "1000.00")
    _charge(client, admin, period_id, small, "100.00")
    _charge(client, admin, period_id, exact, "500.00")  # not *larger* than the threshold
    _charge(client, admin, period_id, unlinked, "2000.00")
    r = client.post(
        f"{P}/periods/{period_id}/contributions",
        json={"owner_id": payer, "amount": "10.00", "date": "2030-01-05"},
        headers=admin,
    )
    assert r.status_code == 201

    with transaction() as session:
        queued = queue_debt_reminders(session, date(2030, 1, 7))
    mine = notifications_of(cid, "debt_reminder")
    assert queued >= 1
    assert [(o, k.rsplit(":", 1)[1]) for o, k, _ in mine] == [(big, "2030-W02")]
    payload = mine[0][2]
    assert payload == {
        "period_id": period_id,
        "period_name": "January 2030",
        "balance_minor": -100000,
        "currency": "RUB",
    }

    with transaction() as session:  # same week, any number of runs: nothing new
        queue_debt_reminders(session, date(2030, 1, 7))
        queue_debt_reminders(session, date(2030, 1, 9))
        queue_debt_reminders(session, date(2030, 1, 12))
    assert len(notifications_of(cid, "debt_reminder")) == 1
    looks = sql(
        "SELECT after->>'date' FROM audit_log WHERE community_id = :c "
        "AND action = 'notifications.debt_reminders' ORDER BY id",
        c=cid,
    )
    # once per day: the repeated run on the 7th did not even compute the balances again
    assert [d for (d,) in looks] == ["2030-01-07", "2030-01-09", "2030-01-12"]

    with transaction() as session:  # next week: once more
        queue_debt_reminders(session, date(2030, 1, 14))
    assert [k.rsplit(":", 1)[1] for _, k, _ in notifications_of(cid, "debt_reminder")] == [
        "2030-W02",
        "2030-W03",
    ]

    with transaction() as session:  # no OPEN period covering the day: nothing
        queue_debt_reminders(session, date(2030, 3, 1))
    assert len(notifications_of(cid, "debt_reminder")) == 2


def test_no_threshold_no_reminders(client: Any) -> None:
    com = new_community(client)
    admin = com["headers"]
    pid = mkperiod(client, admin, "Jan", "2030-01-01", "2030-01-31")
    oid = _owner(client, admin)
    _charge(client, admin, pid, oid, "100000.00")
    with transaction() as session:
        queue_debt_reminders(session, date(2030, 1, 7))
    assert notifications_of(com["id"], "debt_reminder") == []
