"""One owner's balance (computed for that owner alone, from their maintained totals, the pool
totals and the participants' weights) equals their line of the whole sheet, to the cent, over
randomized communities: ties in the largest remainder (equal weights, equal consumption), every
strategy of a budget item, expenses with their own split (EXACT, SHARES, PERCENTAGE, named and
all-owner lists), USAGE items, service charges, settlements, edits and deletions, an inactive
owner, and opening entries of a carry-forward (a real close and carry-forward by the worker).
The sheet itself is also checked against the one computed from the ledger rows."""

from __future__ import annotations

import random
from typing import Any

import pytest

from tests.conftest import new_community

P = "/api/payments/periods"
pytestmark = pytest.mark.usefixtures("worker_stack")

WEIGHTS = ["1", "1", "1", "2", "0.5", "1.5", "3"]
TYPES = ["SECURITY", "WATER", "GARBAGE", "ROADS", "POWER", "SNOW", "misc", "Misc"]


def _ok(r: Any) -> dict[str, Any]:
    assert r.status_code in (200, 201, 202), r.text
    return dict(r.json()) if r.content else {}


def _money(rnd: random.Random, lo: int = 1, hi: int = 100_000) -> str:
    minor = rnd.randint(lo, hi)
    return f"{minor // 100}.{minor % 100:02d}"


def _scenario(
    client: Any,
    admin: dict[str, str],
    pid: int,
    owners: list[int],
    rnd: random.Random,
    check: Any,
) -> None:
    post = lambda path, body: _ok(client.post(path, json=body, headers=admin))  # noqa: E731
    day = client.get(f"{P}/{pid}", headers=admin).json()["start_date"]
    for ptype, strategy, meter in (
        ("SECURITY", "PROPORTIONAL", None),
        ("WATER", "USAGE_BASED", "WATER"),
        ("POWER", "USAGE_BASED", "ELECTRICITY"),
        ("GARBAGE", "FIXED_FEE", None),
        ("SNOW", "NONE", None),
    ):
        if rnd.random() < 0.85:
            body = {
                "payment_type": ptype,
                "budgeted_amount": "100.00",
                "allocation_strategy": strategy,
            }
            if meter:
                body["meter_type"] = meter
            post(f"{P}/{pid}/budget-items", body)
    for i, o in enumerate(owners):
        if i == 0 or rnd.random() < 0.8:  # a close refuses zero total consumption
            used = rnd.choice([5, 5, 10, 12.5, 100] if i == 0 else [0, 5, 5, 10, 12.5, 100])
            post(
                f"{P}/{pid}/meter-readings",
                {
                    "owner_id": o,
                    "meter_type": "WATER",
                    "start_reading": 100,
                    "end_reading": 100 + used,
                },
            )
        if i == 0 or rnd.random() < 0.5:
            post(
                f"{P}/{pid}/meter-readings",
                {
                    "owner_id": o,
                    "meter_type": "ELECTRICITY",
                    "start_reading": 0,
                    "end_reading": rnd.randint(1, 9),
                },
            )
    check()  # budget items and readings: allocation inputs
    docs: list[tuple[str, int]] = []
    for _ in range(rnd.randint(15, 40)):
        what = rnd.random()
        if what < 0.35:
            d = post(
                f"{P}/{pid}/contributions",
                {"owner_id": rnd.choice(owners), "amount": _money(rnd), "date": day},
            )
            docs.append(("contributions", d["id"]))
        elif what < 0.65:
            body: dict[str, Any] = {
                "amount": _money(rnd, 1, 9_999_999),
                "payment_type": rnd.choice(TYPES),
                "date": day,
            }
            if rnd.random() < 0.5:
                body["paid_by_owner_id"] = rnd.choice(owners)
            if rnd.random() < 0.3:
                body["split"] = _split(rnd, owners, body)
            d = post(f"{P}/{pid}/expenses", body)
            docs.append(("expenses", d["id"]))
        elif what < 0.85:
            d = post(
                f"{P}/{pid}/charges",
                {"owner_id": rnd.choice(owners), "amount": _money(rnd), "date": day},
            )
            docs.append(("charges", d["id"]))
        else:
            a, b = rnd.sample(owners, 2)
            d = post(
                f"{P}/{pid}/settlements",
                {"from_owner_id": a, "to_owner_id": b, "amount": _money(rnd), "date": day},
            )
            docs.append(("settlements", d["id"]))
    check()
    for kind, doc_id in rnd.sample(docs, k=min(len(docs), 6)):
        if kind == "settlements":
            continue
        if rnd.random() < 0.5:
            r = client.delete(f"/api/payments/{kind}/{doc_id}", headers=admin)
            assert r.status_code == 204, r.text
        else:
            body = {"amount": _money(rnd)}
            if kind == "expenses" and rnd.random() < 0.5:
                body = {"payment_type": rnd.choice(TYPES)}
            r = client.patch(f"/api/payments/{kind}/{doc_id}", json=body, headers=admin)
            assert r.status_code in (200, 400), r.text  # an EXACT split refuses a new amount


