"""Periods: create, list, read, rename (SPEC §4 first bullets, §6)."""

from __future__ import annotations

import pytest

from tests.api._support import PAYMENTS, assert_problem, audit, counts, make_period, scalar
from tests.conftest import new_community

PERIODS = f"{PAYMENTS}/periods"


def test_create_period_answers_201_with_location_and_is_audited(client, community, admin):
    r = client.post(
        PERIODS,
        json={
            "name": "November 2025",
            "start_date": "2025-11-01",
            "end_date": "2025-11-30",
            "description": "first month",
        },
        headers=admin,
    )
    assert r.status_code == 201, r.text
    p = r.json()
    assert p["name"] == "November 2025"
    assert (p["start_date"], p["end_date"]) == ("2025-11-01", "2025-11-30")
    assert p["status"] == "OPEN"
    assert p["description"] == "first month"
    assert p["closed_at"] is None
    assert r.headers["Location"] == f"{PERIODS}/{p['id']}"

    entries = audit(community["id"], "period.create")
    assert len(entries) == 1
    key_id = scalar("SELECT id FROM api_keys WHERE community_id = :c", c=community["id"])
    assert entries[0].actor == f"api_key:{key_id}"
    assert entries[0].entity_id == str(p["id"])
    assert entries[0].after["name"] == "November 2025"


def test_get_period_and_unknown_period(client, admin, period):
    r = client.get(f"{PERIODS}/{period['id']}", headers=admin)
    assert r.status_code == 200
    assert r.json() == period
    assert r.headers["ETag"] == '"1"'
    assert_problem(client.get(f"{PERIODS}/987654321", headers=admin), 404, "987654321")


@pytest.mark.parametrize(
    ("start", "end"),
    [("2025-11-30", "2025-11-01"), ("2025-11-15", "2025-11-15")],
    ids=["reversed", "same-day"],
)
def test_start_must_be_before_end(client, community, admin, start, end):
    before = counts(community["id"])
    r = client.post(
        PERIODS, json={"name": "Bad", "start_date": start, "end_date": end}, headers=admin
    )
    assert_problem(r, 400, "start_date", "end_date")
    assert counts(community["id"]) == before


@pytest.mark.parametrize(
    "body",
    [
        {"start_date": "2025-11-01", "end_date": "2025-11-30"},
        {"name": "", "start_date": "2025-11-01", "end_date": "2025-11-30"},
        {"name": "   ", "start_date": "2025-11-01", "end_date": "2025-11-30"},
        {"name": "X", "start_date": "2025-11-31", "end_date": "2025-12-30"},
        {"name": "X", "start_date": "yesterday", "end_date": "2025-12-30"},
        {"name": "X", "start_date": "2025-11-01"},
        {"name": "X", "start_date": "2025-11-01", "end_date": "2025-11-30", "status": "CLOSED"},
        {"name": 5, "start_date": "2025-11-01", "end_date": "2025-11-30"},
    ],
    ids=[
        "no-name",
        "empty-name",
        "blank-name",
        "no-such-day",
        "not-a-date",
        "no-end",
        "unknown-field",
        "name-not-text",
    ],
)
def test_invalid_period_bodies_are_400_and_store_nothing(client, community, admin, body):
    before = counts(community["id"])
    assert_problem(client.post(PERIODS, json=body, headers=admin), 400)
    assert counts(community["id"]) == before


def test_name_is_unique_in_the_community_but_not_across_communities(client, admin, period):
    r = client.post(
        PERIODS,
        json={"name": "November 2025", "start_date": "2026-01-01", "end_date": "2026-01-31"},
        headers=admin,
    )
    assert_problem(r, 409, "November 2025")
    other = new_community(client)
    make_period(client, other["headers"])  # the same name and dates elsewhere are fine


@pytest.mark.parametrize(
    ("start", "end"),
    [
        ("2025-10-15", "2025-11-10"),  # overlaps the start
        ("2025-11-20", "2025-12-10"),  # overlaps the end
        ("2025-11-05", "2025-11-06"),  # inside
        ("2025-10-01", "2025-12-31"),  # around
        ("2025-11-30", "2025-12-31"),  # shares the last day
        ("2025-10-01", "2025-11-01"),  # shares the first day
    ],
)
def test_periods_never_overlap(client, community, admin, period, start, end):
    before = counts(community["id"])
    r = client.post(
        PERIODS, json={"name": "Overlapping", "start_date": start, "end_date": end}, headers=admin
    )
    assert_problem(r, 409, "overlaps", "November 2025")
    assert counts(community["id"]) == before


