"""The README's walkthrough of the splitting engine (issue 19's "done when"), step by step with the
same figures: a firewood order of 6 households with a delivery of 3,000.00 finalized into one
expense with exact shares; a monthly security bill that appears once in each new period; an owner
settling half and then the rest of their share of a bill a neighbour paid."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from kopilka.scheduler import sweep
from tests.api._support import PAYMENTS, mkperiod, scalar
from tests.conftest import new_community

B = PAYMENTS
HOUSEHOLDS = {
    1: "Ивановы",
    2: "Петровы",
    3: "Сидоровы",
    4: "Кузнецовы",
    5: "Смирновы",
    6: "Поповы",
}


def ok(r: Any, status: int = 201) -> Any:
    assert r.status_code == status, r.text
    return r.json()


def test_the_readme_walkthrough(client):
    c = new_community(client, name="Сосновка")
    A = c["headers"]
    ids = {}
    for n, name in HOUSEHOLDS.items():
        oid = 1000 + n
        ok(client.post(f"{B}/owners", json={"owner_id": oid, "name": name}, headers=A))
        ids[n] = oid
    oct_ = mkperiod(client, A, "Октябрь 2026", "2026-10-01", "2026-10-31")
    nov = mkperiod(client, A, "Ноябрь 2026", "2026-11-01", "2026-11-30")

    # 1. firewood: each household orders its cubic metres; delivery 3,000.00 on top
    p = ok(
        client.post(
            f"{B}/periods/{nov}/purchases",
            json={"title": "Дрова", "deadline": "2099-11-20"},
            headers=A,
        )
    )
    orders = {1: ("4500.00", 2), 2: ("4500.00", 1), 3: ("4500.00", 3), 4: ("4500.00", 1)}
    orders |= {5: ("4500.00", 2), 6: ("3333.33", "0.75")}  # aspen: 2,499.9975 -> 2,500.00
    for n, (price, qty) in orders.items():
        ok(
            client.post(
                f"{B}/purchases/{p['id']}/items",
                json={
                    "description": "дрова, м³",
                    "price": price,
                    "quantity": qty,
                    "owner_id": ids[n],
                },
                headers=A,
            )
        )
    live = ok(client.get(f"{B}/purchases/{p['id']}", headers=A), 200)
    assert live["total"] == "43000.00"
    assert [o["subtotal"] for o in live["owners"]] == [
        "9000.00",
        "4500.00",
        "13500.00",
        "4500.00",
        "9000.00",
        "2500.00",
    ]
    fin = ok(
        client.post(
            f"{B}/purchases/{p['id']}/finalize",
            json={"amount": "46000.00", "paid_by_owner_id": ids[1], "vendor": "Лесхоз"},
            headers=A,
        ),
        200,
    )
    shares = {s["owner_id"]: s["share"] for s in fin["shares"]}
    assert shares == {
        ids[1]: "9500.00",
        ids[2]: "5000.00",
        ids[3]: "14000.00",
        ids[4]: "5000.00",
        ids[5]: "9500.00",
        ids[6]: "3000.00",
    }
    assert sum(int(v.replace(".", "")) for v in shares.values()) == 4600000
    again = client.post(f"{B}/purchases/{p['id']}/finalize", json={"amount": "46000.00"}, headers=A)
    assert ok(again, 200)["expense_id"] == fin["expense_id"]
    assert scalar("SELECT count(*) FROM expenses WHERE period_id = :p", p=nov) == 1

    # 2. the monthly security bill: one template, once in each OPEN period
    t = ok(
        client.post(
            f"{B}/recurring-expenses",
            json={
                "amount": "6000.00",
                "payment_type": "Охрана",
                "vendor": "ЧОП «Щит»",
                "day_of_month": 1,
                "start_date": "2026-10-01",
                "max_occurrences": 12,
            },
            headers=A,
        )
    )
    sweep(datetime(2026, 11, 2, 9, tzinfo=UTC))
    sweep(datetime(2026, 11, 3, 9, tzinfo=UTC))  # again: nothing more
    for pid in (oct_, nov):
        rows = ok(client.get(f"{B}/periods/{pid}/expenses?limit=100", headers=A), 200)
        assert [
            (e["payment_type"], e["amount"]) for e in rows if e["payment_type"] == "Охрана"
        ] == [("Охрана", "6000.00")]
    got = ok(client.get(f"{B}/recurring-expenses/{t['id']}", headers=A), 200)
    assert (got["occurrences"], got["occurrences_left"]) == (2, 10)

    # 3. the Ivanovs paid the guard house's electricity, 1,800.00, shared equally by all six
    bill = ok(
        client.post(
            f"{B}/periods/{nov}/expenses",
            json={
                "amount": "1800.00",
                "payment_type": "Свет сторожки",
                "paid_by_owner_id": ids[1],
                "split": {"strategy": "EQUAL"},
            },
            headers=A,
        )
    )
    url = f"{B}/expenses/{bill['id']}/shares/{ids[2]}/settle"
    half = ok(client.post(url, json={"amount": "150.00"}, headers=A))
    assert half["share"] == {
        "owner_id": ids[2],
        "amount": "300.00",
        "paid": "150.00",
        "remaining": "150.00",
        "status": "PARTIALLY_PAID",
    }
    too_much = client.post(url, json={"amount": "150.01"}, headers=A)
    assert too_much.status_code == 400
    assert "more than the unpaid remainder 150.00" in too_much.json()["detail"]
    rest = ok(client.post(url, json={"amount": "150.00"}, headers=A))
    assert rest["share"]["status"] == "PAID"
    detail = ok(client.get(f"{B}/expenses/{bill['id']}", headers=A), 200)
    assert [(s["owner_id"], s["paid"], s["status"]) for s in detail["shares"]] == [
        (ids[1], "300.00", "PAID"),
        (ids[2], "300.00", "PAID"),
        (ids[3], "0.00", "UNPAID"),
        (ids[4], "0.00", "UNPAID"),
        (ids[5], "0.00", "UNPAID"),
        (ids[6], "0.00", "UNPAID"),
    ]
    sheet = ok(client.get(f"{B}/periods/{nov}/balance-sheet", headers=A), 200)
    rows = {e["owner_id"]: e for e in sheet["entries"]}
    assert (rows[ids[2]]["net_settlements"], rows[ids[1]]["net_settlements"]) == (
        "300.00",
        "-300.00",
    )
    # November: firewood (items + delivery), security 1,000.00 each (6,000.00 by share weight 1),
    # electricity 300.00 each; the Ivanovs paid 46,000.00 + 1,800.00 and received 300.00
    assert rows[ids[1]]["total_allocated"] == "10800.00"
    assert rows[ids[1]]["balance"] == "36700.00"
    assert rows[ids[2]]["balance"] == "-6000.00"
