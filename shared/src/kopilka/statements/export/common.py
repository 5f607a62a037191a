"""What every format shares: labels, amounts, dates in UTC, ASCII file names."""

from __future__ import annotations

import re
import unicodedata
from datetime import UTC, date, datetime
from decimal import Decimal

from kopilka.errors import ValidationFailed
from kopilka.i18n import _
from kopilka.money import currency_exponent
from kopilka.statements.schemas import OwnerStatementOut, PeriodStatementOut

FORMATS = ("csv", "xlsx", "pdf")
MEDIA_TYPES: dict[str, str] = {
    "csv": "text/csv; charset=utf-8",
    "xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
    "pdf": "application/pdf",
}

INVOICE_STATUSES = ("ISSUED", "PARTIAL", "PAID", "VOID")
STATUS_LABELS = {
    "ISSUED": "Issued",
    "PARTIAL": "Partly paid",
    "PAID": "Paid",
    "VOID": "Void",
    "OPEN": "Open",
    "CLOSING": "Being closed",
    "CLOSED": "Closed",
}


# --------------------------------------------------------------------------------------------
# shared helpers


def decimal_amount(value: str) -> Decimal:
    return Decimal(value)


def exponent(currency: str) -> int:
    return currency_exponent(currency.upper())


def number_format(currency: str) -> str:
    exp = exponent(currency)
    return "#,##0." + "0" * exp if exp else "#,##0"


def utc(moment: datetime) -> datetime:
    """Naive UTC (spreadsheets have no time zones); a naive input is taken as UTC already."""
    if moment.tzinfo is None:
        return moment
    return moment.astimezone(UTC).replace(tzinfo=None)


def utc_text(moment: datetime) -> str:
    return utc(moment).strftime("%Y-%m-%d %H:%M UTC")


def owner_label(name: str | None, owner_id: int) -> str:
    return _("{name} (id {id})", name=name, id=owner_id) if name else _("Owner {id}", id=owner_id)


def status_label(status: str) -> str:
    return _(STATUS_LABELS.get(status, status))


_TRANSLIT = {
    "а": "a", "б": "b", "в": "v", "г": "g", "д": "d", "е": "e", "ё": "e", "ж": "zh", "з": "z",
    "и": "i", "й": "i", "к": "k", "л": "l", "м": "m", "н": "n", "о": "o", "п": "p", "р": "r",
    "с": "s", "т": "t", "у": "u", "ф": "f", "х": "kh", "ц": "ts", "ч": "ch", "ш": "sh",
    "щ": "shch", "ъ": "", "ы": "y", "ь": "", "э": "e", "ю": "iu", "я": "ia",
    "і": "i", "ї": "i", "є": "ie", "ґ": "g", "ў": "u",
}  # fmt: skip


def transliterate(text: str) -> str:
    """Latin rendering of Cyrillic (ICAO-like), other accents stripped: "Щука" -> "Shchuka"."""
    out: list[str] = []
    for ch in text:
        low = ch.lower()
        if low in _TRANSLIT:
            latin = _TRANSLIT[low]
            out.append(latin.capitalize() if ch != low else latin)
        else:
            out.append(ch)
    decomposed = unicodedata.normalize("NFKD", "".join(out))
    return "".join(c for c in decomposed if not unicodedata.combining(c))


def _slug(text: str, limit: int = 40) -> str:
    ascii_text = transliterate(text).encode("ascii", "ignore").decode().lower()
    slug = re.sub(r"[^a-z0-9]+", "-", ascii_text).strip("-")
    return slug[:limit].rstrip("-")


def export_filename(
    kind: str, community_name: str, subject: str, fmt: str, *, on: date | None = None
) -> str:
    """An ASCII-safe download name, safe in a plain ``Content-Disposition: filename="..."``.

    ``export_filename("owner", "Сосновый бор", "123456789", "pdf", on=date(2026, 11, 22))``
    gives ``statement-owner-123456789-sosnovyi-bor-2026-11-22.pdf``; ``kind`` is "owner" or
    "period", ``subject`` the owner id or the period name. ``on`` defaults to today (UTC).
    """
    if fmt not in FORMATS:
        raise ValidationFailed(f"unknown export format {fmt!r}: use one of {', '.join(FORMATS)}")
    day = on if on is not None else datetime.now(UTC).date()
    parts = ["statement", _slug(kind, 20), _slug(subject), _slug(community_name), day.isoformat()]
    return "-".join(p for p in parts if p) + "." + fmt


def consumption_text(zones: dict[str, str]) -> str:
    """ "T1 325, T2 150": an owner's consumption per zone (SPEC §3a)."""
    return ", ".join(f"{z} {v}" for z, v in zones.items())


METERED_HEADERS = (
    "Period id",
    "Meter type",
    "Consumption",
    "Tariff charge",
    "Loss share",
    "Estimated reading",
)


def metered_rows(s: OwnerStatementOut) -> list[list[object]]:
    """An owner's metered items (SPEC §3a), one row per period and meter type, in the order of
    METERED_HEADERS: consumption per zone, tariff charge, loss share, the estimate marked."""
    return [
        [
            p.period_id,
            m.meter_type,
            consumption_text(m.consumption),
            m.tariff_charge,
            m.loss_share,
            _("yes") if m.estimated else "",
        ]
        for p in s.periods
        for m in p.metered
    ]


# The columns of the statements' tables, shared by the CSV and the XLSX (the PDF, narrower, has
# its own headers): English, translated where they are written.
PERIOD_HEADERS = (
    "Period id", "Period", "Start date", "End date", "Status",
    "Opening balance", "Charges", "Payments", "Closing balance",
)  # fmt: skip
INVOICE_HEADERS = (
    "Invoice id", "Period id", "Period", "Issued at (UTC)", "Amount", "Paid", "Pending", "Status",
)  # fmt: skip
LINE_HEADERS = (
    "Owner id", "Owner", "Opening balance", "Charges", "Payments", "Closing balance",
    "Invoice amount", "Invoice status",
)  # fmt: skip


# owner id, owner, opening balance, charges, payments, closing balance, invoice amount and status
Line = tuple[int, str, str, str, str, str, str, str]


def period_lines(s: PeriodStatementOut) -> list[Line]:
    """The period statement's owner lines, in the order of LINE_HEADERS (missing texts empty)."""
    return [
        (
            line.owner_id,
            line.owner_name or "",
            line.opening_balance,
            line.charges,
            line.payments,
            line.closing_balance,
            line.invoice_amount or "",
            line.invoice_status or "",
        )
        for line in s.lines
    ]


def period_totals(s: PeriodStatementOut) -> list[str]:
    """The total row's amounts, under LINE_HEADERS from "Opening balance" on."""
    keys = ("opening_balance", "charges", "payments", "closing_balance", "invoiced")
    return [*(s.totals.get(k, "") for k in keys), ""]
