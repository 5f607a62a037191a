"""Owners: admin-created, or auto-created on their first transaction (SPEC §1, §6)."""

from __future__ import annotations

from decimal import Decimal

import pytest

from tests.api._support import (
    PAYMENTS,
    all_pages,
    assert_problem,
    audit,
    counts,
    make_period,
    post,
    scalar,
)
from tests.conftest import new_community, unique_id

OWNERS = f"{PAYMENTS}/owners"


def test_create_read_and_list_owners(client, community, admin):
    o = unique_id()
    r = client.post(
        OWNERS,
        json={
            "user_id": o,
            "name": "Anna",
            "share_weight": 2.5,
            "telegram_id": 42,
            "language": "ru",
        },
        headers=admin,
    )
    assert r.status_code == 201, r.text
    body = r.json()
    assert (body["owner_id"], body["name"], body["share_weight"]) == (o, "Anna", "2.5")
    assert (body["telegram_id"], body["language"], body["is_active"]) == (42, "ru", True)
    assert body["telegram_reachable"] is True
    assert r.headers["Location"] == f"{OWNERS}/{o}"

    got = client.get(f"{OWNERS}/{o}", headers=admin)
    assert got.status_code == 200
    assert got.json() == body
    assert got.headers["ETag"] == '"1"'

    (entry,) = audit(community["id"], "owner.create")
    assert entry.entity_id == str(o)
    assert entry.actor.startswith("api_key:")
    assert Decimal(entry.after["share_weight"]) == Decimal("2.5")

    assert_problem(client.get(f"{OWNERS}/{o + 1}", headers=admin), 404, str(o + 1))


def test_an_owner_id_is_unique_in_the_community(client, community, admin):
    o = unique_id()
    post(client, admin, "/owners", {"owner_id": o})
    before = counts(community["id"])
    assert_problem(client.post(OWNERS, json={"owner_id": o}, headers=admin), 409, str(o))
    assert counts(community["id"]) == before


@pytest.mark.parametrize(
    "body",
    [
        {},
        {"owner_id": 0},
        {"owner_id": -5},
        {"owner_id": "abc"},
        {"owner_id": 1, "share_weight": 0},
        {"owner_id": 1, "share_weight": "-1"},
        {"owner_id": 1, "share_weight": "0.0000001"},
        {"owner_id": 1, "share_weight": "abc"},
        {"owner_id": 1, "share_weight": "10000000"},
        {"owner_id": 1, "language": "english"},
        {"owner_id": 1, "telegram_id": 0},
        {"owner_id": 1, "name": "x" * 201},
        {"owner_id": 1, "role": "admin"},
        {"owner_id": 1, "is_active": "maybe"},
    ],
)
def test_invalid_owners_are_400_and_store_nothing(client, community, admin, body):
    before = counts(community["id"])
    assert_problem(client.post(OWNERS, json=body, headers=admin), 400)
    assert counts(community["id"]) == before


def test_owners_are_paginated(client, admin):
    ids = sorted(unique_id() for _ in range(5))
    for o in ids:
        post(client, admin, "/owners", {"owner_id": o})
    assert [o["owner_id"] for o in all_pages(client, admin, f"{OWNERS}?limit=2")] == ids


def test_patch_an_owner_is_audited(client, community, admin):
    o = unique_id()
    post(client, admin, "/owners", {"owner_id": o, "name": "Anna"})
    r = client.patch(
        f"{OWNERS}/{o}",
        json={"name": "Anna K.", "share_weight": "1.25", "is_active": False, "telegram_id": 7},
        headers=admin,
    )
    assert r.status_code == 200, r.text
    assert (r.json()["name"], r.json()["share_weight"], r.json()["is_active"]) == (
        "Anna K.",
        "1.25",
        False,
    )
    assert r.headers["ETag"] == '"2"'
    (entry,) = audit(community["id"], "owner.update")
    assert entry.before["name"] == "Anna" and entry.after["name"] == "Anna K."
    assert Decimal(entry.before["share_weight"]) == 1
    assert Decimal(entry.after["share_weight"]) == Decimal("1.25")
    assert entry.before["is_active"] is True and entry.after["is_active"] is False


