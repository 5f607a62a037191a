"""Helpers for the API tests: direct SQL on the test database, problem+json checks, row counts."""

from __future__ import annotations

from typing import Any

from sqlalchemy import text

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
