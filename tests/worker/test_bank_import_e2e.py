"""Bank statement import end to end (SPEC §4b) with a real Celery worker and relay: the
treasurer's October 1C statement (Windows-1251, Cyrillic), re-imported, then an overlapping
November statement; matching by rule, name (ё = е), ambiguous names, a shared plot, a line dated
in a closed period; assignment with remember; concurrent imports of the same file."""

from __future__ import annotations

import threading
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.api._support import scalar, set_period_status, sql
from tests.conftest import new_community, unique_id

pytestmark = pytest.mark.usefixtures("worker_stack")

DATA = Path(__file__).parent.parent / "shared" / "imports" / "data"
P = "/api/payments"
IMP = f"{P}/imports"
OURS = "40703810938000012345"


def upload(client: Any, admin: dict[str, str], name: str, **form: str) -> dict[str, Any]:
    files = {"file": (name, (DATA / name).read_bytes(), "application/octet-stream")}
    r = client.post(IMP, files=files, data=form, headers={**admin, "Prefer": "wait=60"})
    assert r.status_code == 200, r.text
    job = r.json()
    assert job["kind"] == "bank_import" and job["status"] == "SUCCEEDED", (job["error"], job)
    assert r.headers["Content-Location"].startswith(IMP + "/")
    return dict(job["result"])


def lines(
    client: Any, admin: dict[str, str], import_id: int, status: str | None = None
) -> list[dict[str, Any]]:
    r = client.get(
        f"{IMP}/{import_id}/lines", params={"status": status} if status else {}, headers=admin
    )
    assert r.status_code == 200, r.text
    return list(r.json())


def village(client: Any) -> dict[str, Any]:
    """Sosenki: owners with Russian names, a payer rule, an expense rule, September CLOSED."""
    c = new_community(client)
    admin = c["headers"]
    people = {
        "ivanov": "Иванов Иван Иванович",
        "petrova": "Петрова Мария Сергеевна",
        "sidorov": "Сидоров Пётр Алексеевич",
        "smirnov_sr": "Смирнов Алексей Игоревич",
        "smirnov_jr": "Смирнов Алексей Игоревич",
        "volkov": "Волков Павел",
        "volkova": "Волкова Елена Павловна",
    }
    ids: dict[str, int] = {}
    for key, name in people.items():
        ids[key] = unique_id()
        body: dict[str, Any] = {"owner_id": ids[key], "name": name}
        if key == "ivanov":
            body["telegram_id"] = unique_id()
        r = client.post(f"{P}/owners", json=body, headers=admin)
        assert r.status_code == 201, r.text
    for number, holders in (("17", ["ivanov"]), ("23", ["petrova"]), ("42", ["volkov", "volkova"])):
        shares = [
            {"owner_id": ids[o], "fraction": "0.5" if len(holders) == 2 else "1"} for o in holders
        ]
        r = client.post(
            f"{P}/plots", json={"number": number, "area": "600", "owners": shares}, headers=admin
        )
        assert r.status_code == 201, r.text
    r = client.post(
        f"{IMP}/rules",
        json={"account": "40817810500001234567", "owner_id": ids["petrova"]},
        headers=admin,
    )
    assert r.status_code == 201, r.text
    r = client.post(
        f"{IMP}/rules", json={"inn": "7736520080", "payment_type": "ELECTRICITY"}, headers=admin
    )
    assert r.status_code == 201, r.text
    periods = {}
    for name, start, end in (
        ("Сентябрь 2026", "2026-09-01", "2026-09-30"),
        ("Октябрь 2026", "2026-10-01", "2026-10-31"),
        ("Ноябрь 2026", "2026-11-01", "2026-11-30"),
    ):
        r = client.post(
            f"{P}/periods", json={"name": name, "start_date": start, "end_date": end}, headers=admin
        )
        assert r.status_code == 201, r.text
        periods[start[:7]] = r.json()["id"]
    set_period_status(periods["2026-09"], "CLOSED")
    return {"c": c, "admin": admin, "ids": ids, "periods": periods}


