"""Idempotency-Key on every money POST (SPEC §6): the same key and body replay the first answer,
another body is 422, a request still in flight is 409, keys are scoped to the community."""

from __future__ import annotations

import random
import threading
import time
from typing import Any

import httpx
import pytest
from sqlalchemy import text

from tests.api._support import (
    PAYMENTS,
    assert_problem,
    audit,
    concurrently,
    counts,
    make_period,
    scalar,
    set_period_status,
)
from tests.conftest import new_community, unique_id


def _key() -> str:
    return f"key-{unique_id()}"


BODIES: dict[str, dict[str, Any]] = {
    "contributions": {"owner_id": 11, "amount": "500.00", "date": "2025-11-05"},
    "expenses": {"paid_by_owner_id": 11, "amount": "200.00", "payment_type": "SECURITY"},
    "charges": {"owner_id": 11, "amount": "15.00"},
    "settlements": {"from_owner_id": 11, "to_owner_id": 12, "amount": "5.00"},
    "meter-readings": {"owner_id": 11, "meter_type": "WATER", "start_reading": 1, "end_reading": 9},
    "budget-items": {"payment_type": "SECURITY", "budgeted_amount": "200.00"},
}
CHANGED: dict[str, dict[str, Any]] = {
    "contributions": {"amount": "500.01"},
    "expenses": {"amount": "200.01"},
    "charges": {"amount": "15.01"},
    "settlements": {"amount": "5.01"},
    "meter-readings": {"end_reading": 10},
    "budget-items": {"budgeted_amount": "200.01"},
}
TABLE = {
    "contributions": "contributions",
    "expenses": "expenses",
    "charges": "service_charges",
    "settlements": "settlements",
    "meter-readings": "meter_readings",
    "budget-items": "budget_items",
}


@pytest.mark.parametrize("kind", list(BODIES))
def test_same_key_and_body_replays_the_first_answer(client, community, admin, period, kind):
    url = f"{PAYMENTS}/periods/{period['id']}/{kind}"
    headers = {**admin, "Idempotency-Key": _key()}
    first = client.post(url, json=BODIES[kind], headers=headers)
    assert first.status_code == 201, first.text
    after_first = counts(community["id"])

    again = client.post(url, json=BODIES[kind], headers=headers)
    assert again.status_code == 201
    assert again.json() == first.json()
    assert again.headers["Idempotent-Replayed"] == "true"
    assert again.headers.get("Location") == first.headers.get("Location")
    assert counts(community["id"]) == after_first  # no second row, entry or audit line
    assert (
        scalar(f"SELECT count(*) FROM {TABLE[kind]} WHERE community_id = :c", c=community["id"])
        == 1
    )

    changed = {**BODIES[kind], **CHANGED[kind]}
    other = client.post(url, json=changed, headers=headers)
    assert_problem(other, 422, "Idempotency-Key")
    assert counts(community["id"]) == after_first


def test_the_same_json_written_differently_is_the_same_body(client, admin, period):
    url = f"{PAYMENTS}/periods/{period['id']}/contributions"
    headers = {**admin, "Idempotency-Key": _key(), "Content-Type": "application/json"}
    first = client.post(url, content=b'{"owner_id": 5, "amount": 500.00}', headers=headers)
    assert first.status_code == 201, first.text
    again = client.post(url, content=b'{ "amount":500.00,\n"owner_id":5 }', headers=headers)
    assert again.status_code == 201
    assert again.json()["id"] == first.json()["id"]


def test_a_key_on_another_endpoint_is_another_request(client, community, admin, period):
    key = _key()
    pid = period["id"]
    body = {"owner_id": 5, "amount": "5.00"}
    r = client.post(
        f"{PAYMENTS}/periods/{pid}/contributions",
        json=body,
        headers={**admin, "Idempotency-Key": key},
    )
    assert r.status_code == 201
    before = counts(community["id"])
    r = client.post(
        f"{PAYMENTS}/periods/{pid}/charges", json=body, headers={**admin, "Idempotency-Key": key}
    )
    assert_problem(r, 422)
    assert counts(community["id"]) == before


def test_keys_are_scoped_to_the_community(client, community, admin, period):
    key = _key()
    body = {"owner_id": 5, "amount": "5.00", "date": "2025-11-05"}
    a = client.post(
        f"{PAYMENTS}/periods/{period['id']}/contributions",
        json=body,
        headers={**admin, "Idempotency-Key": key},
    )
    assert a.status_code == 201
    other = new_community(client)
    other_period = make_period(client, other["headers"])
    b = client.post(
        f"{PAYMENTS}/periods/{other_period['id']}/contributions",
        json=body,
        headers={**other["headers"], "Idempotency-Key": key},
    )
    assert b.status_code == 201, b.text
    assert "Idempotent-Replayed" not in b.headers
    assert b.json()["id"] != a.json()["id"]
    assert b.json()["period_id"] == other_period["id"]
    assert counts(other["id"])["contributions"] == 1
    assert counts(community["id"])["contributions"] == 1


