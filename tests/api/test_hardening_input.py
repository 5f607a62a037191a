"""Hardening (issue 13): input and HTTP defects that adversarial testing found, each with the
test that would have caught it: the strict amount grammar and JSON (item 6), the debt reminder
threshold (5), a PROPORTIONAL split naming an inactive owner (8), the 64-bit idempotency lock
(9), the error mapping (12) and the pagination Link (13)."""

from __future__ import annotations

import json
import threading
from decimal import Decimal
from typing import Any

import httpx
import pytest
from fastapi.testclient import TestClient

from tests.api._support import (
    PAYMENTS,
    assert_problem,
    counts,
    make_period,
    post,
    sql,
    usage_budget_item,
)
from tests.conftest import new_community, unique_id


def raw_json(client: Any, admin: dict[str, str], path: str, body: str | bytes) -> Any:
    """POST ``body`` as it is (JSON that a client library would not write); the answer."""
    content = body.encode() if isinstance(body, str) else body
    headers = {**admin, "Content-Type": "application/json"}
    return client.post(f"{PAYMENTS}{path}", content=content, headers=headers)


# ---------------------------------------------------------------- item 6: the amount grammar

BAD_AMOUNT_TEXTS = ["1_0.0_0", "١٠", "５", " 5.00 ", "+5", "1e2", "-5", "5,00", "1 000.00", "0x10"]


@pytest.mark.parametrize("amount", BAD_AMOUNT_TEXTS)
def test_an_amount_outside_the_strict_grammar_is_400_and_books_nothing(
    client, community, admin, period, amount
):
    before = counts(community["id"])
    r = client.post(
        f"{PAYMENTS}/periods/{period['id']}/contributions",
        json={"owner_id": unique_id(), "amount": amount},
        headers=admin,
    )
    assert_problem(r, 400, "amount")
    assert counts(community["id"]) == before


@pytest.mark.parametrize("number", ["1e2", "1E2", "5.0e0", "-5", "-5.00"])
def test_a_json_number_amount_is_strict_too(client, community, admin, period, number):
    before = counts(community["id"])
    body = f'{{"owner_id": {unique_id()}, "amount": {number}}}'
    r = raw_json(client, admin, f"/periods/{period['id']}/contributions", body)
    assert_problem(r, 400)
    assert counts(community["id"]) == before


def test_the_strict_grammar_still_takes_plain_amounts(client, admin, period):
    owner = unique_id()
    for text, expected in [("5", "5.00"), ("5.5", "5.50"), ("0.01", "0.01"), ("12.", "12.00")]:
        r = client.post(
            f"{PAYMENTS}/periods/{period['id']}/contributions",
            json={"owner_id": owner, "amount": text},
            headers=admin,
        )
        assert r.status_code == 201, r.text
        assert r.json()["amount"] == expected
    r = raw_json(
        client,
        admin,
        f"/periods/{period['id']}/contributions",
        b'{"owner_id": %d, "amount": 7.25}' % owner,
    )
    assert r.status_code == 201 and r.json()["amount"] == "7.25", r.text


def test_the_largest_amount_is_999_999_999_999_99(client, admin, period):
    url = f"{PAYMENTS}/periods/{period['id']}/contributions"
    owner = unique_id()
    r = client.post(url, json={"owner_id": owner, "amount": "999999999999.99"}, headers=admin)
    assert r.status_code == 201, r.text
    r = client.post(url, json={"owner_id": owner, "amount": "1000000000000.00"}, headers=admin)
    assert_problem(r, 400, "too large")


def test_a_duplicated_json_key_is_400_not_the_last_value(client, community, admin, period):
    before = counts(community["id"])
    body = f'{{"owner_id": {unique_id()}, "amount": "1.00", "amount": "2.00"}}'
    r = raw_json(client, admin, f"/periods/{period['id']}/contributions", body)
    assert_problem(r, 400, "amount", "more than once")
    assert counts(community["id"]) == before
    # nested objects too (a split)
    body = (
        '{"amount": "3.00", "payment_type": "X", '
        '"split": {"strategy": "EQUAL", "strategy": "NONE"}}'
    )
    r = raw_json(client, admin, f"/periods/{period['id']}/expenses", body)
    assert_problem(r, 400, "more than once")
    assert counts(community["id"]) == before


