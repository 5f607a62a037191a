"""Helpers for the API tests: direct SQL on the test database, problem+json checks, row counts."""

from __future__ import annotations

import threading
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import text

from tests.conftest import new_community, unique_id

PAYMENTS = "/api/payments"

# The tables whose rows a community's writes create; "nothing stored" means none of them grew.
COUNTED = (
    "periods",
    "owners",
    "contributions",
    "expenses",
    "service_charges",
    "settlements",
    "meter_readings",
    "budget_items",
    "ledger_entries",
    "audit_log",
    "idempotency_records",
    "api_keys",
    "notifications",
)


def sql(query: str, **params: Any) -> list[Any]:
    """Run one statement in its own committed transaction; the rows it returns, if any."""
    from kopilka.db import get_engine

    with get_engine().begin() as conn:
        result = conn.execute(text(query), params)
        return list(result) if result.returns_rows else []


def scalar(query: str, **params: Any) -> Any:
    rows = sql(query, **params)
    return rows[0][0] if rows else None


def set_period_status(period_id: int, status: str) -> None:
    """Make a period CLOSING or CLOSED the way the close job would (the job is built elsewhere)."""
    closed_at = "now()" if status == "CLOSED" else "NULL"
    sql(
        f"UPDATE periods SET status = :status, closed_at = {closed_at} WHERE id = :id",
        status=status,
        id=period_id,
    )


def counts(community_id: int) -> dict[str, int]:
    """Rows per table that belong to the community, plus a digest of their contents: an
    invalid request must neither add rows nor change any."""
    query = " UNION ALL ".join(
        f"SELECT '{table}', count(*), coalesce(md5(string_agg(t::text, ',' ORDER BY t::text)), '') "
        f"FROM {table} t WHERE community_id = :c"
        for table in COUNTED
    )
    out: dict[str, int] = {}
    digests: dict[str, str] = {}
    for table, n, digest in sql(query, c=community_id):
        out[table] = int(n)
        digests[table] = digest
    return _Counts(out, digests)


class _Counts(dict):  # type: ignore[type-arg]
    """Row counts per table (a dict, so tests read ``counts(c)["owners"]``); equality also
    compares the contents' digests."""

    def __init__(self, counts: dict[str, int], digests: dict[str, str]) -> None:
        super().__init__(counts)
        self.digests = digests

    def __eq__(self, other: object) -> bool:
        if isinstance(other, _Counts):
            return dict(self) == dict(other) and self.digests == other.digests
        return dict(self) == other

    def __ne__(self, other: object) -> bool:
        return not self == other

    __hash__ = None  # type: ignore[assignment]


def audit(community_id: int, action: str | None = None) -> list[Any]:
    """The community's audit entries (oldest first), optionally of one action."""
    q = "SELECT * FROM audit_log WHERE community_id = :c"
    if action is not None:
        q += " AND action = :a"
    return sql(q + " ORDER BY id", c=community_id, a=action)


def ledger(source_type: str, source_id: int) -> list[tuple[int, str, int]]:
    """The ledger postings of one document, in order: (owner_pk, kind, amount_minor)."""
    return [
        (r.owner_pk, r.kind, r.amount_minor)
        for r in sql(
            "SELECT owner_pk, kind, amount_minor FROM ledger_entries "
            "WHERE source_type = :t AND source_id = :i ORDER BY id",
            t=source_type,
            i=source_id,
        )
    ]


def owner_pk(community_id: int, owner_id: int) -> int:
    return int(
        scalar(
            "SELECT id FROM owners WHERE community_id = :c AND owner_id = :o",
            c=community_id,
            o=owner_id,
        )
    )


def assert_problem(response: Any, status: int, *needles: str) -> dict[str, Any]:
    """The answer is application/problem+json with this status and a human detail that mentions
    every needle (case-insensitive)."""
    assert response.status_code == status, (response.status_code, response.text)
    assert response.headers["content-type"].startswith("application/problem+json"), response.headers
    body = response.json()
    assert body["status"] == status
    assert isinstance(body["title"], str) and body["title"]
    assert isinstance(body["detail"], str) and len(body["detail"]) > 5, body
    for needle in needles:
        assert needle.lower() in body["detail"].lower(), (needle, body["detail"])
    return body


def make_period(
    client: Any,
    headers: dict[str, str],
    name: str = "November 2025",
    start: str = "2025-11-01",
    end: str = "2025-11-30",
) -> dict[str, Any]:
    r = client.post(
        f"{PAYMENTS}/periods",
        json={"name": name, "start_date": start, "end_date": end},
        headers=headers,
    )
    assert r.status_code == 201, r.text
    return r.json()


def post(client: Any, headers: dict[str, str], path: str, body: dict[str, Any]) -> dict[str, Any]:
    """POST that must succeed with 201; the created object."""
    r = client.post(f"{PAYMENTS}{path}", json=body, headers=headers)
    assert r.status_code == 201, r.text
    return r.json()


def mkperiod(client: Any, headers: dict[str, str], name: str, start: str, end: str) -> int:
    """A new period (201); its id."""
    return int(make_period(client, headers, name, start, end)["id"])


