"""1CClientBankExchange: the exchange format every Russian bank and accounting program reads.

Read by its published rules: the first line is ``1CClientBankExchange``; then ``Key=Value`` lines:
a header (``ВерсияФормата``, ``Кодировка``, ``РасчСчет``, ``ДатаНачала`` …), account sections
``СекцияРасчСчет`` … ``КонецРасчСчет``, one section per document ``СекцияДокумент=<kind>`` …
``КонецДокумента``, and ``КонецФайла``. ``Кодировка=Windows`` is Windows-1251, ``DOS`` is CP866;
UTF-8 files (some banks write them) are recognised by decoding."""

from __future__ import annotations

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

SIGNATURE = "1CClientBankExchange"


def decode(data: bytes) -> tuple[str, str]:
    """The text and the encoding it was in."""
    if data.startswith(b"\xef\xbb\xbf"):
        return data[3:].decode("utf-8", errors="strict"), "utf-8"
    try:
        return data.decode("utf-8"), "utf-8"
    except UnicodeDecodeError:
        pass
    head = data[:4096].decode("cp1251", errors="replace")
    for raw in head.splitlines():
        key, _, value = raw.partition("=")
        if key.strip() == "Кодировка" and value.strip().upper() == "DOS":
            return data.decode("cp866"), "cp866"
    return data.decode("cp1251"), "windows-1251"


def parse(data: bytes, exponent: int, own_account: str | None = None) -> ParsedStatement:
    text, encoding = decode(data)
    lines = text.splitlines()
    if not lines or lines[0].strip().lstrip("\ufeff") != SIGNATURE:
        raise StatementError(1, f"a 1C statement starts with '{SIGNATURE}'")
    header: dict[str, str] = {}
    accounts: list[str] = []
    docs: list[tuple[int, dict[str, str], dict[str, int]]] = []
    current: dict[str, str] | None = None
    at: dict[str, int] = {}  # the line of each of the current document's keys
    current_start = 0
    in_account = False
    ended = False
    for no, raw in enumerate(lines[1:], start=2):
        line = raw.strip()
        if not line:
            continue
        if ended:
            raise StatementError(no, "text after КонецФайла")
        key, eq, value = line.partition("=")
        key, value = key.strip(), value.strip()
        if key == "СекцияДокумент":
            if current is not None:
                raise StatementError(
                    no, f"СекцияДокумент begins before the one of line {current_start} ended"
                )
            current, at, current_start = {"__kind": value}, {}, no
            continue
        if key == "КонецДокумента":
            if current is None:
                raise StatementError(no, "КонецДокумента without СекцияДокумент")
            docs.append((current_start, current, at))
            current = None
            continue
        if key == "СекцияРасчСчет":
            in_account = True
            continue
        if key == "КонецРасчСчет":
            in_account = False
            continue
        if key == "КонецФайла":
            ended = True
            continue
        if not eq:
            raise StatementError(no, f"expected Key=Value, found {line[:40]!r}")
        if current is not None:
            current[key] = value
            at[key] = no
        elif in_account:
            if key == "РасчСчет" and value:
                accounts.append(digits(value) or "")
        else:
            header[key] = value
            if key == "РасчСчет" and value:
                accounts.append(digits(value) or "")
    if current is not None:
        raise StatementError(current_start, "СекцияДокумент is not closed by КонецДокумента")
    ours = {a for a in accounts if a}
    if own_account:
        ours.add(own_account)
    out = [_line(start, doc, at, exponent, ours) for start, doc, at in docs]
    account = own_account or (accounts[0] if accounts else None)
    return ParsedStatement(format="1c", encoding=encoding, account=account, lines=out)


def _line(
    start: int, doc: dict[str, str], at: dict[str, int], exponent: int, ours: set[str]
) -> StatementLine:
    if not doc.get("Сумма"):
        raise StatementError(start, "the document has no Сумма")
    if not doc.get("Дата"):
        raise StatementError(start, "the document has no Дата")
    amount = parse_amount(doc["Сумма"], exponent, line=at.get("Сумма", start), what="Сумма")
    if amount <= 0:
        raise StatementError(at.get("Сумма", start), "Сумма must be greater than zero")
    doc_date = parse_date(doc["Дата"], line=at.get("Дата", start), what="Дата")
    payer_account = digits(doc.get("ПлательщикСчет") or doc.get("ПлательщикРасчСчет"))
    payee_account = digits(doc.get("ПолучательСчет") or doc.get("ПолучательРасчСчет"))
    if payee_account and payee_account in ours and payer_account not in ours:
        direction = CREDIT
    elif (payer_account and payer_account in ours) or doc.get("ДатаСписано"):
        direction = DEBIT
    else:
        direction = CREDIT
    when_key = "ДатаПоступило" if direction == CREDIT else "ДатаСписано"
    when = doc.get(when_key)
    day = parse_date(when, line=at.get(when_key, start), what=when_key) if when else doc_date
    payer_name = clean(doc.get("Плательщик1") or doc.get("Плательщик"))
    payee_name = clean(doc.get("Получатель1") or doc.get("Получатель"))
    return StatementLine(
        line_no=start,
        direction=direction,
        amount_minor=amount,
        date=day,
        doc_number=clean(doc.get("Номер")),
        doc_date=doc_date,
        payer_name=_strip_inn(payer_name),
        payer_account=payer_account,
        payer_inn=digits(doc.get("ПлательщикИНН")),
        payee_name=_strip_inn(payee_name),
        payee_account=payee_account,
        payee_inn=digits(doc.get("ПолучательИНН")),
        purpose=clean(doc.get("НазначениеПлатежа")),
        extra={"kind": doc.get("__kind", "")},
    )


def _strip_inn(name: str | None) -> str | None:
    """``Плательщик`` is often "ИНН 7701234567 ООО Ромашка"; the name is what follows."""
    if name and name.upper().startswith("ИНН "):
        parts = name.split(" ", 2)
        return parts[2] if len(parts) == 3 else None
    return name
