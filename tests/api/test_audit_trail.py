"""Issue 13, item 11: ``GET /api/payments/audit`` lets a treasurer read the trail (SPEC §6):
actor, when, action, before, after; newest first; filtered by object and owner; paginated."""

from __future__ import annotations

from tests.api._support import PAYMENTS, assert_problem, post
from tests.conftest import unique_id


def test_the_treasurer_reads_a_documents_trail_newest_first(client, admin, period):
    owner, other = unique_id(), unique_id()
    doc = post(
        client, admin, f"/periods/{period['id']}/contributions", {"owner_id": owner, "amount": "5"}
    )
    post(
        client, admin, f"/periods/{period['id']}/contributions", {"owner_id": other, "amount": "7"}
    )
    r = client.patch(f"{PAYMENTS}/contributions/{doc['id']}", json={"amount": "6"}, headers=admin)
    assert r.status_code == 200, r.text
    r = client.delete(f"{PAYMENTS}/contributions/{doc['id']}", headers=admin)
    assert r.status_code == 204, r.text

    r = client.get(
        f"{PAYMENTS}/audit?object_type=contribution&object_id={doc['id']}", headers=admin
    )
    assert r.status_code == 200, r.text
    trail = r.json()
    assert [e["action"] for e in trail] == [
        "contribution.delete",
        "contribution.update",
        "contribution.create",
    ]
    update = trail[1]
    assert update["before"]["amount_minor"] == 500 and update["after"]["amount_minor"] == 600
    assert update["actor"].startswith("api_key:") and update["at"]
    assert all(e["object_type"] == "contribution" for e in trail)

    # by owner: only what concerns them
    r = client.get(f"{PAYMENTS}/audit?owner_id={other}", headers=admin)
    actions = [(e["object_type"], e["action"]) for e in r.json()]
    assert ("contribution", "contribution.create") in actions
    assert all(
        e["object_id"] != str(doc["id"]) or e["object_type"] != "contribution" for e in r.json()
    )

    # paginated like every collection, newest first across pages
    first = client.get(f"{PAYMENTS}/audit?limit=2", headers=admin)
    assert len(first.json()) == 2
    nxt = first.headers["Link"].split(";")[0].strip("<>")
    second = client.get(nxt, headers=admin).json()
    assert second and second[0]["id"] < first.json()[-1]["id"]


def test_the_trail_is_for_admins(client, period):
    r = client.get(f"{PAYMENTS}/audit", headers={"X-API-Key": "test-operator-key"})
    assert_problem(r, 403)
