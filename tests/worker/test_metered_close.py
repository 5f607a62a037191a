"""A close never guesses (SPEC §3a): a TARIFF or USAGE_BASED item whose meters lack a reading
fails the close listing them (plot number, owner, meter serial); an admin's estimated reading
unblocks it and is marked on the owner's statement. USAGE_BASED adds the plots' meters to the
older per-owner readings. Real worker, real close."""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from openpyxl import load_workbook

from tests.api._support import mkperiod

pytestmark = pytest.mark.usefixtures("worker_stack")

P = "/api/payments"


def _ok(r: Any, status: int = 201) -> Any:
    assert r.status_code == status, r.text
    return r.json()


def _close(client: Any, h: dict[str, str], pid: int) -> dict[str, Any]:
    return dict(
        _ok(client.post(f"{P}/periods/{pid}/close", headers={**h, "Prefer": "wait=60"}), 200)
    )


def _village(client: Any, h: dict[str, str], strategy: dict[str, Any]) -> dict[str, Any]:
    for oid, name in ((101, "Anna"), (102, "Boris"), (103, "Vera")):
        _ok(client.post(f"{P}/owners", json={"owner_id": oid, "name": name}, headers=h))
    pid = mkperiod(client, h, "Nov", "2025-11-01", "2025-11-30")
    meters = {}
    for number, owners in (
        ("1", [{"owner_id": 101, "fraction": "0.5"}, {"owner_id": 102}]),
        ("2", [{"owner_id": 103}]),
    ):
        plot = _ok(
            client.post(
                f"{P}/plots", json={"number": number, "area": "100", "owners": owners}, headers=h
            )
        )
        meters[number] = _ok(
            client.post(
                f"{P}/plots/{plot['id']}/meters",
                json={"meter_type": "ELECTRICITY", "serial": f"SN-{number}"},
                headers=h,
            )
        )["id"]
    _ok(
        client.post(
            f"{P}/periods/{pid}/budget-items",
            json={
                "payment_type": "ELECTRICITY",
                "budgeted_amount": "100",
                "meter_type": "ELECTRICITY",
                **strategy,
            },
            headers=h,
        )
    )
    _ok(
        client.post(
            f"{P}/periods/{pid}/expenses",
            json={"amount": "1000.00", "payment_type": "ELECTRICITY"},
            headers=h,
        )
    )
    return {"pid": pid, "meters": meters}


def _read_on_the_25th(
    client: Any, h: dict[str, str], meters: dict[str, int], values: tuple[tuple[str, str], ...]
) -> None:
    """A T1 reading of each meter (by plot number) on 25 November (201)."""
    for number, value in values:
        _ok(
            client.post(
                f"{P}/meters/{meters[number]}/readings",
                json={"reading_date": "2025-11-25", "values": {"T1": value}},
                headers=h,
            )
        )


