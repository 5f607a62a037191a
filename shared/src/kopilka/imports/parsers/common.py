"""What every parser produces: one ``StatementLine`` per bank operation, amounts in exact minor
units. Pure: no I/O, no database."""

from __future__ import annotations

import datetime as dt
import hashlib
import re
import unicodedata
from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import Decimal, InvalidOperation

from kopilka.errors import ValidationFailed

CREDIT, DEBIT = "CREDIT", "DEBIT"


class StatementError(ValidationFailed):
    """A file that cannot be read: 400 naming the line; nothing is stored."""

    def __init__(self, line: int | None, message: str) -> None:
        where = f"line {line}: " if line else ""
        super().__init__(f"{where}{message}", line=line)
        self.line = line


@dataclass
class StatementLine:
    """One operation of a statement. ``direction`` is CREDIT (money into the community's
    account) or DEBIT. ``amount_minor`` is positive."""

    line_no: int
    direction: str
    amount_minor: int
    date: dt.date
    doc_number: str | None = None
    doc_date: dt.date | None = None
    currency: str | None = None
    payer_name: str | None = None
    payer_account: str | None = None
    payer_inn: str | None = None
    payee_name: str | None = None
    payee_account: str | None = None
    payee_inn: str | None = None
    purpose: str | None = None
    extra: dict[str, str] = field(default_factory=dict)

    # The other side of the operation: who paid us (credit) or whom we paid (debit).
    @property
    def counterparty_name(self) -> str | None:
        return self.payer_name if self.direction == CREDIT else self.payee_name

    @property
    def counterparty_account(self) -> str | None:
        return self.payer_account if self.direction == CREDIT else self.payee_account

    @property
    def counterparty_inn(self) -> str | None:
        return self.payer_inn if self.direction == CREDIT else self.payee_inn


@dataclass
class ParsedStatement:
    format: str
    encoding: str | None
    account: str | None  # the statement's own account, when the file says
    lines: list[StatementLine]


def clean(value: str | None) -> str | None:
    """Trimmed, inner whitespace collapsed; empty → None."""
    if value is None:
        return None
    out = " ".join(value.split())
    return out or None


def digits(value: str | None) -> str | None:
    """An account or tax id as its digits/letters only (banks print them with spaces)."""
    if value is None:
        return None
    out = re.sub(r"[\s\-]", "", value).upper()
    return out or None


_SPACES = re.compile(r"[\s\u00a0\u202f\u2009'’]")


def parse_amount(
    text: str, exponent: int, *, decimal_sep: str = ".", line: int | None, what: str = "amount"
) -> int:
    """An amount as the bank printed it → signed minor units, exactly. ``decimal_sep`` is the
    locale's decimal separator; the other of ``.``/``,`` and spaces (also non-breaking) are
    thousands separators. More decimals than the currency has → error."""
    raw = text.strip()
    t = _SPACES.sub("", raw).replace("\u2212", "-")
    negative = False
    if t.startswith(("-", "+")):
        negative = t[0] == "-"
        t = t[1:]
    elif t.endswith("-"):
        negative, t = True, t[:-1]
    other = "," if decimal_sep == "." else "."
    t = t.replace(other, "")
    if decimal_sep == ",":
        t = t.replace(",", ".")
    if not re.fullmatch(r"\d+(\.\d*)?|\.\d+", t):
        raise StatementError(line, f"{what} {raw!r} is not an amount")
    try:
        value = Decimal(t)
    except InvalidOperation:  # pragma: no cover - the pattern above admits only decimals
        raise StatementError(line, f"{what} {raw!r} is not an amount") from None
    scaled = value.scaleb(exponent)
    if scaled != scaled.to_integral_value():
        raise StatementError(line, f"{what} {raw!r} has more than {exponent} decimals")
    minor = int(scaled)
    if minor >= 10**14:
        raise StatementError(line, f"{what} {raw!r} is too large")
    return -minor if negative else minor


_DATE_FORMATS = ("%d.%m.%Y", "%Y-%m-%d", "%d/%m/%Y", "%d.%m.%y", "%d-%m-%Y")


_DMY = re.compile(r"(\d{2})\.(\d{2})\.(\d{4})")


def parse_date(text: str, *, line: int | None, what: str = "date") -> date:
    raw = text.strip()
    m = _DMY.fullmatch(raw)
    if m:  # the common case (1C, Russian CSVs), without strptime's cost
        try:
            return date(int(m.group(3)), int(m.group(2)), int(m.group(1)))
        except ValueError:
            raise StatementError(line, f"{what} {raw!r} is not a date (dd.mm.yyyy)") from None
    head = raw[:10] if re.match(r"\d{4}-\d{2}-\d{2}T", raw) else raw.split(" ")[0]
    for fmt in _DATE_FORMATS:
        try:
            return datetime.strptime(head, fmt).date()
        except ValueError:
            continue
    raise StatementError(line, f"{what} {raw!r} is not a date (dd.mm.yyyy)")


def normalized(line: StatementLine) -> str:
    """The whole line as one canonical text (for the fallback identity)."""
    parts = [
        line.direction,
        line.date.isoformat(),
        (line.doc_date or line.date).isoformat(),
        str(line.amount_minor),
        line.doc_number or "",
        line.payer_name or "",
        line.payer_account or "",
        line.payer_inn or "",
        line.payee_name or "",
        line.payee_account or "",
        line.payee_inn or "",
        line.purpose or "",
    ]
    return unicodedata.normalize("NFC", "\x1f".join(parts)).casefold()


def identities(lines: list[StatementLine]) -> list[str]:
    """Each line's identity (SPEC §4b): the bank's document number + date + amount + payer
    account; a hash of the whole normalized line when any of those is missing. Identical lines
    within one file are told apart by their occurrence number, so a statement that truly holds
    two equal transfers keeps both, and the same file again is all duplicates."""
    seen: dict[str, int] = {}
    out = []
    for line in lines:
        if line.doc_number and line.payer_account:
            base = "|".join(
                (
                    "doc",
                    line.direction,
                    line.doc_number.casefold(),
                    (line.doc_date or line.date).isoformat(),
                    str(line.amount_minor),
                    line.payer_account,
                )
            )
        else:
            base = "line|" + normalized(line)
        n = seen.get(base, 0)
        seen[base] = n + 1
        out.append(hashlib.sha256(f"{base}#{n}".encode()).hexdigest())
    return out
