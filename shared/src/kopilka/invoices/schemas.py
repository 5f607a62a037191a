"""Invoices as the API returns them: one per owner with charges, issued when a period closes;
paid is derived from the owner's payments (``kopilka.invoices.service``)."""

from __future__ import annotations

from datetime import datetime
from typing import Literal

from pydantic import BaseModel

InvoiceStatus = Literal["ISSUED", "PARTIAL", "PAID", "VOID"]


class MeteredLineOut(BaseModel):
    """An owner's metered item of a closed period (SPEC §3a): consumption per zone, the tariff
    charge (for USAGE_BASED: the share by consumption), the share of the loss, and whether a
    reading behind it was an admin's estimate."""

    pool: str
    meter_type: str
    consumption: dict[str, str]
    tariff_charge: str
    loss_share: str
    estimated: bool


class InvoiceOut(BaseModel):
    id: int
    period_id: int
    period_name: str
    amount: str
    paid: str
    pending: str
    status: InvoiceStatus
    issued_at: datetime
    # set when the invoice's period was reopened (status VOID)
    voided_at: datetime | None = None
    # the metered items the invoice holds (consumption, tariff charge, loss share)
    metered: list[MeteredLineOut] = []
    # what the owner scans to pay what is pending (GOST R 56042-2014 text; SPEC §4b), when the
    # community keeps bank details; its image: GET /owners/{owner_id}/invoices/{id}/payment-qr.png
    payment_qr: str | None = None
