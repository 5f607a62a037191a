"""Bank import requests that never reach the worker: a file that cannot be read is 400 naming
the line, and nothing is stored."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from tests.api._support import assert_problem, counts, scalar

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