@pytest.mark.parametrize(
    "body",
    [
        {"share_weight": None},
        {"share_weight": 0},
        {"is_active": None},
        {"language": "EN"},
        {"owner_id": 5},
        {"language": "english"},
    ],
)
def test_invalid_owner_patch_is_400(client, community, admin, body):
    o = unique_id()
    post(client, admin, "/owners", {"owner_id": o, "name": "Anna"})
    before = counts(community["id"])
    shown = client.get(f"{OWNERS}/{o}", headers=admin).json()
    assert_problem(client.patch(f"{OWNERS}/{o}", json=body, headers=admin), 400)
    assert counts(community["id"]) == before
    assert client.get(f"{OWNERS}/{o}", headers=admin).json() == shown


def test_patch_unknown_owner_is_404(client, admin):
    assert_problem(client.patch(f"{OWNERS}/987654321", json={"name": "x"}, headers=admin), 404)


# ---------------------------------------------------------------- auto-creation


def test_owners_are_auto_created_on_first_transaction_with_weight_1(
    client, community, admin, period
):
    pid = period["id"]
    a, b, c, d, e = (unique_id() for _ in range(5))
    post(client, admin, f"/periods/{pid}/contributions", {"owner_id": a, "amount": "1"})
    post(
        client,
        admin,
        f"/periods/{pid}/expenses",
        {"paid_by_user_id": b, "amount": "1", "payment_type": "X"},
    )
    post(client, admin, f"/periods/{pid}/charges", {"owner_id": c, "amount": "1"})
    post(
        client,
        admin,
        f"/periods/{pid}/meter-readings",
        {"owner_id": d, "meter_type": "WATER", "start_reading": 0, "end_reading": 1},
    )
    post(
        client,
        admin,
        f"/periods/{pid}/settlements",
        {"from_owner_id": e, "to_owner_id": a, "amount": "1"},
    )
    # a second transaction of a known owner creates nobody
    post(client, admin, f"/periods/{pid}/contributions", {"owner_id": a, "amount": "1"})

    owners = {o["owner_id"]: o for o in client.get(OWNERS, headers=admin).json()}
    assert set(owners) == {a, b, c, d, e}
    assert {o["share_weight"] for o in owners.values()} == {"1"}
    assert all(o["is_active"] for o in owners.values())
    created = audit(community["id"], "owner.auto_create")
    assert sorted(int(x.entity_id) for x in created) == sorted([a, b, c, d, e])
    assert all(x.actor.startswith("api_key:") for x in created)


def test_a_community_may_forbid_auto_creation(client):
    strict = new_community(client, auto_create_owners=False)
    h = strict["headers"]
    pid = make_period(client, h)["id"]
    known = unique_id()
    post(client, h, "/owners", {"owner_id": known})
    before = counts(strict["id"])
    stranger = unique_id()
    bodies = {
        "contributions": {"owner_id": stranger, "amount": "1"},
        "expenses": {"paid_by_owner_id": stranger, "amount": "1", "payment_type": "X"},
        "charges": {"owner_id": stranger, "amount": "1"},
        "meter-readings": {
            "owner_id": stranger,
            "meter_type": "W",
            "start_reading": 0,
            "end_reading": 1,
        },
        "settlements": {"from_owner_id": known, "to_owner_id": stranger, "amount": "1"},
    }
    for kind, body in bodies.items():
        r = client.post(f"{PAYMENTS}/periods/{pid}/{kind}", json=body, headers=h)
        assert_problem(r, 400, str(stranger), "not a member")
    assert counts(strict["id"]) == before
    assert scalar("SELECT count(*) FROM owners WHERE owner_id = :o", o=stranger) == 0
    # a known owner is fine
    post(client, h, f"/periods/{pid}/contributions", {"owner_id": known, "amount": "1"})


def test_a_stale_if_match_on_an_owner_is_412(client, community, admin):
    o = unique_id()
    post(client, admin, "/owners", {"owner_id": o})
    url = f"{OWNERS}/{o}"
    etag = client.get(url, headers=admin).headers["ETag"]
    r = client.patch(url, json={"name": "A"}, headers={**admin, "If-Match": etag})
    assert r.status_code == 200, r.text
    before = counts(community["id"])
    assert_problem(client.patch(url, json={"name": "B"}, headers={**admin, "If-Match": etag}), 412)
    assert counts(community["id"]) == before
    assert client.get(url, headers=admin).json()["name"] == "A"
