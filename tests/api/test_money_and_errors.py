"""Money at the edge (SPEC §2) and the error conventions (SPEC §6): problem+json with a human
detail, 400 / 401 / 403 / 404 / 405 / 409 / 412 / 413 / 422."""

from __future__ import annotations

import json
from typing import Any

import pytest

from tests.api._support import PAYMENTS, assert_problem, counts, make_period, post
from tests.conftest import OPERATOR, new_community, unique_id


def _raw_post(client: Any, url: str, raw: str, headers: dict[str, str]) -> Any:
    """POST a JSON text exactly as written (so that 500.00 stays a JSON number with decimals)."""
    return client.post(
        url, content=raw.encode(), headers={**headers, "Content-Type": "application/json"}
    )


@pytest.mark.parametrize(
    ("raw_amount", "shown"),
    [
        ('"500.00"', "500.00"),
        ("500.00", "500.00"),
        ("500", "500.00"),
        ('"500"', "500.00"),
        ("500.1", "500.10"),
        ("0.30", "0.30"),
        ("999999999999.99", "999999999999.99"),
    ],
)
def test_amounts_are_accepted_as_strings_and_numbers(client, admin, period, raw_amount, shown):
    url = f"{PAYMENTS}/periods/{period['id']}/contributions"
    r = _raw_post(client, url, f'{{"owner_id": 1, "amount": {raw_amount}}}', admin)
    assert r.status_code == 201, r.text
    assert r.json()["amount"] == shown
    assert json.loads(r.text)["amount"] == shown  # a string, never a JSON number


def test_decimal_amounts_stay_exact(client, admin, period):
    pid = period["id"]
    owner = unique_id()
    for raw in ("0.1", "0.2"):
        r = _raw_post(
            client,
            f"{PAYMENTS}/periods/{pid}/contributions",
            f'{{"owner_id": {owner}, "amount": {raw}}}',
            admin,
        )
        assert r.status_code == 201, r.text
    bal = client.get(f"{PAYMENTS}/periods/{pid}/balances/{owner}", headers=admin).json()
    assert bal["total_contributions"] == "0.30"
    assert bal["balance"] == "0.30"
    sheet = client.get(f"{PAYMENTS}/periods/{pid}/balance-sheet", headers=admin).json()
    assert sheet["total_contributions"] == "0.30"


def test_a_number_that_only_a_float_would_round_is_refused(client, community, admin, period):
    # As a binary float this is exactly 500.0; as a decimal it has 21 decimals: 400.
    before = counts(community["id"])
    r = _raw_post(
        client,
        f"{PAYMENTS}/periods/{period['id']}/contributions",
        '{"owner_id": 1, "amount": 500.000000000000000000001}',
        admin,
    )
    assert_problem(r, 400, "decimals")
    assert counts(community["id"]) == before


@pytest.mark.parametrize(
    ("raw_amount", "needle"),
    [
        ('"500.001"', "decimals"),
        ("500.001", "decimals"),
        ('"0.001"', "decimals"),
        ('"0"', "greater than zero"),
        ("0.00", "greater than zero"),
        ('"-5.00"', "amount"),
        ("-5", "sign"),
        ('"5e2"', "amount"),
        ('" 12.34 "', "amount"),
        ('"abc"', "amount"),
        ('""', "amount"),
        ("true", "amount"),
        ("null", "amount"),
        ("[]", "amount"),
        ('{"value": 5}', "amount"),
        ('"NaN"', "amount"),
        ('"Infinity"', "amount"),
        ('"1e999999999"', "amount"),
        ("1e999999999", "exponent"),
        ('"1e-999999999"', "amount"),
        ('"1000000000000.00"', "too large"),
        ('"10000000000000.01"', "too large"),
    ],
)
def test_invalid_amounts_are_400_and_store_nothing(
    client, community, admin, period, raw_amount, needle
):
    before = counts(community["id"])
    r = _raw_post(
        client,
        f"{PAYMENTS}/periods/{period['id']}/contributions",
        f'{{"owner_id": {unique_id()}, "amount": {raw_amount}}}',
        admin,
    )
    assert_problem(r, 400, needle)
    assert counts(community["id"]) == before


def test_currency_decimals_jpy_and_kwd(client):
    jpy = new_community(client, currency="JPY")
    pid = make_period(client, jpy["headers"])["id"]
    url = f"/periods/{pid}/contributions"
    assert post(client, jpy["headers"], url, {"owner_id": 1, "amount": 500})["amount"] == "500"
    assert post(client, jpy["headers"], url, {"owner_id": 1, "amount": "500.0"})["amount"] == "500"
    r = client.post(
        f"{PAYMENTS}{url}", json={"owner_id": 1, "amount": "500.5"}, headers=jpy["headers"]
    )
    assert_problem(r, 400, "JPY")
    sheet = client.get(f"{PAYMENTS}/periods/{pid}/balance-sheet", headers=jpy["headers"]).json()
    assert sheet["currency"] == "JPY"
    assert sheet["total_contributions"] == "1000"

    kwd = new_community(client, currency="kwd")
    assert kwd["currency"] == "KWD"
    pid = make_period(client, kwd["headers"])["id"]
    c = post(
        client, kwd["headers"], f"/periods/{pid}/contributions", {"owner_id": 1, "amount": 1.5}
    )
    assert c["amount"] == "1.500"
    c = post(
        client, kwd["headers"], f"/periods/{pid}/contributions", {"owner_id": 1, "amount": "0.125"}
    )
    assert c["amount"] == "0.125"


