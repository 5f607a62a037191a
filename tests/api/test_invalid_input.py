"""No invalid input is ever stored: for every writing endpoint, a list of bad bodies; each is a
400 problem and no table of the community grows or changes (SPEC §6: 400 for invalid input)."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from tests.api._support import PAYMENTS, assert_problem, counts, make_period, one_of_each, sql
from tests.conftest import new_community, unique_id

NEW = unique_id()  # an owner id nobody has: a body that fails must not create this owner

BAD_POSTS: dict[str, list[Any]] = {
    "contributions": [
        {},
        {"owner_id": NEW},
        {"amount": "5"},
        {"owner_id": NEW, "amount": "0"},
        {"owner_id": NEW, "amount": "-1"},
        {"owner_id": NEW, "amount": "1.234"},
        {"owner_id": NEW, "amount": "one"},
        {"owner_id": NEW, "amount": True},
        {"owner_id": NEW, "amount": None},
        {"owner_id": NEW, "amount": "5", "date": "2025-12-01"},
        {"owner_id": NEW, "amount": "5", "date": "not a date"},
        {"owner_id": NEW, "amount": "5", "comment": "x" * 2001},
        {"owner_id": NEW, "amount": "5", "comment": "nul\x00byte"},
        {"owner_id": NEW, "amount": "5", "is_opening": True},
        {"owner_id": 0, "amount": "5"},
        {"owner_id": 2**63, "amount": "5"},
        {"owner_id": NEW, "user_id": NEW, "amount": "5", "extra": 1},
        [{"owner_id": NEW, "amount": "5"}],
        "owner_id=1&amount=5",
    ],
    "expenses": [
        {"amount": "5"},
        {"payment_type": "X"},
        {"amount": "5", "payment_type": ""},
        {"amount": "5", "payment_type": "   "},
        {"amount": "5", "payment_type": "X" * 101},
        {"amount": "0", "payment_type": "X", "paid_by_owner_id": NEW},
        {"amount": "5.555", "payment_type": "X", "paid_by_owner_id": NEW},
        {"amount": "5", "payment_type": "X", "paid_by_owner_id": -1},
        {"amount": "5", "payment_type": "X", "paid_by_owner_id": NEW, "date": "2026-01-01"},
        {
            "amount": "5",
            "payment_type": "X",
            "paid_by_owner_id": NEW,
            "split": {"strategy": "EQUAL", "owners": [NEW + 1]},
        },
        {"amount": "5", "payment_type": "X", "paid_by_owner_id": NEW, "split": "EQUAL"},
        {"amount": "5", "payment_type": "X", "paid_by_owner_id": NEW, "vendor": "v" * 201},
    ],
    "charges": [
        {"owner_id": NEW},
        {"owner_id": NEW, "amount": "0"},
        {"owner_id": NEW, "amount": "2.001"},
        {"owner_id": NEW, "amount": "2", "date": "2025-10-31"},
        {"owner_id": NEW, "amount": "2", "description": "d" * 2001},
        {"amount": "2"},
    ],
    "meter-readings": [
        {"owner_id": NEW, "meter_type": "WATER", "start_reading": 5, "end_reading": 4},
        {"owner_id": NEW, "meter_type": "WATER", "start_reading": -5, "end_reading": 4},
        {"owner_id": NEW, "meter_type": "", "start_reading": 0, "end_reading": 4},
        {"owner_id": NEW, "meter_type": "WATER", "start_reading": 0},
        {"owner_id": NEW, "meter_type": "WATER", "start_reading": 0, "end_reading": "1e30"},
        {
            "owner_id": NEW,
            "meter_type": "WATER",
            "start_reading": 0,
            "end_reading": 1,
            "date": "2025-12-31",
        },
    ],
    "budget-items": [
        {"budgeted_amount": "5"},
        {"payment_type": "X"},
        {"payment_type": "X", "budgeted_amount": "-5"},
        {"payment_type": "X", "budgeted_amount": "5.001"},
        {"payment_type": "X", "budgeted_amount": "5", "allocation_strategy": "RANDOM"},
        {"payment_type": "X", "budgeted_amount": "5", "allocation_strategy": "PERCENTAGE"},
        {"payment_type": "X", "budgeted_amount": "5", "allocation_strategy": "USAGE_BASED"},
    ],
    "settlements": [
        {"from_owner_id": NEW, "to_owner_id": NEW, "amount": "5"},
        {"from_owner_id": NEW, "to_owner_id": NEW + 1, "amount": "0"},
        {"from_owner_id": NEW, "to_owner_id": NEW + 1, "amount": "5.001"},
        {"from_owner_id": NEW, "to_owner_id": NEW + 1, "amount": "5", "date": "2024-11-05"},
        {"from_owner_id": NEW, "amount": "5"},
    ],
}

CASES = [(kind, i) for kind, bodies in BAD_POSTS.items() for i in range(len(bodies))]


@pytest.fixture(scope="module")
def world(app: Any) -> Iterator[dict[str, Any]]:
    """One community for the module, with an OPEN period and one document of each kind: every
    case checks that its own request left the community exactly as it found it."""
    from fastapi.testclient import TestClient

    with TestClient(app) as client:
        c = new_community(client)
        admin = c["headers"]
        pid = make_period(client, admin)["id"]
        docs = one_of_each(client, admin, pid)
        yield {"client": client, "admin": admin, "community": c["id"], "period": pid, "docs": docs}


@pytest.mark.parametrize(("kind", "i"), CASES, ids=[f"{k}-{i}" for k, i in CASES])
def test_a_bad_post_is_400_and_stores_nothing(world, kind, i):
    client, admin, cid = world["client"], world["admin"], world["community"]
    body = BAD_POSTS[kind][i]
    before = counts(cid)
    url = f"{PAYMENTS}/periods/{world['period']}/{kind}"
    if isinstance(body, str):
        r = client.post(
            url, content=body.encode(), headers={**admin, "Content-Type": "application/json"}
        )
    else:
        r = client.post(url, json=body, headers={**admin, "Idempotency-Key": f"bad-{kind}-{i}"})
    assert_problem(r, 400)
    assert counts(cid) == before
    assert sql("SELECT 1 FROM owners WHERE owner_id IN (:a, :b)", a=NEW, b=NEW + 1) == []


BAD_PATCHES: dict[str, list[dict[str, Any]]] = {
    "contributions": [
        {"amount": None},
        {"amount": "0"},
        {"amount": "1.001"},
        {"owner_id": None},
        {"owner_id": -1},
        {"date": None},
        {"date": "2025-12-01"},
        {"is_opening": True},
    ],
    "expenses": [
        {"amount": None},
        {"amount": "-3"},
        {"payment_type": None},
        {"payment_type": "  "},
        {"date": None},
        {"date": "2026-11-01"},
        {"paid_by_owner_id": 0},
        {"split": {"strategy": "PERCENTAGE", "owners": {"1": "50"}}},
    ],
    "charges": [
        {"amount": None},
        {"amount": "0.001"},
        {"owner_id": None},
        {"date": None},
        {"date": "2025-01-01"},
    ],
    "meter-readings": [
        {"end_reading": 0},
        {"start_reading": None},
        {"end_reading": None},
        {"meter_type": None},
        {"meter_type": "   "},
        {"date": None},
        {"owner_id": 5},
    ],
    "budget-items": [
        {"budgeted_amount": None},
        {"budgeted_amount": "-1"},
        {"payment_type": None},
        {"payment_type": " "},
        {"allocation_strategy": None},
        {"allocation_strategy": "EXACT"},
        {"allocation_strategy": "USAGE_BASED"},
    ],
}
PATCH_CASES = [(kind, i) for kind, bodies in BAD_PATCHES.items() for i in range(len(bodies))]


@pytest.mark.parametrize(("kind", "i"), PATCH_CASES, ids=[f"{k}-{i}" for k, i in PATCH_CASES])
def test_a_bad_patch_is_400_and_changes_nothing(world, kind, i):
    client, admin, cid, pid = world["client"], world["admin"], world["community"], world["period"]
    listed = client.get(f"{PAYMENTS}/periods/{pid}/{kind}", headers=admin).json()
    before = counts(cid)
    doc = world["docs"][kind]
    r = client.patch(f"{PAYMENTS}/{kind}/{doc['id']}", json=BAD_PATCHES[kind][i], headers=admin)
    assert_problem(r, 400)
    assert counts(cid) == before
    assert client.get(f"{PAYMENTS}/periods/{pid}/{kind}", headers=admin).json() == listed
