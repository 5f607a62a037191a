"""What an owner's receipt of a contribution says (the bot words it): the payload of the RECEIPT
notification, for one recorded contribution (``contributions``) and for each of a bank
statement's (``bulk``, where the same payload is built in SQL: ``receipt_payload_sql``)."""

from __future__ import annotations

from datetime import date
from typing import Any

from sqlalchemy import func, literal_column

FIELDS = ("amount_minor", "currency", "period_name", "date", "comment")


def receipt_payload(
    amount_minor: int, currency: str, period_name: str, day: date, comment: str | None
) -> dict[str, Any]:
    values = (amount_minor, currency, period_name, day.isoformat(), comment)
    return dict(zip(FIELDS, values, strict=True))


def receipt_payload_sql(
    amount_minor: Any, currency: Any, period_name: Any, day: Any, comment: Any, **extra: Any
) -> Any:
    """``receipt_payload`` as a SQL expression over columns (jsonb; a date is its ISO text in
    JSON, as ``isoformat`` writes it), with ``extra`` keys: thousands of receipts in one
    INSERT ... SELECT."""
    values = (amount_minor, currency, period_name, day, comment, *extra.values())
    args: list[Any] = []
    for key, value in zip((*FIELDS, *extra), values, strict=True):
        # the key inline: PostgreSQL cannot type a bound parameter given to jsonb_build_object
        args += [literal_column(f"'{key}'"), value]
    return func.jsonb_build_object(*args)
