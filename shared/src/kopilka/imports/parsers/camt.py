"""ISO 20022 camt.053 (bank-to-customer statement), any version 001.02 … 001.13.

Parsed with defusedxml (no DTDs, no entities, no network: a statement is untrusted input).
Elements are matched by local name, so every version's namespace reads the same."""

from __future__ import annotations

import re
from typing import Any
from xml.etree.ElementTree import Element, ParseError

from defusedxml import DefusedXmlException
from defusedxml.ElementTree import fromstring

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

NS_PREFIX = "urn:iso:std:iso:20022:tech:xsd:camt.053."


def _local(tag: Any) -> str:
    return tag.rsplit("}", 1)[-1] if isinstance(tag, str) else ""


def _child(el: Element | None, *path: str) -> Element | None:
    for name in path:
        if el is None:
            return None
        el = next((c for c in el if _local(c.tag) == name), None)
    return el


def _children(el: Element | None, name: str) -> list[Element]:
    return [] if el is None else [c for c in el if _local(c.tag) == name]


def _text(el: Element | None, *path: str) -> str | None:
    found = _child(el, *path)
    return clean(found.text) if found is not None and found.text else None


def _account(el: Element | None) -> str | None:
    """``Id/IBAN`` or ``Id/Othr/Id``."""
    return digits(_text(el, "Id", "IBAN") or _text(el, "Id", "Othr", "Id"))


def _party_name(el: Element | None) -> str | None:
    # camt.053.001.02: Dbtr/Nm; 001.08 and later: Dbtr/Pty/Nm
    return _text(el, "Nm") or _text(el, "Pty", "Nm")


def _party_inn(el: Element | None) -> str | None:
    for path in (("Id", "OrgId", "Othr", "Id"), ("Pty", "Id", "OrgId", "Othr", "Id")):
        value = _text(el, *path)
        if value:
            return digits(value)
    return None


def parse(
    data: bytes, exponent: int, currency: str | None, own_account: str | None = None
) -> ParsedStatement:
    try:
        root = fromstring(data, forbid_dtd=True, forbid_entities=True, forbid_external=True)
    except ParseError as exc:
        line = exc.position[0] if getattr(exc, "position", None) else None
        raise StatementError(line, f"not well-formed XML ({exc})") from None
    except DefusedXmlException:
        raise StatementError(None, "DTDs and entities are refused in a camt.053 file") from None
    if _local(root.tag) != "Document" or _child(root, "BkToCstmrStmt") is None:
        raise StatementError(1, "not a camt.053 statement (Document/BkToCstmrStmt expected)")
    text = data.decode("utf-8", errors="replace")
    entry_lines = [
        text.count("\n", 0, m.start()) + 1 for m in re.finditer(r"<(\w+:)?Ntry[\s>]", text)
    ]
    out: list[StatementLine] = []
    account = None
    n = 0
    for stmt in _children(_child(root, "BkToCstmrStmt"), "Stmt"):
        acct = _account(_child(stmt, "Acct"))
        account = account or acct
        for entry in _children(stmt, "Ntry"):
            line = entry_lines[n] if n < len(entry_lines) else None
            n += 1
            out.extend(_entry(entry, line, exponent, currency))
    return ParsedStatement(
        format="camt053", encoding="utf-8", account=own_account or account, lines=out
    )


def _entry(
    entry: Element, line: int | None, exponent: int, currency: str | None
) -> list[StatementLine]:
    amt = _child(entry, "Amt")
    if amt is None or not (amt.text or "").strip():
        raise StatementError(line, "the entry has no Amt")
    indicator = _text(entry, "CdtDbtInd")
    if indicator not in ("CRDT", "DBIT"):
        raise StatementError(line, f"CdtDbtInd {indicator!r} is neither CRDT nor DBIT")
    direction = CREDIT if indicator == "CRDT" else DEBIT
    status = _text(entry, "Sts") or _text(entry, "Sts", "Cd")
    if status and status.upper() not in ("BOOK", "BOOKED"):
        return []  # pending or information-only entries are not money yet
    if _text(entry, "RvslInd") == "true":
        direction = DEBIT if direction == CREDIT else CREDIT
    when = _text(entry, "BookgDt", "Dt") or _text(entry, "BookgDt", "DtTm")
    when = when or _text(entry, "ValDt", "Dt") or _text(entry, "ValDt", "DtTm")
    if not when:
        raise StatementError(line, "the entry has no BookgDt")
    day = parse_date(when, line=line, what="BookgDt")
    entry_ref = _text(entry, "AcctSvcrRef") or _text(entry, "NtryRef")
    details = [tx for dtls in _children(entry, "NtryDtls") for tx in _children(dtls, "TxDtls")]
    entry_amount = _amount(amt, exponent, currency, line)
    parts: list[tuple[Element | None, int]]
    if len(details) <= 1:
        parts = [(details[0] if details else None, entry_amount)]
    else:  # a batch: each transaction its own line, with its own amount
        parts = []
        for detail in details:
            found = _child(detail, "Amt")
            tx_amt = found if found is not None else _child(detail, "AmtDtls", "TxAmt", "Amt")
            if tx_amt is None:
                raise StatementError(line, "a batch entry's transaction has no Amt")
            parts.append((detail, _amount(tx_amt, exponent, currency, line)))
    out = []
    for tx, amount in parts:
        parties = _child(tx, "RltdPties")
        dbtr, cdtr = _child(parties, "Dbtr"), _child(parties, "Cdtr")
        refs = _child(tx, "Refs")
        ref = (
            _text(refs, "AcctSvcrRef")
            or _text(refs, "TxId")
            or (_text(refs, "EndToEndId") if _text(refs, "EndToEndId") != "NOTPROVIDED" else None)
            or entry_ref
        )
        rmt = _child(tx, "RmtInf")
        purpose = clean(" ".join(t for u in _children(rmt, "Ustrd") if (t := clean(u.text))))
        out.append(
            StatementLine(
                line_no=line or 0,
                direction=direction,
                amount_minor=amount,
                date=day,
                doc_number=ref,
                doc_date=day,
                currency=amt.get("Ccy"),
                payer_name=_party_name(dbtr),
                payer_account=_account(_child(parties, "DbtrAcct")),
                payer_inn=_party_inn(dbtr),
                payee_name=_party_name(cdtr),
                payee_account=_account(_child(parties, "CdtrAcct")),
                payee_inn=_party_inn(cdtr),
                purpose=purpose or _text(entry, "AddtlNtryInf"),
            )
        )
    return out


def _amount(el: Element, exponent: int, currency: str | None, line: int | None) -> int:
    ccy = el.get("Ccy")
    if currency and ccy and ccy.upper() != currency.upper():
        raise StatementError(line, f"the entry is in {ccy}; the community keeps {currency}")
    minor = parse_amount(el.text or "", exponent, line=line, what="Amt")
    if minor <= 0:
        raise StatementError(line, "Amt must be greater than zero (CdtDbtInd gives the sign)")
    return minor