@pytest.mark.parametrize(
    ("path", "body"),
    [
        ("contributions", {"owner_id": True, "amount": "5.00"}),
        ("charges", {"owner_id": False, "amount": "5.00"}),
        ("expenses", {"paid_by_owner_id": True, "amount": "5.00", "payment_type": "X"}),
        ("settlements", {"from_owner_id": True, "to_owner_id": 2, "amount": "5.00"}),
    ],
)
def test_a_boolean_where_an_id_is_expected_is_400(client, community, admin, period, path, body):
    before = counts(community["id"])
    r = client.post(f"{PAYMENTS}/periods/{period['id']}/{path}", json=body, headers=admin)
    assert_problem(r, 400, "true" if True in body.values() else "false")
    assert counts(community["id"]) == before


def test_a_boolean_in_a_list_of_ids_is_400(client):
    r = client.post(
        "/api/communities",
        json={"name": "Bools", "currency": "RUB", "admin_telegram_ids": [True]},
        headers={"X-API-Key": "test-operator-key"},
    )
    assert_problem(r, 400)


# ---------------------------------------------------------------- item 5: the threshold


@pytest.mark.parametrize("threshold", ["-1.00", -1, "-0.01"])
def test_a_negative_debt_reminder_threshold_is_400(client, community, admin, threshold):
    r = client.patch(
        f"/api/communities/{community['id']}",
        json={"debt_reminder_threshold": threshold},
        headers=admin,
    )
    assert_problem(r, 400, "debt_reminder_threshold")
    r = client.post(
        "/api/communities",
        json={"name": "Negative", "currency": "RUB", "debt_reminder_threshold": threshold},
        headers={"X-API-Key": "test-operator-key"},
    )
    assert_problem(r, 400, "debt_reminder_threshold")


def test_a_reminder_goes_only_to_a_debt(client, db_session):
    """Even with a threshold below zero in the table (written before the check existed), an
    owner in credit is never told about a "debt"."""
    from datetime import date

    from kopilka.notifications.reminders import queue_debt_reminders

    c = new_community(client)
    admin = c["headers"]
    pid = make_period(client, admin, start="2026-01-01", end="2026-12-31")["id"]
    creditor, debtor = unique_id(), unique_id()
    for oid in (creditor, debtor):
        post(client, admin, "/owners", {"owner_id": oid, "telegram_id": unique_id()})
    post(client, admin, f"/periods/{pid}/contributions", {"owner_id": creditor, "amount": "50"})
    post(client, admin, f"/periods/{pid}/charges", {"owner_id": debtor, "amount": "30"})
    sql(
        "UPDATE communities SET debt_reminder_threshold_minor = -10000 WHERE id = :c",
        c=c["id"],
    )
    try:
        queue_debt_reminders(db_session, date(2026, 6, 1))
        rows = db_session.execute(
            __import__("sqlalchemy").text(
                "SELECT o.owner_id FROM notifications n JOIN owners o ON o.id = n.owner_pk "
                "WHERE n.community_id = :c AND n.kind = 'debt_reminder'"
            ),
            {"c": c["id"]},
        ).all()
    finally:
        sql("UPDATE communities SET debt_reminder_threshold_minor = NULL WHERE id = :c", c=c["id"])
    assert [r[0] for r in rows] == [debtor]


# ---------------------------------------------------------------- item 8: inactive owner weight


def test_a_proportional_split_naming_an_inactive_owner_uses_their_weight(client, admin, period):
    heavy, light = unique_id(), unique_id()
    post(client, admin, "/owners", {"owner_id": heavy, "share_weight": "3"})
    post(client, admin, "/owners", {"owner_id": light, "share_weight": "1"})
    post(
        client,
        admin,
        f"/periods/{period['id']}/expenses",
        {
            "amount": "100.00",
            "payment_type": "Roof",
            "split": {"strategy": "PROPORTIONAL", "owners": [heavy, light]},
        },
    )
    # the owner leaves after the expense was recorded: the split still names them
    r = client.patch(f"{PAYMENTS}/owners/{heavy}", json={"is_active": False}, headers=admin)
    assert r.status_code == 200, r.text
    sheet = client.get(f"{PAYMENTS}/periods/{period['id']}/balance-sheet", headers=admin).json()
    allocated = {e["owner_id"]: e["total_allocated"] for e in sheet["entries"]}
    assert allocated[heavy] == "75.00" and allocated[light] == "25.00", allocated


# ---------------------------------------------------------------- item 9: the idempotency lock