def _split(rnd: random.Random, owners: list[int], body: dict[str, Any]) -> dict[str, Any]:
    kind = rnd.choice(["EXACT", "SHARES", "PERCENTAGE", "EQUAL", "PROPORTIONAL", "ALL"])
    who = rnd.sample(owners, k=rnd.randint(2, min(4, len(owners))))
    if kind == "EXACT":
        minor = [rnd.randint(0, 5000) for _ in who]
        minor[0] += 1
        body["amount"] = f"{sum(minor) // 100}.{sum(minor) % 100:02d}"
        return {
            "strategy": "EXACT",
            "owners": {str(o): f"{m // 100}.{m % 100:02d}" for o, m in zip(who, minor)},
        }
    if kind == "SHARES":
        return {"strategy": "SHARES", "owners": {str(o): rnd.choice([1, 1, 2, 3]) for o in who}}
    if kind == "PERCENTAGE":
        first = rnd.choice(["33.333", "50", "10", "25"])
        rest = (100 - float(first)) / (len(who) - 1)
        parts = [first] + [f"{rest:.10f}".rstrip("0").rstrip(".")] * (len(who) - 1)
        total = sum(__import__("decimal").Decimal(p) for p in parts)
        parts[-1] = str(__import__("decimal").Decimal(parts[-1]) + (100 - total))
        return {"strategy": "PERCENTAGE", "owners": {str(o): p for o, p in zip(who, parts)}}
    if kind == "ALL":
        return {"strategy": rnd.choice(["EQUAL", "PROPORTIONAL"])}
    return {"strategy": kind, "owners": who}


def _compare(
    client: Any, admin: dict[str, str], pid: int, owners: list[int], sheet: dict[str, Any]
) -> int:
    lines = {e["owner_id"]: e for e in sheet["entries"]}
    compared = 0
    for o in owners:
        one = _ok(client.get(f"{P}/{pid}/balances/{o}", headers=admin))
        line = lines.get(o)
        if line is None:  # no line in the sheet: an inactive owner without entries or shares
            assert one["balance"] == "0.00" and one["total_allocated"] == "0.00", one
            continue
        assert {k: one[k] for k in line} == line, (o, one, line)
        compared += 1
    return compared


def _rows_sheet_equals(pid: int, community_id: int, api_sheet: dict[str, Any]) -> None:
    """The sheet the API answers (maintained totals, reused allocation) equals a sheet computed
    afresh from the ledger rows and the inputs (no totals, no reuse)."""
    from sqlalchemy.orm import Session

    from kopilka.balances.output import sheet_dict
    from kopilka.balances.sheet import live_sheet
    from kopilka.db import get_engine
    from kopilka.models import Community, Period

    with Session(get_engine()) as s:
        community = s.get(Community, community_id)
        period = s.get(Period, pid)
        assert community is not None and period is not None
        fresh = sheet_dict(live_sheet(s, community, period, from_rows=True))
    assert fresh == api_sheet


def _checker(client: Any, admin: dict[str, str], pid: int, owners: list[int], cid: int) -> Any:
    def check() -> int:
        sheet = _ok(client.get(f"{P}/{pid}/balance-sheet", headers=admin))
        _rows_sheet_equals(pid, cid, sheet)
        return _compare(client, admin, pid, owners, sheet)

    return check


@pytest.mark.parametrize("seed", range(6))
def test_one_owner_equals_the_sheet_line(client, seed):
    rnd = random.Random(seed)
    c = new_community(client, default_strategy=rnd.choice(["PROPORTIONAL", "FIXED_FEE"]))
    admin = c["headers"]
    base = 10_000 + seed * 1000
    owners = sorted(base + rnd.randint(1, 999) for _ in range(rnd.randint(3, 12)))
    owners = sorted(set(owners))
    for o in owners:
        _ok(
            client.post(
                "/api/payments/owners",
                headers=admin,
                json={"owner_id": o, "share_weight": rnd.choice(WEIGHTS)},
            )
        )
    p1 = _ok(
        client.post(
            P,
            headers=admin,
            json={"name": "Nov", "start_date": "2025-11-01", "end_date": "2025-11-30"},
        )
    )["id"]
    check = _checker(client, admin, p1, owners, c["id"])
    _scenario(client, admin, p1, owners, rnd, check)
    assert check() > 0
    # a weight changes: every PROPORTIONAL share moves
    _ok(
        client.patch(
            f"/api/payments/owners/{owners[-1]}", headers=admin, json={"share_weight": "2.5"}
        )
    )
    assert check() > 0
    # plots: derived share weights (SPEC §3a), then a change of the plot's owners and weight
    plot = _ok(
        client.post(
            "/api/payments/plots",
            headers=admin,
            json={
                "number": "17",
                "area": "600",
                "owners": [
                    {"owner_id": owners[0], "fraction": "1/3"},
                    {"owner_id": owners[1], "fraction": "2/3"},
                ],
            },
        )
    )
    assert check() > 0
    _ok(
        client.patch(
            f"/api/payments/plots/{plot['id']}",
            headers=admin,
            json={"weight": "450", "owners": [{"owner_id": owners[1]}]},
        )
    )
    assert check() > 0

    if seed % 2 == 0:
        # Close, carry forward (opening entries), then more activity with an inactive owner.
        r = client.post(f"{P}/{p1}/close", headers={**admin, "Prefer": "wait=60"})
        assert r.status_code == 200 and r.json()["status"] == "SUCCEEDED", r.text
        closed = _ok(client.get(f"{P}/{p1}/balance-sheet", headers=admin))
        _compare(client, admin, p1, owners, closed)  # CLOSED: the stored lines
        p2 = _ok(
            client.post(
                P,
                headers=admin,
                json={"name": "Dec", "start_date": "2025-12-01", "end_date": "2025-12-31"},
            )
        )["id"]
        r = client.post(
            f"{P}/carry-forward",
            headers={**admin, "Prefer": "wait=60"},
            json={"from_period_id": p1, "to_period_id": p2},
        )
        assert r.status_code == 200 and r.json()["status"] == "SUCCEEDED", r.text
        gone = owners[0]
        _ok(client.patch(f"/api/payments/owners/{gone}", headers=admin, json={"is_active": False}))
        check = _checker(client, admin, p2, owners, c["id"])
        check()
        _scenario(client, admin, p2, owners[1:], rnd, check)
        assert check() > 0
