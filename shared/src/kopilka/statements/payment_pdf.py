"""The payment block of an owner's PDF statement: for each invoice with something pending, the
GOST R 56042-2014 QR code an owner scans in their bank's app, and the same details in words."""

from __future__ import annotations

import io
from typing import Any

from kopilka.i18n import _
from kopilka.invoices import payment_qr
from kopilka.invoices.schemas import InvoiceOut

QR_MM = 42
LABEL_MM = 44


def _labels() -> list[tuple[str, str]]:
    return [
        ("Name", _("Recipient")),
        ("PersonalAcc", _("Account")),
        ("BankName", _("Bank")),
        ("BIC", _("BIC")),
        ("CorrespAcc", _("Correspondent account")),
        ("PayeeINN", _("Tax id")),
        ("Purpose", _("Purpose")),
    ]


def payment_blocks(pdf: Any, invoices: list[InvoiceOut], currency: str) -> None:
    """Draw one block per invoice that carries a payment code (``pdf`` is the statement's
    FPDF with ``heading``, ``fields`` and ``t``)."""
    due = [i for i in invoices if i.payment_qr]
    for inv in due:
        assert inv.payment_qr is not None
        fields = payment_qr.parse_gost(inv.payment_qr)
        if pdf.will_page_break(QR_MM + 20):
            pdf.add_page()
        pdf.ln(4)
        pdf.heading(_("Pay by QR code: {period}", period=inv.period_name))
        pdf.ln(1)
        top = pdf.get_y()
        pdf.image(
            io.BytesIO(payment_qr.png(inv.payment_qr, scale=8)), x=pdf.l_margin, y=top, w=QR_MM
        )
        pdf.set_left_margin(pdf.l_margin + QR_MM + 4)
        pdf.set_xy(pdf.l_margin, top)
        rows = [(label, fields[key]) for key, label in _labels() if key in fields]
        rows.insert(5, (_("Amount"), f"{inv.pending} {currency}"))
        for label, value in rows:
            pdf.set_x(pdf.l_margin)
            pdf.set_font(pdf.family_name, "B", 9)
            pdf.set_text_color(110, 110, 110)
            pdf.cell(LABEL_MM, 5.5, pdf.t(label))
            pdf.set_font(pdf.family_name, size=9)
            pdf.set_text_color(0, 0, 0)
            pdf.multi_cell(0, 5.5, pdf.t(value), align="L", new_x="LMARGIN", new_y="NEXT")
        pdf.set_left_margin(pdf.l_margin - QR_MM - 4)
        pdf.set_y(max(pdf.get_y(), top + QR_MM) + 4)
        pdf.set_x(pdf.l_margin)
