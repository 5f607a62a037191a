"""Statement parsers (pure: bytes in, lines out) and format detection."""

from __future__ import annotations

from typing import Any

from kopilka.imports.parsers import camt, csvfile, onec
from kopilka.imports.parsers.common import (
    CREDIT,
    DEBIT,
    ParsedStatement,
    StatementError,
    StatementLine,
    identities,
)

FORMATS = ("1c", "camt053", "csv")

__all__ = [
    "CREDIT",
    "DEBIT",
    "FORMATS",
    "ParsedStatement",
    "StatementError",
    "StatementLine",
    "detect",
    "identities",
    "parse",
]


def detect(data: bytes) -> str:
    head = data[:2048].lstrip(b"\xef\xbb\xbf \t\r\n")
    if head.startswith(onec.SIGNATURE.encode()):
        return "1c"
    if head.startswith(b"<"):
        if b"camt.053" in data[:4096] or b"BkToCstmrStmt" in data[:8192]:
            return "camt053"
        raise StatementError(1, "an XML file that is not a camt.053 statement")
    return "csv"


def parse(
    data: bytes,
    *,
    fmt: str | None,
    exponent: int,
    currency: str | None = None,
    mapping: Any = None,
    own_account: str | None = None,
) -> ParsedStatement:
    """Parse a statement; ``fmt`` None detects it. Raises ``StatementError`` (400) naming the
    line of the first problem."""
    if not data.strip():
        raise StatementError(None, "the file is empty")
    fmt = (fmt or detect(data)).lower()
    if fmt in ("1c", "1cclientbankexchange"):
        return onec.parse(data, exponent, own_account)
    if fmt in ("camt053", "camt.053", "camt"):
        return camt.parse(data, exponent, currency, own_account)
    if fmt == "csv":
        if mapping is None:
            raise StatementError(
                None, "a CSV statement needs its column mapping (form field 'mapping')"
            )
        return csvfile.parse(data, exponent, mapping)
    raise StatementError(None, f"format {fmt!r}: one of {', '.join(FORMATS)}")