def test_october_statement_books_once_and_the_rest_is_assigned(client):
    v = village(client)
    admin, ids, periods, cid = v["admin"], v["ids"], v["periods"], v["c"]["id"]

    result = upload(client, admin, "statement_2026-10.1c.txt")
    assert {k: result[k] for k in ("lines", "credits", "debits", "new", "duplicates", "booked", "unmatched", "waiting")} == {
        "lines": 9, "credits": 7, "debits": 2, "new": 9, "duplicates": 0,
        "booked": 6, "unmatched": 2, "waiting": 1,
    }  # fmt: skip
    assert result["booked_amount"] == "28034.70"  # 1800 + 5000 + 4500 + 3000.50 + 8734.20 + 5000
    imp_id = result["import_id"]
    got = client.get(f"{IMP}/{imp_id}", headers=admin).json()
    assert got["status"] == "SUCCEEDED" and got["booked"] == 6 and got["format"] == "1c"
    assert got["encoding"] == "windows-1251" and got["statement_account"] == OURS
    assert got["file_name"] == "statement_2026-10.1c.txt" and len(got["file_sha256"]) == 64
    assert got["progress"]["stage"] == "done"

    by_doc = {ln["doc_number"]: ln for ln in lines(client, admin, imp_id)}
    # the line dated in the CLOSED September went to October's first day, bank date kept
    old = by_doc["605"]
    assert old["status"] == "BOOKED" and old["period_id"] == periods["2026-10"]
    assert "29.09.2026" in old["note"] and "CLOSED" in old["note"]
    c605 = client.get(
        f"{P}/periods/{periods['2026-10']}/contributions",
        params={"owner_id": ids["ivanov"]},
        headers=admin,
    ).json()
    first = next(c for c in c605 if c["id"] == old["contribution_id"])
    assert first["date"] == "2026-10-01" and first["amount"] == "1800.00"
    assert first["comment"].startswith("29.09.2026 №605") and "Долг за август" in first["comment"]
    assert (old["owner_id"], old["matched_by"]) == (ids["ivanov"], "PLOT")
    assert by_doc["512"]["matched_by"] == "PLOT" and by_doc["612"]["matched_by"] == "PLOT"
    # rule, name with ё = е
    assert (by_doc["77"]["owner_id"], by_doc["77"]["matched_by"]) == (ids["petrova"], "RULE")
    assert (by_doc["301"]["owner_id"], by_doc["301"]["matched_by"]) == (ids["sidorov"], "NAME")
    # two owners of one name: unmatched; the shared plot's unknown payer: unmatched
    assert by_doc["88"]["status"] == "UNMATCHED" and "2 owners are named" in by_doc["88"]["note"]
    assert by_doc["19"]["status"] == "UNMATCHED" and "plot 42 has 2 owners" in by_doc["19"]["note"]
    # the debit a rule names is a fund expense; the bank's fee waits
    assert by_doc["1044"]["status"] == "BOOKED" and by_doc["1044"]["payment_type"] == "ELECTRICITY"
    expense = client.get(f"{P}/periods/{periods['2026-10']}/expenses", headers=admin).json()
    assert [(e["amount"], e["payment_type"], e["paid_by_owner_id"]) for e in expense] == [
        ("8734.20", "ELECTRICITY", None)
    ]
    assert by_doc["3"]["status"] == "WAITING"

    # every booked contribution has its ledger entry, audit row, and Ivanov (linked) his receipts
    booked = [ln["contribution_id"] for ln in by_doc.values() if ln["contribution_id"]]
    assert (
        scalar(
            "SELECT count(*) FROM ledger_entries WHERE source_type='contribution' AND source_id = ANY(:ids)",
            ids=booked,
        )
        == 5
    )
    assert (
        scalar(
            "SELECT count(*) FROM audit_log WHERE entity='contribution' AND entity_id = ANY(:ids)",
            ids=[str(i) for i in booked],
        )
        == 5
    )
    receipts = sql(
        "SELECT payload->>'amount_minor' FROM notifications WHERE community_id=:c AND kind='contribution_receipt' ORDER BY id",
        c=cid,
    )
    assert sorted(r[0] for r in receipts) == ["180000", "500000", "500000"]

    # the same file again books nothing
    again = upload(client, admin, "statement_2026-10.1c.txt")
    assert (again["lines"], again["duplicates"], again["new"], again["booked"]) == (9, 9, 0, 0)
    dup = lines(client, admin, again["import_id"], "DUPLICATE")
    assert len(dup) == 9 and f"already in import {imp_id}" in dup[0]["note"]

    # the overlapping November statement: two lines known, one new (ПЁТР = Петр)
    nov = upload(client, admin, "statement_2026-11_overlap.1c.txt")
    assert (nov["lines"], nov["duplicates"], nov["new"], nov["booked"]) == (3, 2, 1, 1)
    new_line = lines(client, admin, nov["import_id"], "BOOKED")[0]
    assert new_line["owner_id"] == ids["sidorov"] and new_line["period_id"] == periods["2026-11"]
    assert scalar("SELECT count(*) FROM contributions WHERE community_id=:c", c=cid) == 6
    assert scalar("SELECT count(*) FROM notifications WHERE community_id=:c", c=cid) == 3

    # the treasurer assigns Smirnov's payment to the elder and remembers his account
    line88 = by_doc["88"]
    url = f"{IMP}/{imp_id}/lines/{line88['id']}/assign"
    r = client.post(url, json={"owner_id": ids["smirnov_sr"], "remember": True}, headers=admin)
    assert r.status_code == 200, r.text
    assigned = r.json()
    assert (
        assigned["status"] == "BOOKED"
        and assigned["matched_by"] == "ASSIGNED"
        and assigned["rule_id"]
    )
    assert assigned["owner_id"] == ids["smirnov_sr"] and assigned["contribution_id"]
    # idempotent; another owner is a conflict
    r2 = client.post(url, json={"owner_id": ids["smirnov_sr"], "remember": True}, headers=admin)
    assert r2.status_code == 200 and r2.json()["contribution_id"] == assigned["contribution_id"]
    r3 = client.post(url, json={"owner_id": ids["smirnov_jr"]}, headers=admin)
    assert r3.status_code == 409, r3.text
    assert scalar("SELECT count(*) FROM contributions WHERE bank_line_id = :l", l=line88["id"]) == 1
    rules = client.get(f"{IMP}/rules", headers=admin).json()
    assert {"account": "40817810300000000088", "owner_id": ids["smirnov_sr"]}.items() <= next(
        r for r in rules if r["account"] == "40817810300000000088"
    ).items()

    # the fee is set aside; a duplicate cannot be booked
    r = client.post(f"{IMP}/{imp_id}/lines/{by_doc['3']['id']}/ignore", headers=admin)
    assert r.status_code == 200 and r.json()["status"] == "IGNORED"
    r = client.post(
        f"{IMP}/{again['import_id']}/lines/{dup[0]['id']}/assign",
        json={"owner_id": ids["ivanov"]},
        headers=admin,
    )
    assert r.status_code == 409
    got = client.get(f"{IMP}/{imp_id}", headers=admin).json()
    assert got["booked"] == 6 and got["unmatched"] == 2  # the stored counts are the job's result
    assert [x["id"] for x in client.get(IMP, headers=admin).json()] == [
        nov["import_id"],
        again["import_id"],
        imp_id,
    ]


