"""Communities (the operator's) and their admin API keys (the admins'): SPEC §6, §7."""

from __future__ import annotations

import hashlib

import pytest

from tests.api._support import PAYMENTS, assert_problem, audit, counts, scalar, sql
from tests.conftest import OPERATOR, new_community, unique_id


def test_operator_creates_a_community_with_its_first_admin_key(client):
    r = client.post(
        "/api/communities",
        json={
            "name": "  Sosenki  ",
            "currency": "eur",
            "timezone": "Europe/Berlin",
            "rollover": "monthly",
            "default_strategy": "equal",
            "auto_create_owners": False,
            "admin_telegram_ids": [5, 5, 3],
            "debt_reminder_threshold": "100.50",
        },
        headers=OPERATOR,
    )
    assert r.status_code == 201, r.text
    c = r.json()
    assert r.headers["Location"] == f"/api/communities/{c['id']}"
    assert c["name"] == "Sosenki"
    assert (c["currency"], c["timezone"], c["rollover"]) == ("EUR", "Europe/Berlin", "MONTHLY")
    assert c["default_strategy"] == "FIXED_FEE"
    assert c["auto_create_owners"] is False
    assert c["admin_telegram_ids"] == [3, 5]
    assert c["debt_reminder_threshold"] == "100.50"
    key = c["admin_api_key"]
    assert key.startswith("kpk_") and len(key) > 30

    # stored hashed, never in clear
    stored = scalar("SELECT key_hash FROM api_keys WHERE community_id = :c", c=c["id"])
    assert stored == hashlib.sha256(key.encode()).hexdigest()
    assert scalar("SELECT count(*) FROM api_keys WHERE key_hash = :k", k=key) == 0

    # the key works, and is shown once: reading the community does not show it
    headers = {"X-API-Key": key}
    assert client.get(f"{PAYMENTS}/periods", headers=headers).json() == {"periods": []}
    got = client.get(f"/api/communities/{c['id']}", headers=headers).json()
    assert "admin_api_key" not in got
    assert got["name"] == "Sosenki"

    actions = [e.action for e in audit(c["id"])]
    assert actions == ["community.create", "api_key.issue"]
    assert {e.actor for e in audit(c["id"])} == {"operator"}


@pytest.mark.parametrize(
    ("body", "needle"),
    [
        ({"name": "x", "currency": "XYZ"}, "currency"),
        ({"name": "x", "currency": "RUBLE"}, "currency"),
        ({"name": "x", "timezone": "Mars/Olympus"}, "timezone"),
        ({"name": "x", "rollover": "WEEKLY"}, "rollover"),
        ({"name": "x", "default_strategy": "EXACT"}, "default_strategy"),
        ({"name": "x", "default_strategy": "RANDOM"}, "strategy"),
        ({"name": "x", "debt_reminder_threshold": "1.001"}, "decimals"),
        ({"name": ""}, "name"),
        ({"name": "   "}, "name"),
        ({"currency": "RUB"}, "name"),
        ({"name": "x", "colour": "red"}, "colour"),
    ],
)
def test_invalid_communities_are_400_and_store_nothing(client, body, needle):
    before = scalar("SELECT count(*) FROM communities")
    assert_problem(client.post("/api/communities", json=body, headers=OPERATOR), 400, needle)
    assert scalar("SELECT count(*) FROM communities") == before


def test_only_the_operator_creates_and_lists_communities(client, admin):
    before = scalar("SELECT count(*) FROM communities")
    assert_problem(client.post("/api/communities", json={"name": "x"}), 401)
    assert_problem(client.post("/api/communities", json={"name": "x"}, headers=admin), 403)
    assert_problem(client.get("/api/communities", headers=admin), 403)
    assert scalar("SELECT count(*) FROM communities") == before


def test_operator_lists_reads_and_changes_communities(client):
    made = [new_community(client) for _ in range(3)]
    ids = [c["id"] for c in made]
    r = client.get(f"/api/communities?after={ids[0] - 1}&limit=2", headers=OPERATOR)
    assert r.status_code == 200
    assert [c["id"] for c in r.json()] == ids[:2]
    assert "admin_api_key" not in r.json()[0]
    assert 'rel="next"' in r.headers["Link"]

    r = client.get(f"/api/communities/{ids[1]}", headers=OPERATOR)
    assert r.status_code == 200 and r.json()["id"] == ids[1]
    assert_problem(client.get("/api/communities/987654321", headers=OPERATOR), 404)

    r = client.patch(
        f"/api/communities/{ids[1]}",
        json={"name": "Renamed", "auto_create_owners": False, "default_strategy": "NONE"},
        headers=OPERATOR,
    )
    assert r.status_code == 200, r.text
    assert (r.json()["name"], r.json()["auto_create_owners"], r.json()["default_strategy"]) == (
        "Renamed",
        False,
        "NONE",
    )
    (entry,) = audit(ids[1], "community.update")
    assert entry.before["name"] == made[1]["name"] and entry.after["name"] == "Renamed"
    assert entry.actor == "operator"

    for body in ({"timezone": "Nowhere/Else"}, {"name": None}, {"currency": "EUR"}):
        assert_problem(client.patch(f"/api/communities/{ids[1]}", json=body, headers=OPERATOR), 400)
    assert client.get(f"/api/communities/{ids[1]}", headers=OPERATOR).json() == r.json()


