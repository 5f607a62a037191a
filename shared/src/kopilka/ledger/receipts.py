"""What an owner's receipt of a contribution says (the bot words it): the payload of the RECEIPT
notification, for one recorded contribution (``contributions``) and for each of a bank
statement's (``bulk``)."""

from __future__ import annotations

from datetime import date
from typing import Any


def receipt_payload(
    amount_minor: int, currency: str, period_name: str, day: date, comment: str | None
) -> dict[str, Any]:
    return {
        "amount_minor": amount_minor,
        "currency": currency,
        "period_name": period_name,
        "date": day.isoformat(),
        "comment": comment,
    }