@pytest.fixture(scope="module")
def api_process(worker_stack: dict[str, Any]) -> Any:
    """A real API process (uvicorn), so the uploads really race."""
    from tests.support.processes import start_api

    proc, url = start_api(worker_stack["env"])
    yield url
    proc.stop()


def test_concurrent_imports_of_the_same_file_book_it_once(client, api_process):
    live_server = api_process
    v = village(client)
    admin, cid = v["admin"], v["c"]["id"]
    body = (DATA / "statement_2026-10.1c.txt").read_bytes()
    answers: list[httpx.Response] = []

    def send() -> None:
        with httpx.Client(base_url=live_server, timeout=90) as h:
            answers.append(
                h.post(
                    IMP, files={"file": ("oct.txt", body)}, headers={**admin, "Prefer": "wait=60"}
                )
            )

    threads = [threading.Thread(target=send) for _ in range(3)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert [a.status_code for a in answers] == [200, 200, 200], [a.text for a in answers]
    results = [a.json()["result"] for a in answers]
    assert sorted(r["booked"] for r in results) == [0, 0, 6]
    assert sorted(r["duplicates"] for r in results) == [0, 9, 9]
    assert scalar("SELECT count(*) FROM contributions WHERE community_id=:c", c=cid) == 5
    assert scalar("SELECT count(*) FROM expenses WHERE community_id=:c", c=cid) == 1


def test_camt053_and_csv_through_the_api(client):
    v = village(client)
    admin, ids = v["admin"], v["ids"]
    camt = upload(client, admin, "camt053_2026-10.xml")
    assert (camt["lines"], camt["credits"], camt["debits"]) == (6, 5, 1)
    by_doc = {ln["doc_number"]: ln for ln in lines(client, admin, camt["import_id"])}
    assert by_doc["SB-20261030-B1"]["owner_id"] == ids["sidorov"]
    assert by_doc["SB-20261027-1044"]["payment_type"] == "ELECTRICITY"
    mapping = (
        '{"date": "Дата операции", "doc_number": "Номер документа", "payer": "Контрагент",'
        ' "account": "Счёт контрагента", "inn": "ИНН контрагента", "credit": "Приход",'
        ' "debit": "Расход", "purpose": "Назначение платежа"}'
    )
    csv = upload(client, admin, "bank_2026-10.csv", mapping=mapping)
    assert (csv["lines"], csv["credits"], csv["debits"]) == (6, 5, 1)
    by_doc = {ln["doc_number"]: ln for ln in lines(client, admin, csv["import_id"])}
    assert by_doc["77"]["owner_id"] == ids["petrova"] and by_doc["77"]["amount"] == "4500.00"
    assert by_doc["301"]["amount"] == "3000.50"


def test_the_admin_who_imported_from_the_mini_app_hears_the_counts(client):
    from kopilka.auth.telegram import make_init_data
    from kopilka_bot import texts

    v = village(client)
    admin, cid = v["admin"], v["c"]["id"]
    tg = unique_id()
    r = client.patch(f"/api/communities/{cid}", json={"admin_telegram_ids": [tg]}, headers=admin)
    assert r.status_code == 200, r.text
    r = client.post(
        f"{P}/owners",
        json={"owner_id": unique_id(), "name": "Казначей", "telegram_id": tg},
        headers=admin,
    )
    assert r.status_code == 201, r.text
    me = {"Authorization": "tma " + make_init_data(tg, "123456:TEST-TOKEN", language_code="ru")}
    body = (DATA / "statement_2026-10.1c.txt").read_bytes()
    r = client.post(IMP, files={"file": ("oct.txt", body)}, headers={**me, "Prefer": "wait=60"})
    assert r.status_code == 200 and r.json()["status"] == "SUCCEEDED", r.text
    [(kind, payload)] = sql(
        "SELECT kind, payload FROM notifications WHERE community_id = :c AND kind = 'job_finished'",
        c=cid,
    )
    assert payload["counts"] == {
        "import_id": r.json()["result"]["import_id"], "lines": 9, "new": 9, "duplicates": 0,
        "booked": 6, "unmatched": 2, "waiting": 1,
    }  # fmt: skip
    text = texts.render(kind, payload, "ru", None)
    assert text == (
        "Импорт банковской выписки завершён.\nСтрок: 9, проведено: 6, разобрать: 2, ожидают: 1, уже были: 0."
    ), text
    # an import sent with an API key has no chat to tell
    client.post(IMP, files={"file": ("oct.txt", body)}, headers={**admin, "Prefer": "wait=60"})
    assert (
        len(
            sql(
                "SELECT 1 FROM notifications WHERE community_id = :c AND kind = 'job_finished'",
                c=cid,
            )
        )
        == 1
    )