def _hashtext_collision(scope: int) -> tuple[str, str]:
    """Two Idempotency-Keys whose 32-bit ``hashtext`` lock of the old scheme collide."""
    rows = sql(
        """
        SELECT min(k), max(k) FROM (
            SELECT 'key-' || g AS k, hashtext('idem:' || :s || chr(58) || 'key-' || g) AS h
            FROM generate_series(1, 300000) AS g
        ) AS t GROUP BY h HAVING count(*) > 1 LIMIT 1
        """,
        s=str(scope),
    )
    assert rows, "no collision in 300,000 keys"
    return rows[0][0], rows[0][1]


def test_keys_whose_32_bit_hashes_collide_do_not_block_each_other(live_server):
    """Key A is in flight (its request waits on a locked period); key B, whose 32-bit hash is
    A's, posts into another period: it must be booked, not answered 409 "still in flight"."""
    with httpx.Client(base_url=live_server, timeout=30) as http:
        c = new_community(http)
        admin = c["headers"]
        p1 = make_period(http, admin)["id"]
        p2 = make_period(http, admin, name="December 2025", start="2025-12-01", end="2025-12-31")[
            "id"
        ]
        key_a, key_b = _hashtext_collision(c["id"])
        owner = unique_id()
        post(http, admin, f"/periods/{p1}/contributions", {"owner_id": owner, "amount": "1"})

        from kopilka.db import get_engine

        blocker = get_engine().connect()
        tx = blocker.begin()
        blocker.exec_driver_sql(f"SELECT id FROM periods WHERE id = {p1} FOR UPDATE")
        answers: dict[str, Any] = {}

        def first() -> None:
            answers["a"] = http.post(
                f"{PAYMENTS}/periods/{p1}/contributions",
                json={"owner_id": owner, "amount": "2"},
                headers={**admin, "Idempotency-Key": key_a},
            )

        t = threading.Thread(target=first)
        t.start()
        try:
            # wait until A holds its key and waits for the period
            for _ in range(200):
                waiting = sql(
                    "SELECT count(*) FROM pg_stat_activity WHERE wait_event_type = 'Lock' "
                    "AND query LIKE '%periods%' AND datname = current_database()"
                )[0][0]
                if waiting:
                    break
                threading.Event().wait(0.05)
            assert waiting, "request A never reached the period lock"
            b = http.post(
                f"{PAYMENTS}/periods/{p2}/contributions",
                json={"owner_id": owner, "amount": "3"},
                headers={**admin, "Idempotency-Key": key_b},
            )
        finally:
            tx.rollback()
            blocker.close()
            t.join(30)
        assert b.status_code == 201, b.text
        assert answers["a"].status_code == 201, answers["a"].text

    from kopilka.idempotency import lock_id as idempotency_lock_id

    assert idempotency_lock_id(c["id"], key_a) != idempotency_lock_id(c["id"], key_b)


# ---------------------------------------------------------------- item 12: error mapping


@pytest.fixture
def error_app() -> Any:
    """The real application with a few routes that make the database fail in real ways."""
    from sqlalchemy import create_engine, text
    from sqlalchemy.orm import Session

    from kopilka.config import get_settings
    from kopilka_api.app import create_app

    app = create_app()
    url = get_settings().database_url

    @app.get("/test-errors/programming")
    def programming() -> None:
        with Session(create_engine(url, poolclass=__import__("sqlalchemy").pool.NullPool)) as s:
            s.execute(text("SELECT no_such_column FROM periods"))

    @app.get("/test-errors/fk")
    def foreign_key() -> None:
        with Session(create_engine(url, poolclass=__import__("sqlalchemy").pool.NullPool)) as s:
            s.execute(
                text(
                    "INSERT INTO periods (community_id, name, start_date, end_date, status, "
                    "version) VALUES (-1, 'x', '2020-01-01', '2020-01-31', 'OPEN', 1)"
                )
            )

    @app.get("/test-errors/duplicate/{community_id}")
    def duplicate(community_id: int) -> None:
        with Session(create_engine(url, poolclass=__import__("sqlalchemy").pool.NullPool)) as s:
            s.execute(
                text(
                    "INSERT INTO periods (community_id, name, start_date, end_date, status, "
                    "version) VALUES (:c, 'Same', '2020-01-01', '2020-01-31', 'OPEN', 1), "
                    "(:c, 'Same', '2020-02-01', '2020-02-28', 'OPEN', 1)"
                ),
                {"c": community_id},
            )

    @app.get("/test-errors/pool")
    def pool() -> None:
        engine = create_engine(url, pool_size=1, max_overflow=0, pool_timeout=0.2)
        held = engine.connect()
        try:
            with engine.connect():
                pass
        finally:
            held.close()
            engine.dispose()

    @app.get("/test-errors/unreachable")
    def unreachable() -> None:
        engine = create_engine(
            "postgresql+psycopg://postgres@127.0.0.1:1/x", connect_args={"connect_timeout": 2}
        )
        with engine.connect():
            pass

    return app