def test_adjacent_periods_are_fine(client, admin, period):
    make_period(client, admin, "December 2025", "2025-12-01", "2025-12-31")
    make_period(client, admin, "October 2025", "2025-10-01", "2025-10-31")


def test_list_periods_is_wrapped_and_paginated(client, admin):
    made = [
        make_period(client, admin, f"2024-{m:02d}", f"2024-{m:02d}-01", f"2024-{m:02d}-28")
        for m in range(1, 6)
    ]
    r = client.get(PERIODS, headers=admin)
    assert r.status_code == 200
    assert [p["id"] for p in r.json()["periods"]] == [p["id"] for p in made]
    assert "Link" not in r.headers

    seen: list[int] = []
    url = f"{PERIODS}?limit=2"
    pages = 0
    while url:
        r = client.get(url, headers=admin)
        assert r.status_code == 200
        page = r.json()["periods"]
        assert len(page) <= 2
        seen += [p["id"] for p in page]
        pages += 1
        link = r.headers.get("Link")
        if link is None:
            break
        assert link.endswith('>; rel="next"')
        url = link[1 : link.index(">")]
        assert f"after={page[-1]['id']}" in url and "limit=2" in url
    assert seen == [p["id"] for p in made]
    assert pages == 3

    r = client.get(f"{PERIODS}?after={made[2]['id']}", headers=admin)
    assert [p["id"] for p in r.json()["periods"]] == [made[3]["id"], made[4]["id"]]


@pytest.mark.parametrize("query", ["limit=0", "limit=501", "limit=x", "after=x"])
def test_bad_pagination_is_400(client, admin, query):
    assert_problem(client.get(f"{PERIODS}?{query}", headers=admin), 400)


def test_rename_and_redescribe_keep_history(client, community, admin, period):
    url = f"{PERIODS}/{period['id']}"
    r = client.patch(url, json={"name": "Nov 2025", "description": "renamed"}, headers=admin)
    assert r.status_code == 200, r.text
    assert r.json()["name"] == "Nov 2025"
    assert r.json()["description"] == "renamed"
    assert (r.json()["start_date"], r.json()["end_date"]) == ("2025-11-01", "2025-11-30")
    assert r.headers["ETag"] == '"2"'
    assert client.get(url, headers=admin).json()["name"] == "Nov 2025"

    (entry,) = audit(community["id"], "period.update")
    assert entry.before["name"] == "November 2025"
    assert entry.after["name"] == "Nov 2025"
    assert entry.after["description"] == "renamed"

    # keeping its own name is not a conflict
    assert client.patch(url, json={"name": "Nov 2025"}, headers=admin).status_code == 200


def test_rename_to_a_taken_name_is_409(client, community, admin, period):
    make_period(client, admin, "December 2025", "2025-12-01", "2025-12-31")
    before = counts(community["id"])
    r = client.patch(f"{PERIODS}/{period['id']}", json={"name": "December 2025"}, headers=admin)
    assert_problem(r, 409, "December 2025")
    assert counts(community["id"]) == before
    assert client.get(f"{PERIODS}/{period['id']}", headers=admin).json()["name"] == "November 2025"


@pytest.mark.parametrize(
    "body",
    [{"name": ""}, {"name": "  "}, {"start_date": "2025-11-02"}, {"status": "CLOSED"}],
    ids=["empty", "blank", "dates-not-editable", "status-not-editable"],
)
def test_invalid_period_patch_is_400(client, community, admin, period, body):
    before = counts(community["id"])
    assert_problem(client.patch(f"{PERIODS}/{period['id']}", json=body, headers=admin), 400)
    assert counts(community["id"]) == before
    assert client.get(f"{PERIODS}/{period['id']}", headers=admin).json() == period


def test_patch_unknown_period_is_404(client, admin):
    assert_problem(client.patch(f"{PERIODS}/987654321", json={"name": "x"}, headers=admin), 404)


def test_a_stale_if_match_on_a_period_is_412(client, community, admin, period):
    url = f"{PERIODS}/{period['id']}"
    assert (
        client.patch(url, json={"name": "A"}, headers={**admin, "If-Match": '"1"'}).status_code
        == 200
    )
    before = counts(community["id"])
    r = client.patch(url, json={"name": "B"}, headers={**admin, "If-Match": '"1"'})
    assert_problem(r, 412, "version 2")
    assert counts(community["id"]) == before
    assert client.get(url, headers=admin).json()["name"] == "A"
