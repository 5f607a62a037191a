"""The community's bank details and the GOST R 56042-2014 payment QR on every invoice: the test
DECODES the generated images (the PNG the API serves, and the QR printed in the PDF statement,
rendered by pdftoppm) with zxing-cpp and checks every field; the payment that comes back in the
bank's statement matches its invoice by itself."""

from __future__ import annotations

import io
import os
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest
from PIL import Image

from kopilka.invoices.payment_qr import parse_gost
from tests.api._support import charge, mkperiod, post
from tests.conftest import unique_id
from tests.support.jobs import run_job
from tests.support.payment_qr import BANK, decode

P = "/api/payments"
SHOTS = Path(os.environ.get("KOPILKA_SCREENSHOT_DIR", "/tmp/kopilka-screenshots"))


def job(client: Any, admin: dict[str, str], response: Any) -> dict[str, Any]:
    assert response.status_code == 202, response.text
    assert run_job(response.json()["id"]) == "SUCCEEDED"
    return dict(client.get(f"/api/jobs/{response.json()['id']}", headers=admin).json())


@pytest.mark.parametrize(
    ("field", "value"),
    [("bic", "04452522"), ("bic", "04452522X"), ("account", "4070381093800001234"),
     ("corr_account", "301018104000000002251"), ("inn", "50030123451"), ("recipient", "")],
)  # fmt: skip
def test_bank_details_are_validated(
    client: Any, community: dict[str, Any], admin: dict[str, str], field: str, value: str
) -> None:
    r = client.patch(
        f"/api/communities/{community['id']}", json={"bank": {**BANK, field: value}}, headers=admin
    )
    assert r.status_code == 400, r.text
    assert client.get(f"/api/communities/{community['id']}", headers=admin).json()["bank"] is None


def test_invoice_qr_decodes_to_every_field_and_its_payment_matches_itself(
    client: Any, community: dict[str, Any], admin: dict[str, str], tmp_path: Path
) -> None:
    cid = community["id"]
    r = client.patch(f"/api/communities/{cid}", json={"bank": BANK}, headers=admin)
    assert r.status_code == 200, r.text
    assert r.json()["bank"] == BANK
    owner, other = unique_id(), unique_id()
    for oid, name in ((owner, "Иванов Иван Иванович"), (other, "Петров Пётр")):
        post(client, admin, "/owners", {"owner_id": oid, "name": name})
    for number, oid in (("17", owner), ("18", owner), ("3", other)):
        r = client.post(
            f"{P}/plots",
            json={"number": number, "area": "600", "owners": [{"owner_id": oid}]},
            headers=admin,
        )
        assert r.status_code == 201, r.text
    period = mkperiod(client, admin, "Октябрь 2026", "2026-10-01", "2026-10-31")
    nxt = mkperiod(client, admin, "Ноябрь 2026", "2026-11-01", "2026-11-30")
    for oid, amount in ((owner, "4500.50"), (other, "100")):
        charge(client, admin, period, oid, amount, description="Членский взнос")
    assert (
        job(client, admin, client.post(f"{P}/periods/{period}/close", headers=admin))["status"]
        == "SUCCEEDED"
    )

    [invoice] = client.get(f"{P}/owners/{owner}/invoices", headers=admin).json()
    code = invoice["payment_qr"]
    fields = parse_gost(code)
    assert code.startswith("ST00012|")
    assert fields == {
        "Name": 'СНТ "Сосенки"', "PersonalAcc": "40703810938000012345", "BankName": "ПАО Сбербанк",
        "BIC": "044525225", "CorrespAcc": "30101810400000000225", "Sum": "450050",
        "Purpose": f"Взносы по счёту {invoice['id']}, уч. 17, 18", "PayeeINN": "5003012345",
    }  # fmt: skip

    # the PNG the API serves decodes to exactly that text (the Mini App shows the SVG)
    r = client.get(f"{P}/owners/{owner}/invoices/{invoice['id']}/payment-qr.png", headers=admin)
    assert r.status_code == 200 and r.headers["content-type"] == "image/png"
    assert decode(Image.open(io.BytesIO(r.content))) == [code]
    r = client.get(f"{P}/owners/{owner}/invoices/{invoice['id']}/payment-qr.svg", headers=admin)
    assert r.status_code == 200 and r.text.startswith("<svg")

    # the PDF statement prints it: rendered with pdftoppm, the page's QR decodes to the same text
    r = client.get(f"{P}/owners/{owner}/statement", params={"format": "pdf"}, headers=admin)
    assert r.status_code == 200
    pdf = tmp_path / "statement.pdf"
    pdf.write_bytes(r.content)
    assert shutil.which("pdftoppm"), "poppler-utils (scripts/ensure-system-packages.sh)"
    subprocess.run(["pdftoppm", "-r", "150", "-png", str(pdf), str(tmp_path / "page")], check=True)
    pages = sorted(tmp_path.glob("page*.png"))
    found = [text for page in pages for text in decode(Image.open(page))]
    assert found == [code]
    SHOTS.mkdir(parents=True, exist_ok=True)
    shutil.copy(pages[-1], SHOTS / "statement-payment-qr.png")

    # paid: the QR's purpose comes back in the bank's statement and books to its invoice's owner
    # (the payer's name is someone else's, the plot numbers are the owner's)
    statement = (
        f"Дата;Сумма;Плательщик;Назначение\n05.11.2026;4500,50;Иванова Мария;{fields['Purpose']}\n"
    )
    mapping = '{"date": "Дата", "amount": "Сумма", "payer": "Плательщик", "purpose": "Назначение"}'
    r = client.post(
        f"{P}/imports",
        files={"file": ("bank.csv", statement.encode())},
        data={"mapping": mapping},
        headers=admin,
    )
    result = job(client, admin, r)["result"]
    assert result["booked"] == 1, result
    imp = int(r.headers["Content-Location"].rsplit("/", 1)[1])
    [line] = client.get(f"{P}/imports/{imp}/lines", headers=admin).json()
    assert (line["owner_id"], line["matched_by"], line["period_id"]) == (owner, "INVOICE", nxt)
    [paid] = client.get(f"{P}/owners/{owner}/invoices", headers=admin).json()
    assert paid["status"] == "PAID" and paid["payment_qr"] is None
    r = client.get(f"{P}/owners/{owner}/invoices/{invoice['id']}/payment-qr.png", headers=admin)
    assert r.status_code == 404


def test_no_bank_details_no_code(client: Any, admin: dict[str, str]) -> None:
    owner = unique_id()
    period = mkperiod(client, admin, "X", "2026-10-01", "2026-10-31")
    charge(client, admin, period, owner, "10")
    assert (
        job(client, admin, client.post(f"{P}/periods/{period}/close", headers=admin))["status"]
        == "SUCCEEDED"
    )
    [invoice] = client.get(f"{P}/owners/{owner}/invoices", headers=admin).json()
    assert invoice["payment_qr"] is None and invoice["status"] == "ISSUED"