def at(day: str, hour: int = 12) -> datetime:
    """``day`` (ISO) at ``hour`` o'clock UTC: the "now" a sweep is run with."""
    return datetime.fromisoformat(day).replace(hour=hour, tzinfo=UTC)


def finished_job(client: Any, headers: dict[str, str], path: str, **body: Any) -> dict[str, Any]:
    """POST a job route with ``Prefer: wait=60``: answered 200 with the job SUCCEEDED; its JSON."""
    r = client.post(
        f"{PAYMENTS}{path}", json=body or None, headers={**headers, "Prefer": "wait=60"}
    )
    assert r.status_code == 200, r.text
    assert r.json()["status"] == "SUCCEEDED", r.json()
    return dict(r.json())


def close(client: Any, headers: dict[str, str], pid: int) -> dict[str, Any]:
    """Close the period by the real worker (SUCCEEDED); the job."""
    return finished_job(client, headers, f"/periods/{pid}/close")


def carry(client: Any, headers: dict[str, str], source: int, target: int) -> dict[str, Any]:
    """Carry the balances of ``source`` forward into ``target`` (SUCCEEDED); the job."""
    return finished_job(
        client, headers, "/periods/carry-forward", from_period_id=source, to_period_id=target
    )


def pay(client: Any, headers: dict[str, str], pid: int, owner: int, amount: str) -> None:
    """A contribution of ``owner`` (201)."""
    post(client, headers, f"/periods/{pid}/contributions", {"owner_id": owner, "amount": amount})


def charge(
    client: Any, headers: dict[str, str], pid: int, owner: int, amount: str, **body: Any
) -> int:
    """A service charge to ``owner`` (201); its id."""
    data = {"owner_id": owner, "amount": amount, **body}
    return int(post(client, headers, f"/periods/{pid}/charges", data)["id"])


def three_owners(client: Any, weight_of_two: str) -> dict[str, Any]:
    """A new community (Moscow time): owners 1 (weight 1), 2 (weight ``weight_of_two``) and 3
    (inactive); November 2025 OPEN. Its JSON, id, admin headers and the period's id."""
    c = new_community(client)
    admin = c["headers"]
    post(client, admin, "/owners", {"owner_id": 1, "name": "One"})
    post(client, admin, "/owners", {"owner_id": 2, "name": "Two", "share_weight": weight_of_two})
    post(client, admin, "/owners", {"owner_id": 3, "name": "Gone", "is_active": False})
    nov = mkperiod(client, admin, "November 2025", "2025-11-01", "2025-11-30")
    return {"community": c, "id": c["id"], "admin": admin, "nov": nov}


def one_of_each(client: Any, admin: dict[str, str], pid: int) -> dict[str, dict[str, Any]]:
    """One document of each kind in the period (new owners a and b): kind -> its JSON."""
    a, b = unique_id(), unique_id()
    return {
        "contributions": post(
            client, admin, f"/periods/{pid}/contributions", {"owner_id": a, "amount": "10"}
        ),
        "expenses": post(
            client,
            admin,
            f"/periods/{pid}/expenses",
            {"paid_by_owner_id": a, "amount": "10", "payment_type": "REPAIR"},
        ),
        "charges": post(client, admin, f"/periods/{pid}/charges", {"owner_id": b, "amount": "3"}),
        "meter-readings": post(
            client,
            admin,
            f"/periods/{pid}/meter-readings",
            {"owner_id": a, "meter_type": "WATER", "start_reading": 1, "end_reading": 2},
        ),
        "budget-items": post(
            client,
            admin,
            f"/periods/{pid}/budget-items",
            {"payment_type": "REPAIR", "budgeted_amount": 5},
        ),
        "settlements": post(
            client,
            admin,
            f"/periods/{pid}/settlements",
            {"from_owner_id": a, "to_owner_id": b, "amount": "1"},
        ),
    }


def concurrently(n: int, call: Any) -> list[Any]:
    """``call(i)`` for i in 0..n-1 in n threads released together; the answers in order (an
    exception in any call is raised here)."""
    barrier = threading.Barrier(n)

    def run(i: int) -> Any:
        barrier.wait(timeout=30)
        return call(i)

    with ThreadPoolExecutor(max_workers=n) as pool:
        return list(pool.map(run, range(n)))


def usage_budget_item(
    client: Any, headers: dict[str, str], pid: int, payment_type: str, meter_type: str, amount: str
) -> dict[str, Any]:
    """A USAGE_BASED budget item of ``amount``, shared by the readings of ``meter_type`` (201)."""
    body = {
        "payment_type": payment_type,
        "budgeted_amount": amount,
        "allocation_strategy": "USAGE_BASED",
        "meter_type": meter_type,
    }
    return post(client, headers, f"/periods/{pid}/budget-items", body)


def all_pages(client: Any, headers: dict[str, str], url: str) -> list[dict[str, Any]]:
    """Every item of a paginated collection, page by page along the ``Link`` headers (each 200)."""
    items: list[dict[str, Any]] = []
    while True:
        r = client.get(url, headers=headers)
        assert r.status_code == 200
        items += r.json()
        if "Link" not in r.headers:
            return items
        link = r.headers["Link"]
        url = link[1 : link.index(">")]
