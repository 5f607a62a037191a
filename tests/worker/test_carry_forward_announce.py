"""Issue 13, item 14: running a carry-forward again does not announce an unchanged opening
balance again; a changed one is announced."""

from __future__ import annotations

from typing import Any

import pytest

from tests.api._support import PAYMENTS, mkperiod, post, sql
from tests.conftest import new_community, unique_id

pytestmark = pytest.mark.usefixtures("worker_stack")

P = f"{PAYMENTS}/periods"


def _announced(community_id: int) -> dict[int, int]:
    rows = sql(
        "SELECT o.owner_id, count(*) FROM notifications n JOIN owners o ON o.id = n.owner_pk "
        "WHERE n.community_id = :c AND n.kind = 'opening_balance' GROUP BY o.owner_id",
        c=community_id,
    )
    return {r[0]: r[1] for r in rows}


def _job(client: Any, admin: dict[str, str], path: str, body: Any = None) -> dict[str, Any]:
    r = client.post(path, json=body, headers={**admin, "Prefer": "wait=60"})
    assert r.status_code == 200 and r.json()["status"] == "SUCCEEDED", r.text
    return dict(r.json())


def test_an_unchanged_opening_balance_is_announced_once(client):
    c = new_community(client)
    admin = c["headers"]
    p1 = mkperiod(client, admin, "Oct", "2025-10-01", "2025-10-31")
    p2 = mkperiod(client, admin, "Nov", "2025-11-01", "2025-11-30")
    a, b = unique_id(), unique_id()
    for oid in (a, b):
        post(client, admin, "/owners", {"owner_id": oid, "telegram_id": unique_id()})
    post(client, admin, f"/periods/{p1}/contributions", {"owner_id": a, "amount": "50"})
    post(client, admin, f"/periods/{p1}/charges", {"owner_id": b, "amount": "20"})
    _job(client, admin, f"{P}/{p1}/close")
    body = {"from_period_id": p1, "to_period_id": p2}
    for _ in range(3):
        _job(client, admin, f"{P}/carry-forward", body)
    assert _announced(c["id"]) == {a: 1, b: 1}
    # a correction changes b's balance only: b hears again, a does not
    assert client.post(f"{P}/{p1}/reopen", headers=admin).status_code == 200
    post(client, admin, f"/periods/{p1}/contributions", {"owner_id": b, "amount": "5"})
    _job(client, admin, f"{P}/{p1}/close")
    _job(client, admin, f"{P}/carry-forward", body)
    assert _announced(c["id"]) == {a: 1, b: 2}