def test_a_programming_error_is_a_500_with_the_request_id(error_app):
    with TestClient(error_app, raise_server_exceptions=False) as c:
        r = c.get("/test-errors/programming", headers={"X-Request-ID": "req-prog-1"})
    body = assert_problem(r, 500, "req-prog-1")
    assert body["request_id"] == "req-prog-1"


def test_only_conflict_constraints_are_409(client, error_app):
    community = new_community(client)
    with TestClient(error_app, raise_server_exceptions=False) as c:
        r = c.get(f"/test-errors/duplicate/{community['id']}")
        body = assert_problem(r, 409, "name already exists")
        assert body["constraint"] == "uq_periods_community_id"
        r = c.get("/test-errors/fk")
        assert_problem(r, 500)


def test_pool_exhaustion_and_a_lost_database_are_503_with_retry_after(error_app):
    with TestClient(error_app, raise_server_exceptions=False) as c:
        for path in ("/test-errors/pool", "/test-errors/unreachable"):
            r = c.get(path)
            assert_problem(r, 503, "retry")
            assert int(r.headers["Retry-After"]) >= 1


# ---------------------------------------------------------------- item 13: the Link header


def test_the_pagination_link_never_comes_from_the_host_header(client, admin, period):
    owner = unique_id()
    for amount in ("1", "2", "3"):
        post(
            client,
            admin,
            f"/periods/{period['id']}/contributions",
            {"owner_id": owner, "amount": amount},
        )
    r = client.get(
        f"{PAYMENTS}/periods/{period['id']}/contributions?limit=2",
        headers={**admin, "Host": "evil.example"},
    )
    assert r.status_code == 200, r.text
    link = r.headers["Link"]
    assert "evil.example" not in link
    target = link.split(";")[0].strip("<>")
    assert target.startswith(f"{PAYMENTS}/periods/{period['id']}/contributions?"), link
    r2 = client.get(target, headers=admin)
    assert r2.status_code == 200 and len(r2.json()) == 1
    assert json.loads(r2.text)[0]["amount"] == "3.00"
    assert Decimal(r.json()[0]["amount"]) == Decimal("1.00")


# ---------------------------------------------------------------- item 7: USAGE_BASED needs a meter


def test_a_usage_based_split_without_a_meter_type_is_400_when_recorded(
    client, community, admin, period
):
    pid = period["id"]
    owner = unique_id()
    post(client, admin, "/owners", {"owner_id": owner})
    before = counts(community["id"])
    r = client.post(
        f"{PAYMENTS}/periods/{pid}/expenses",
        json={"amount": "10.00", "payment_type": "Pump", "split": {"strategy": "USAGE_BASED"}},
        headers=admin,
    )
    assert_problem(r, 400, "meter")
    assert counts(community["id"]) == before
    # naming the meter type in the split, or a USAGE_BASED budget item of the type, is enough
    r = client.post(
        f"{PAYMENTS}/periods/{pid}/expenses",
        json={
            "amount": "10.00",
            "payment_type": "Pump",
            "split": {"strategy": "USAGE_BASED", "meter_type": "water"},
        },
        headers=admin,
    )
    assert r.status_code == 201, r.text
    usage_budget_item(client, admin, pid, "Gas", "GAS", "5")
    r = client.post(
        f"{PAYMENTS}/periods/{pid}/expenses",
        json={"amount": "10.00", "payment_type": "gas", "split": {"strategy": "USAGE_BASED"}},
        headers=admin,
    )
    assert r.status_code == 201, r.text
    post(
        client,
        admin,
        f"/periods/{pid}/meter-readings",
        {"owner_id": owner, "meter_type": "WATER", "start_reading": 1, "end_reading": 3},
    )
    sheet = client.get(f"{PAYMENTS}/periods/{pid}/balance-sheet", headers=admin).json()
    water = [p for p in sheet.get("pools", []) if p.get("payment_type") == "Pump"]
    assert not water or all(p.get("reason") is None for p in water), water