def test_a_failed_request_does_not_use_up_its_key(client, community, admin, period):
    url = f"{PAYMENTS}/periods/{period['id']}/contributions"
    headers = {**admin, "Idempotency-Key": _key()}
    bad = client.post(
        url, json={"owner_id": 5, "amount": "5", "date": "2024-01-01"}, headers=headers
    )
    assert_problem(bad, 400)
    assert counts(community["id"])["idempotency_records"] == 0
    good = client.post(url, json={"owner_id": 5, "amount": "5"}, headers=headers)
    assert good.status_code == 201, good.text
    assert "Idempotent-Replayed" not in good.headers


def test_a_replay_answers_even_after_the_period_closed(client, admin, period):
    url = f"{PAYMENTS}/periods/{period['id']}/contributions"
    headers = {**admin, "Idempotency-Key": _key()}
    first = client.post(url, json={"owner_id": 5, "amount": "5"}, headers=headers)
    assert first.status_code == 201
    set_period_status(period["id"], "CLOSED")
    again = client.post(url, json={"owner_id": 5, "amount": "5"}, headers=headers)
    assert again.status_code == 201
    assert again.json() == first.json()
    fresh = client.post(url, json={"owner_id": 5, "amount": "5"}, headers=admin)
    assert_problem(fresh, 409, "CLOSED")


@pytest.mark.parametrize("key", ["x" * 256, "   "], ids=["too-long", "blank"])
def test_a_malformed_key_is_400(client, community, admin, period, key):
    before = counts(community["id"])
    r = client.post(
        f"{PAYMENTS}/periods/{period['id']}/contributions",
        json={"owner_id": 5, "amount": "5"},
        headers={**admin, "Idempotency-Key": key},
    )
    assert_problem(r, 400, "Idempotency-Key")
    assert counts(community["id"]) == before


def test_a_request_still_in_flight_is_409(client, community, admin, period):
    from kopilka.db import get_engine
    from kopilka.idempotency import lock_id as idempotency_lock_id

    key = _key()
    url = f"{PAYMENTS}/periods/{period['id']}/contributions"
    with get_engine().connect() as conn, conn.begin():
        # what the first request holds while it runs
        conn.execute(
            text("SELECT pg_advisory_xact_lock(:k)"),
            {"k": idempotency_lock_id(community["id"], key)},
        )
        r = client.post(
            url, json={"owner_id": 5, "amount": "5"}, headers={**admin, "Idempotency-Key": key}
        )
        assert_problem(r, 409, "in flight")
        assert counts(community["id"])["contributions"] == 0
    r = client.post(
        url, json={"owner_id": 5, "amount": "5"}, headers={**admin, "Idempotency-Key": key}
    )
    assert r.status_code == 201, r.text


def test_periods_and_owners_posts_honour_the_key_too(client, community, admin):
    headers = {**admin, "Idempotency-Key": _key()}
    body = {"name": "Q1", "start_date": "2026-01-01", "end_date": "2026-03-31"}
    a = client.post(f"{PAYMENTS}/periods", json=body, headers=headers)
    b = client.post(f"{PAYMENTS}/periods", json=body, headers=headers)
    assert (a.status_code, b.status_code) == (201, 201)
    assert a.json() == b.json()
    headers = {**admin, "Idempotency-Key": _key()}
    a = client.post(f"{PAYMENTS}/owners", json={"owner_id": 77}, headers=headers)
    b = client.post(f"{PAYMENTS}/owners", json={"owner_id": 77}, headers=headers)
    assert (a.status_code, b.status_code) == (201, 201)
    assert counts(community["id"])["periods"] == 1
    assert counts(community["id"])["owners"] == 1


# ---------------------------------------------------------------- real concurrency


# What a client retries: the key is in flight (409), or the server is out of database
# connections (503; other test sessions share the PostgreSQL server). Nothing else.
RETRYABLE = {409, 503}


# One client for all threads (httpx.Client is thread-safe): no TLS context built per request.
HTTP = httpx.Client(timeout=60, limits=httpx.Limits(max_connections=100))


def _post_until_answered(url: str, body: Any, headers: dict[str, str]) -> list[httpx.Response]:
    """POST, retrying what a client retries; every answer, the last one final."""
    answers = []
    for attempt in range(100):
        r = HTTP.post(url, json=body, headers=headers)
        answers.append(r)
        if r.status_code not in RETRYABLE:
            break
        time.sleep(min(0.5, 0.02 * 2**attempt) * random.uniform(0.5, 1.0))
    return answers


