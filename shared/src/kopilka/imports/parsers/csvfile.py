"""A bank's CSV with a column mapping (SPEC §4b): the mapping names the file's headers for
``date``, ``amount`` (signed) or ``credit`` and ``debit``, ``payer``, ``account``, ``purpose`` and
optionally ``doc_number`` and ``inn``. The dialect (``;``, ``,`` or tab) is sniffed by the
standard library's ``csv.Sniffer``; the decimal separator is the mapping's ``decimal`` or, by
default, the comma when the delimiter is ``;`` (the Russian and continental locale) and the point
otherwise; spaces, non-breaking spaces and the other of ``.``/``,`` are thousands separators."""

from __future__ import annotations

import csv
import io
from typing import Any

from kopilka.imports.parsers.common import (
    CREDIT,
    DEBIT,
    ParsedStatement,
    StatementError,
    StatementLine,
    clean,
    digits,
    parse_amount,
    parse_date,
)

KEYS = {
    "date", "amount", "credit", "debit", "payer", "account", "purpose", "doc_number", "inn",
    "decimal", "payee", "payee_account",
}  # fmt: skip


def check_mapping(mapping: Any) -> dict[str, str]:
    if not isinstance(mapping, dict):
        raise StatementError(None, "mapping: a JSON object naming the file's columns is required")
    unknown = set(mapping) - KEYS
    if unknown:
        raise StatementError(None, f"mapping: unknown keys {sorted(unknown)}")
    for key, value in mapping.items():
        if not isinstance(value, str) or not value.strip():
            raise StatementError(None, f"mapping.{key}: must be a column header (text)")
    if "date" not in mapping:
        raise StatementError(None, "mapping.date: required")
    if "amount" not in mapping and not ("credit" in mapping or "debit" in mapping):
        raise StatementError(None, "mapping: name 'amount' (signed) or 'credit' and 'debit'")
    if "amount" in mapping and ("credit" in mapping or "debit" in mapping):
        raise StatementError(None, "mapping: 'amount' or 'credit'/'debit', not both")
    if mapping.get("decimal", ",") not in (",", "."):
        raise StatementError(None, "mapping.decimal: ',' or '.'")
    return {k: v.strip() for k, v in mapping.items()}


def decode(data: bytes) -> tuple[str, str]:
    if data.startswith(b"\xef\xbb\xbf"):
        return data[3:].decode("utf-8"), "utf-8"
    try:
        return data.decode("utf-8"), "utf-8"
    except UnicodeDecodeError:
        return data.decode("cp1251"), "windows-1251"


def parse(data: bytes, exponent: int, mapping: Any) -> ParsedStatement:
    m = check_mapping(mapping)
    text, encoding = decode(data)
    sample = "\n".join(text.splitlines()[:20])
    try:
        dialect: Any = csv.Sniffer().sniff(sample, delimiters=";,\t")
        delimiter = dialect.delimiter
    except csv.Error:
        first = sample.splitlines()[0] if sample else ""
        delimiter = max(";,\t", key=first.count)
    decimal_sep = m.get("decimal") or ("," if delimiter in ";\t" else ".")
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=delimiter, quotechar='"')
    try:
        header = next(reader)
    except StopIteration:
        raise StatementError(1, "the file is empty") from None
    except csv.Error as exc:
        raise StatementError(1, f"not a CSV ({exc})") from None
    header = [h.strip().lstrip("\ufeff") for h in header]
    index: dict[str, int] = {}
    for key, column in m.items():
        if key == "decimal":
            continue
        if column not in header:
            raise StatementError(1, f"column {column!r} (mapping.{key}) is not in the header")
        index[key] = header.index(column)
    out: list[StatementLine] = []
    try:
        for row in reader:
            no = reader.line_num
            if not any(cell.strip() for cell in row):
                continue
            out.append(_row(row, no, index, exponent, decimal_sep))
    except csv.Error as exc:
        raise StatementError(reader.line_num, f"not a CSV row ({exc})") from None
    return ParsedStatement(format="csv", encoding=encoding, account=None, lines=out)


def _cell(row: list[str], index: dict[str, int], key: str, no: int) -> str | None:
    i = index.get(key)
    if i is None:
        return None
    if i >= len(row):
        raise StatementError(no, f"the row has {len(row)} columns; {key} is column {i + 1}")
    return row[i].strip() or None


def _row(
    row: list[str], no: int, index: dict[str, int], exponent: int, decimal_sep: str
) -> StatementLine:
    raw_date = _cell(row, index, "date", no)
    if raw_date is None:
        raise StatementError(no, "the date is empty")
    day = parse_date(raw_date, line=no)
    if "amount" in index:
        raw = _cell(row, index, "amount", no)
        if raw is None:
            raise StatementError(no, "the amount is empty")
        signed = parse_amount(raw, exponent, decimal_sep=decimal_sep, line=no)
    else:
        credit_raw = _cell(row, index, "credit", no)
        debit_raw = _cell(row, index, "debit", no)
        credit = (
            parse_amount(credit_raw, exponent, decimal_sep=decimal_sep, line=no, what="credit")
            if credit_raw
            else 0
        )
        debit = (
            parse_amount(debit_raw, exponent, decimal_sep=decimal_sep, line=no, what="debit")
            if debit_raw
            else 0
        )
        if credit and debit:
            raise StatementError(no, "both credit and debit are filled")
        signed = abs(credit) if credit else -abs(debit)
    if signed == 0:
        raise StatementError(no, "the amount is zero")
    direction = CREDIT if signed > 0 else DEBIT
    name = clean(_cell(row, index, "payer", no))
    account = digits(_cell(row, index, "account", no))
    inn = digits(_cell(row, index, "inn", no))
    line = StatementLine(
        line_no=no,
        direction=direction,
        amount_minor=abs(signed),
        date=day,
        doc_number=clean(_cell(row, index, "doc_number", no)),
        doc_date=day,
        purpose=clean(_cell(row, index, "purpose", no)),
    )
    # The mapping's "payer" and "account" name the other side of each line (the bank's
    # "counterparty" column): the payer of a credit, the recipient of a debit.
    if direction == CREDIT:
        line.payer_name, line.payer_account, line.payer_inn = name, account, inn
    else:
        line.payee_name, line.payee_account, line.payee_inn = name, account, inn
    return line