@pytest.mark.parametrize(
    ("path", "body"),
    [
        ("expenses", {"amount": "1.005", "payment_type": "X"}),
        ("charges", {"owner_id": 1, "amount": "1.005"}),
        ("budget-items", {"payment_type": "X", "budgeted_amount": "1.005"}),
        ("settlements", {"from_owner_id": 1, "to_owner_id": 2, "amount": "1.005"}),
    ],
)
def test_every_money_field_refuses_extra_decimals(client, community, admin, period, path, body):
    before = counts(community["id"])
    r = client.post(f"{PAYMENTS}/periods/{period['id']}/{path}", json=body, headers=admin)
    assert_problem(r, 400, "decimals")
    assert counts(community["id"]) == before


# ---------------------------------------------------------------- error conventions


def test_body_validation_is_400_problem_json(client, community, admin, period):
    url = f"{PAYMENTS}/periods/{period['id']}/contributions"
    before = counts(community["id"])
    assert_problem(client.post(url, json={"amount": "5"}, headers=admin), 400, "owner_id")
    assert_problem(_raw_post(client, url, "{not json", admin), 400)
    assert_problem(_raw_post(client, url, "", admin), 400)
    assert_problem(_raw_post(client, url, "[1, 2]", admin), 400)
    assert_problem(
        client.post(url, json={"owner_id": 1, "amount": "5", "bogus": 1}, headers=admin),
        400,
        "bogus",
    )
    assert_problem(client.post(url, json={"owner_id": "x", "amount": "5"}, headers=admin), 400)
    assert_problem(client.post(url, json={"owner_id": 1.5, "amount": "5"}, headers=admin), 400)
    assert counts(community["id"]) == before


def test_values_the_database_cannot_hold_are_400_not_5xx(client, community, admin, period):
    url = f"{PAYMENTS}/periods/{period['id']}/contributions"
    before = counts(community["id"])
    assert_problem(client.post(url, json={"owner_id": 10**20, "amount": "5"}, headers=admin), 400)
    assert_problem(
        client.post(url, json={"owner_id": 1, "amount": "5", "comment": "a\x00b"}, headers=admin),
        400,
    )
    assert_problem(client.get(f"{PAYMENTS}/periods/{10**20}", headers=admin), 400)
    assert_problem(client.get(f"{PAYMENTS}/owners/{10**20}", headers=admin), 400)
    assert counts(community["id"]) == before


def test_401_without_or_with_a_bad_credential(client, period):
    url = f"{PAYMENTS}/periods"
    assert_problem(client.get(url), 401, "X-API-Key")
    assert_problem(client.get(url, headers={"X-API-Key": "kpk_not-a-key"}), 401, "unknown")
    assert_problem(client.get(url, headers={"Authorization": "Bearer abc"}), 401)
    assert_problem(client.get(url, headers={"Authorization": "tma bogus"}), 401)
    assert_problem(
        client.post(f"{url}/{period['id']}/contributions", json={"owner_id": 1, "amount": 1}), 401
    )


def test_403_for_the_wrong_role(client, community, admin):
    # the operator sees no community's money
    assert_problem(client.get(f"{PAYMENTS}/periods", headers=OPERATOR), 403)
    assert_problem(
        client.post(
            f"{PAYMENTS}/periods",
            json={"name": "x", "start_date": "2025-01-01", "end_date": "2025-01-31"},
            headers=OPERATOR,
        ),
        403,
    )
    # an admin does not manage communities
    assert_problem(client.post("/api/communities", json={"name": "x"}, headers=admin), 403)
    assert_problem(client.get("/api/communities", headers=admin), 403)
    assert_problem(
        client.patch(f"/api/communities/{community['id']}", json={"name": "x"}, headers=admin), 403
    )


def test_404_and_405_are_problem_json(client, admin):
    assert_problem(client.get("/api/payments/nothing-here", headers=admin), 404)
    assert assert_problem(client.put(f"{PAYMENTS}/periods", headers=admin), 405)["title"] == (
        "Method Not Allowed"
    )
    for path in ("contributions", "expenses", "charges", "meter-readings", "budget-items"):
        assert_problem(client.patch(f"{PAYMENTS}/{path}/987654321", json={}, headers=admin), 404)
        assert_problem(client.delete(f"{PAYMENTS}/{path}/987654321", headers=admin), 404)


def test_413_for_a_body_over_the_limit(client, community, admin, period):
    before = counts(community["id"])
    big = json.dumps({"owner_id": 1, "amount": "5", "comment": "x" * 1_100_000})
    r = _raw_post(client, f"{PAYMENTS}/periods/{period['id']}/contributions", big, admin)
    assert_problem(r, 413)
    assert counts(community["id"]) == before
