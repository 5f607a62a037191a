"""Bank import requests that never reach the worker: a file that cannot be read is 400 naming
the line, and nothing is stored. And a booked line's receipt (the job run here) says what a
contribution recorded by hand says."""

from __future__ import annotations

from datetime import date
from pathlib import Path
from typing import Any

from tests.api._support import assert_problem, counts, scalar, sql

DATA = Path(__file__).parent.parent / "shared" / "imports" / "data"
IMP = "/api/payments/imports"


def test_a_malformed_statement_is_400_naming_the_line_and_stores_nothing(
    client: Any, community: dict[str, Any], admin: dict[str, str]
) -> None:
    good = (DATA / "statement_2026-10.1c.txt").read_bytes().decode("cp1251")
    bad = good.replace("Сумма=3000.50", "Сумма=три тысячи").encode("cp1251")
    before = counts(community["id"])
    r = client.post(IMP, files={"file": ("bad.txt", bad)}, headers=admin)
    problem = assert_problem(r, 400, "line 78: Сумма 'три тысячи' is not an amount")
    assert problem["line"] == 78
    assert counts(community["id"]) == before
    assert scalar("SELECT count(*) FROM bank_imports WHERE community_id=:c", c=community["id"]) == 0
    r = client.post(IMP, files={"file": ("x.csv", b"a;b\n1;2\n")}, headers=admin)
    assert_problem(r, 400, "needs its column mapping")
    r = client.post(
        IMP, files={"file": ("x.csv", b"a;b\n1;2\n")}, data={"mapping": "{nope"}, headers=admin
    )
    assert_problem(r, 400, "mapping: not valid JSON")
    r = client.post(IMP, files={"file": ("x.txt", b"")}, headers=admin)
    assert_problem(r, 400, "empty")
    r = client.post(IMP, data={"format": "1c"}, headers=admin)
    assert r.status_code == 400
    r = client.post(
        IMP,
        files={"file": ("x.txt", b"1CClientBankExchange\n")},
        data={"format": "mt940"},
        headers=admin,
    )
    assert_problem(r, 400, "format: one of 1c, camt053, csv")


def test_assign_checks_its_body(client: Any, admin: dict[str, str]) -> None:
    r = client.post(
        f"{IMP}/1/lines/1/assign", json={"owner_id": 5, "payment_type": "X"}, headers=admin
    )
    assert r.status_code == 400
    r = client.post(f"{IMP}/999999/lines/1/assign", json={"owner_id": 5}, headers=admin)
    assert r.status_code == 404


def test_a_booked_line_queues_the_same_receipt_as_a_recorded_contribution(
    client: Any, community: dict[str, Any], admin: dict[str, str]
) -> None:
    """The statement's receipts are built in SQL (one INSERT ... SELECT through the notifications
    writer); each says exactly what ``receipt_payload`` says for a contribution recorded by hand."""
    from kopilka.ledger.receipts import receipt_payload
    from tests.conftest import unique_id
    from tests.support.jobs import run_job

    oid = unique_id()
    r = client.post(
        "/api/payments/owners",
        json={"owner_id": oid, "name": "Иванов Иван", "telegram_id": unique_id()},
        headers=admin,
    )
    assert r.status_code == 201, r.text
    r = client.post(
        "/api/payments/periods",
        json={"name": "Октябрь 2026", "start_date": "2026-10-01", "end_date": "2026-10-31"},
        headers=admin,
    )
    pid = r.json()["id"]
    r = client.post(
        f"/api/payments/periods/{pid}/contributions",
        json={"owner_id": oid, "amount": "1500.25", "date": "2026-10-02", "comment": "наличными"},
        headers=admin,
    )
    assert r.status_code == 201, r.text
    by_hand = r.json()["id"]
    statement = "Дата;Сумма;Плательщик;Назначение\n05.10.2026;4500,50;Иванов Иван;Взнос\n"
    mapping = '{"date": "Дата", "amount": "Сумма", "payer": "Плательщик", "purpose": "Назначение"}'
    r = client.post(
        IMP, files={"file": ("bank.csv", statement.encode())}, data={"mapping": mapping},
        headers=admin,
    )  # fmt: skip
    assert r.status_code == 202 and run_job(r.json()["id"]) == "SUCCEEDED", r.text
    [booked] = [
        row[0]
        for row in sql(
            "SELECT id FROM contributions WHERE community_id = :c AND bank_line_id IS NOT NULL",
            c=community["id"],
        )
    ]
    receipts = dict(
        sql(
            "SELECT dedupe_key, payload FROM notifications WHERE community_id = :c"
            " AND kind = 'contribution_receipt'",
            c=community["id"],
        )
    )
    assert receipts == {
        f"receipt:{by_hand}": {
            **receipt_payload(150025, "RUB", "Октябрь 2026", date(2026, 10, 2), "наличными"),
            "contribution_id": by_hand,
        },
        f"receipt:{booked}": {
            **receipt_payload(
                450050, "RUB", "Октябрь 2026", date(2026, 10, 5), "05.10.2026 Иванов Иван: Взнос"
            ),
            "contribution_id": booked,
        },
    }