def test_fifty_concurrent_requests_with_one_key_give_one_record(live_server, client):
    community = new_community(client)
    headers = {**community["headers"], "Idempotency-Key": _key()}
    period = make_period(client, community["headers"])
    url = f"{live_server}{PAYMENTS}/periods/{period['id']}/contributions"
    body = {"owner_id": unique_id(), "amount": "500.00", "date": "2025-11-05"}

    runs = concurrently(50, lambda _: _post_until_answered(url, body, headers))
    every = [r for answers in runs for r in answers]
    assert {r.status_code for r in every} <= {201} | RETRYABLE, [
        (r.status_code, r.text) for r in every if r.status_code not in {201} | RETRYABLE
    ]
    for r in every:
        if r.status_code != 201:
            assert r.headers["content-type"].startswith("application/problem+json")
    # the others were told the key is in flight while the first one ran
    assert any(r.status_code == 409 for r in every)
    finals = [answers[-1] for answers in runs]
    assert [r.status_code for r in finals] == [201] * 50, [r.text for r in finals]
    assert len({r.json()["id"] for r in finals}) == 1
    assert all(r.json() == finals[0].json() for r in finals)  # the same answer
    replayed = [r for r in finals if r.headers.get("Idempotent-Replayed") == "true"]
    assert len(replayed) == 49

    c = counts(community["id"])
    assert c["contributions"] == 1
    assert c["ledger_entries"] == 1
    assert c["idempotency_records"] == 1
    assert len(audit(community["id"], "contribution.create")) == 1


def test_concurrent_first_transactions_create_the_owner_once(live_server, client):
    community = new_community(client)
    period = make_period(client, community["headers"])
    url = f"{live_server}{PAYMENTS}/periods/{period['id']}/contributions"
    owner = unique_id()

    def call(i: int) -> list[httpx.Response]:
        # a key per request makes the retries safe
        headers = {**community["headers"], "Idempotency-Key": f"{_key()}-{i}"}
        return _post_until_answered(url, {"owner_id": owner, "amount": "1.00"}, headers)

    finals = [answers[-1] for answers in concurrently(20, call)]
    assert [r.status_code for r in finals] == [201] * 20, [r.text for r in finals]
    assert len({r.json()["id"] for r in finals}) == 20
    c = counts(community["id"])
    assert c["owners"] == 1
    assert c["contributions"] == 20
    assert len(audit(community["id"], "owner.auto_create")) == 1
    bal = HTTP.get(
        f"{live_server}{PAYMENTS}/periods/{period['id']}/balances/{owner}",
        headers=community["headers"],
    ).json()
    assert bal["total_contributions"] == "20.00"


def test_a_first_request_committing_during_the_claim_makes_the_second_409(
    live_server, client, community, admin, period
):
    """The key's lock and its record are read in one statement, whose snapshot predates the
    lock: a first request that commits in between is not seen by the second, which then does its
    work and meets the first one's record when it stores its own. It must answer 409 (in flight)
    and keep nothing, not record the payment twice."""
    from kopilka.db import get_engine

    key = _key()
    url = f"{live_server}{PAYMENTS}/periods/{period['id']}/contributions"
    body = {"owner_id": 5, "amount": "5"}
    answer: dict[str, httpx.Response] = {}
    with get_engine().connect() as conn:
        tx = conn.begin()
        # the first request's record, not yet committed (and not holding the advisory lock,
        # as if it had committed its work right after the second request took its snapshot)
        conn.execute(
            text(
                "INSERT INTO idempotency_records (community_id, key, request_hash, "
                "response_status, response_body, response_headers) "
                "VALUES (:c, :k, 'first', 201, '{}'::jsonb, '{}'::jsonb)"
            ),
            {"c": community["id"], "k": key},
        )
        second = threading.Thread(
            target=lambda: answer.setdefault(
                "r", HTTP.post(url, json=body, headers={**admin, "Idempotency-Key": key})
            )
        )
        second.start()
        # the second request waits on the first one's uncommitted record, at its store
        deadline = time.monotonic() + 30
        while not scalar(
            "SELECT count(*) FROM pg_stat_activity WHERE wait_event_type = 'Lock' "
            "AND query LIKE 'INSERT INTO idempotency_records%'"
        ):
            assert time.monotonic() < deadline, "the second request never reached its store"
            time.sleep(0.02)
        tx.commit()
    second.join(30)
    assert_problem(answer["r"], 409, "in flight")
    assert counts(community["id"])["contributions"] == 0