def test_an_admin_reads_only_their_own_community(client, community, admin):
    assert client.get(f"/api/communities/{community['id']}", headers=admin).status_code == 200
    other = new_community(client)
    assert_problem(client.get(f"/api/communities/{other['id']}", headers=admin), 404)


def test_admins_issue_list_and_revoke_keys(client, community, admin):
    cid = community["id"]
    url = f"/api/communities/{cid}/api-keys"
    r = client.post(url, json={"name": "treasurer laptop"}, headers=admin)
    assert r.status_code == 201, r.text
    new = r.json()
    assert new["name"] == "treasurer laptop"
    assert new["api_key"].startswith(new["prefix"])
    assert new["revoked_at"] is None

    listed = client.get(url, headers=admin).json()
    assert [k["id"] for k in listed][-1] == new["id"]
    assert all("api_key" not in k for k in listed)

    second = {"X-API-Key": new["api_key"]}
    assert client.get(f"{PAYMENTS}/periods", headers=second).status_code == 200

    r = client.delete(f"{url}/{new['id']}", headers=admin)
    assert r.status_code == 204
    assert_problem(client.get(f"{PAYMENTS}/periods", headers=second), 401, "revoked")
    listed = {k["id"]: k for k in client.get(url, headers=admin).json()}
    assert listed[new["id"]]["revoked_at"] is not None
    # revoking again is harmless; an unknown key is 404
    assert client.delete(f"{url}/{new['id']}", headers=admin).status_code == 204
    assert_problem(client.delete(f"{url}/987654321", headers=admin), 404)

    issued = audit(cid, "api_key.issue")
    assert issued[-1].after == {"name": "treasurer laptop", "prefix": new["prefix"]}
    revoked = audit(cid, "api_key.revoke")
    assert len(revoked) == 1 and revoked[0].entity_id == str(new["id"])
    first_key_id = scalar("SELECT min(id) FROM api_keys WHERE community_id = :c", c=cid)
    assert revoked[0].actor == f"api_key:{first_key_id}"


def test_the_operator_does_not_hold_admin_keys(client, community):
    url = f"/api/communities/{community['id']}/api-keys"
    assert_problem(client.get(url, headers=OPERATOR), 404)
    assert_problem(client.post(url, json={}, headers=OPERATOR), 404)


def test_invalid_key_requests_are_400(client, community, admin):
    before = counts(community["id"])
    url = f"/api/communities/{community['id']}/api-keys"
    assert_problem(client.post(url, json={"name": ""}, headers=admin), 400)
    assert_problem(client.post(url, json={"name": "x" * 101}, headers=admin), 400)
    assert_problem(client.post(url, json={"scope": "all"}, headers=admin), 400)
    assert counts(community["id"]) == before


def test_a_revoked_key_cannot_revoke_others(client, community, admin):
    cid = community["id"]
    url = f"/api/communities/{cid}/api-keys"
    k = client.post(url, json={"name": "temp"}, headers=admin).json()
    client.delete(f"{url}/{k['id']}", headers=admin)
    first_id = sql("SELECT min(id) FROM api_keys WHERE community_id = :c", c=cid)[0][0]
    r = client.delete(f"{url}/{first_id}", headers={"X-API-Key": k["api_key"]})
    assert_problem(r, 401)
    assert client.get(f"{PAYMENTS}/periods", headers=admin).status_code == 200


def test_issued_keys_are_never_kept_in_clear_not_even_for_idempotency(client, community, admin):
    # a community created with an Idempotency-Key
    key = f"create-{unique_id()}"
    body = {"name": f"Keyed {key}", "currency": "RUB"}
    first = client.post("/api/communities", json=body, headers={**OPERATOR, "Idempotency-Key": key})
    assert first.status_code == 201, first.text
    secret = first.json()["admin_api_key"]
    # an API key issued with an Idempotency-Key
    url = f"/api/communities/{community['id']}/api-keys"
    ikey = f"issue-{unique_id()}"
    issued = client.post(url, json={"name": "k"}, headers={**admin, "Idempotency-Key": ikey})
    assert issued.status_code == 201
    for s in (secret, issued.json()["api_key"]):
        assert (
            scalar(
                "SELECT count(*) FROM idempotency_records WHERE response_body::text LIKE :s",
                s=f"%{s}%",
            )
            == 0
        )
        assert scalar("SELECT count(*) FROM audit_log WHERE after::text LIKE :s", s=f"%{s}%") == 0

    # so the same request again cannot show it again: 409 naming what was created, nothing new
    communities = scalar("SELECT count(*) FROM communities")
    again = client.post("/api/communities", json=body, headers={**OPERATOR, "Idempotency-Key": key})
    assert_problem(again, 409, f"/api/communities/{first.json()['id']}")
    assert scalar("SELECT count(*) FROM communities") == communities
    keys = counts(community["id"])["api_keys"]
    assert_problem(
        client.post(url, json={"name": "k"}, headers={**admin, "Idempotency-Key": ikey}), 409
    )
    assert counts(community["id"])["api_keys"] == keys
    # another body with the same key is still 422
    assert_problem(
        client.post(
            "/api/communities",
            json={**body, "name": "Other"},
            headers={**OPERATOR, "Idempotency-Key": key},
        ),
        422,
    )