@pytest.mark.parametrize(
    "strategy",
    [
        {"allocation_strategy": "TARIFF", "tariffs": {"T1": "4.00"}, "loss_strategy": "FIXED_FEE"},
        {"allocation_strategy": "USAGE_BASED"},
    ],
    ids=["TARIFF", "USAGE_BASED"],
)
def test_a_close_lists_the_meters_without_readings_and_an_estimate_unblocks_it(
    client: Any, admin: dict[str, str], strategy: dict[str, Any]
) -> None:
    v = _village(client, admin, strategy)
    pid, meters = v["pid"], v["meters"]
    _ok(
        client.post(
            f"{P}/meters/{meters['1']}/readings",
            json={"reading_date": "2025-11-25", "values": {"T1": "100"}},
            headers=admin,
        )
    )
    job = _close(client, admin, pid)
    assert job["status"] == "FAILED"
    assert "SN-2" in job["error"] and "plot 2" in job["error"] and "Vera" in job["error"], job[
        "error"
    ]
    assert "SN-1" not in job["error"]
    assert _ok(client.get(f"{P}/periods/{pid}", headers=admin), 200)["status"] == "OPEN"
    # the preview still shows it (nothing guessed: the missing meter counts nothing there)
    missing = _ok(client.get(f"{P}/periods/{pid}/consumption", headers=admin), 200)["missing"]
    assert [m["serial"] for m in missing] == ["SN-2"]

    r = _ok(
        client.post(
            f"{P}/meters/{meters['2']}/readings",
            json={"reading_date": "2025-11-30", "values": {"T1": "150"}, "estimated": True},
            headers=admin,
        )
    )
    assert r["estimated"] is True
    job = _close(client, admin, pid)
    assert job["status"] == "SUCCEEDED", job
    sheet = _ok(client.get(f"{P}/periods/{pid}/balance-sheet", headers=admin), 200)
    allocated = {e["owner_id"]: e["total_allocated"] for e in sheet["entries"]}
    if strategy["allocation_strategy"] == "TARIFF":
        # 100 kWh x 4.00 = 400.00 (200.00 each for Anna and Boris), 150 x 4.00 = 600.00 for Vera;
        # the loss 1000.00 - 1000.00 = 0.00
        assert allocated == {101: "200.00", 102: "200.00", 103: "600.00"}
    else:
        assert allocated == {101: "200.00", 102: "200.00", 103: "600.00"}  # 50 : 50 : 150
    vera = _ok(client.get(f"{P}/owners/103/statement", headers=admin), 200)["periods"][0]["metered"]
    assert vera[0]["estimated"] is True and vera[0]["consumption"] == {"T1": "150"}
    anna = _ok(client.get(f"{P}/owners/101/statement", headers=admin), 200)["periods"][0]["metered"]
    assert anna[0]["estimated"] is False and anna[0]["consumption"] == {"T1": "50"}
    # the exports list them too: CSV and PDF (the estimate marked)
    csv = client.get(f"{P}/owners/103/statement?format=csv", headers=admin)
    assert csv.status_code == 200
    text = csv.content.decode("utf-8-sig")
    assert "Учёт по счётчикам" in text and "ELECTRICITY,T1 150,600.00,0.00,да" in text, text
    pdf = client.get(f"{P}/owners/103/statement?format=pdf", headers=admin)
    assert pdf.status_code == 200 and pdf.content.startswith(b"%PDF")
    from io import BytesIO

    from pypdf import PdfReader

    words = " ".join(page.extract_text() for page in PdfReader(BytesIO(pdf.content)).pages)
    assert "ELECTRICITY *" in words and "T1 150" in words and "600.00" in words, words
    xlsx = client.get(f"{P}/owners/103/statement?format=xlsx", headers=admin)
    assert xlsx.status_code == 200
    book = load_workbook(BytesIO(xlsx.content))
    rows = [list(row) for row in book["Учёт по счётчикам"].iter_rows(values_only=True)]
    assert rows[1][:6] == [pid, "ELECTRICITY", "T1 150", Decimal("600.00"), Decimal("0.00"), "да"]
    if strategy["allocation_strategy"] == "TARIFF":
        shots = Path("/tmp/kopilka-screenshots")  # looked at with pdftoppm; made when missing
        shots.mkdir(parents=True, exist_ok=True)
        (shots / "statement-metered.pdf").write_bytes(pdf.content)


def test_usage_based_adds_the_meters_to_the_older_readings(
    client: Any, admin: dict[str, str]
) -> None:
    v = _village(client, admin, {"allocation_strategy": "USAGE_BASED"})
    pid, meters = v["pid"], v["meters"]
    _read_on_the_25th(client, admin, meters, (("1", "100"), ("2", "100")))
    # the older form: Anna's own 100 more
    _ok(
        client.post(
            f"{P}/periods/{pid}/meter-readings",
            json={
                "owner_id": 101,
                "meter_type": "ELECTRICITY",
                "start_reading": 0,
                "end_reading": 100,
            },
            headers=admin,
        )
    )
    sheet = _ok(client.get(f"{P}/periods/{pid}/balance-sheet", headers=admin), 200)
    # Anna 50 + 100 = 150, Boris 50, Vera 100: of 300
    assert {e["owner_id"]: e["total_allocated"] for e in sheet["entries"]} == {
        101: "500.00",
        102: "166.67",
        103: "333.33",
    }


def test_a_negative_loss_and_usage_based_loss(client: Any, admin: dict[str, str]) -> None:
    v = _village(
        client,
        admin,
        {"allocation_strategy": "TARIFF", "tariffs": {"T1": "5"}, "loss_strategy": "USAGE_BASED"},
    )
    pid, meters = v["pid"], v["meters"]
    _read_on_the_25th(client, admin, meters, (("1", "100"), ("2", "150")))
    # tariff: 250 kWh x 5 = 1250.00 > the bill 1000.00: the loss is -250.00, shared by usage
    sheet = _ok(client.get(f"{P}/periods/{pid}/balance-sheet", headers=admin), 200)
    tariff = next(p for p in sheet["pools"] if p["strategy"] == "TARIFF")["tariff"]
    assert tariff["loss"] == "-250.00" and tariff["tariff_total"] == "1250.00"
    assert {o["owner_id"]: (o["tariff_charge"], o["loss_share"]) for o in tariff["owners"]} == {
        101: ("250.00", "-50.00"),
        102: ("250.00", "-50.00"),
        103: ("750.00", "-150.00"),
    }
    assert sheet["total_allocated"] == "1000.00"
