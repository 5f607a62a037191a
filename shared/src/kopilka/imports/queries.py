"""The import's statements, built once (SQL rule: Core here; raw SQL only where PostgreSQL
features demand it — a jsonb recordset with ON CONFLICT on a partial index and sequence draws for
set-based work on 10,000 lines, with a comment why)."""

from __future__ import annotations

from typing import Any

from sqlalchemy import bindparam, func, select, text, update
from sqlalchemy.dialects.postgresql import JSONB

from kopilka.models import (
    BankImport,
    BankImportLine,
    BankPayerRule,
    Owner,
    Period,
    Plot,
    PlotOwner,
)

# Store a statement's lines in one round trip each: the new ones claim their identity (the
# partial unique index) with what becomes of them; the rest are written as DUPLICATE. The rows come
# as one JSON document (jsonb_to_recordset): 10,000 rows in one statement, cheap to send; ON
# CONFLICT on a partial index needs its WHERE spelled out. A line to be booked (``book``:
# contribution or expense) takes its document's id from that table's sequence here, so the line
# names its document from the start and the document is inserted with that id (no UPDATE of
# 10,000 lines afterwards); an id drawn for a line that did not claim is a harmless gap.
LINE_COLUMNS = (
    "line_no", "identity", "direction", "amount_minor", "date", "doc_date", "doc_number",
    "payer_name", "payer_account", "payer_inn", "payee_name", "payee_account", "payee_inn",
    "purpose",
)  # fmt: skip
OUTCOME_COLUMNS = ("status", "owner_pk", "matched_by", "period_id", "payment_type", "note")
_TYPES = {
    "line_no": "bigint", "amount_minor": "bigint", "date": "date", "doc_date": "date",
    "owner_pk": "bigint", "period_id": "bigint",
}  # fmt: skip
_RECORD = ", ".join(
    f"{c} {_TYPES.get(c, 'text')}" for c in (*LINE_COLUMNS, *OUTCOME_COLUMNS, "book")
)
_COLS = ", ".join(LINE_COLUMNS)
_S_COLS = ", ".join(f"s.{c}" for c in LINE_COLUMNS)
_OUT_COLS = ", ".join(OUTCOME_COLUMNS)
CONTRIBUTION, EXPENSE = "contribution", "expense"

CLAIM_LINES = text(
    f"""
    INSERT INTO bank_import_lines (community_id, import_id, {_COLS}, {_OUT_COLS},
                                   contribution_id, expense_id)
    SELECT :community_id, :import_id, {_COLS}, {_OUT_COLS},
           CASE WHEN book = '{CONTRIBUTION}' THEN nextval(
               (SELECT CAST(pg_get_serial_sequence('contributions', 'id') AS regclass))) END,
           CASE WHEN book = '{EXPENSE}' THEN nextval(
               (SELECT CAST(pg_get_serial_sequence('expenses', 'id') AS regclass))) END
    FROM jsonb_to_recordset(CAST(:rows AS jsonb)) AS s({_RECORD})
    ORDER BY identity
    ON CONFLICT (community_id, identity) WHERE status <> 'DUPLICATE' DO NOTHING
    RETURNING id, identity, contribution_id, expense_id
    """
)

DUPLICATE_LINES = text(
    f"""
    INSERT INTO bank_import_lines (community_id, import_id, status, note, {_COLS})
    SELECT :community_id, :import_id, 'DUPLICATE',
           'already in import ' || first.import_id || ', line ' || first.line_no, {_S_COLS}
    FROM jsonb_to_recordset(CAST(:rows AS jsonb)) AS s({_RECORD})
    LEFT JOIN LATERAL (
        SELECT l.import_id, l.line_no FROM bank_import_lines AS l
        WHERE l.community_id = :community_id AND l.identity = s.identity
          AND l.status <> 'DUPLICATE'
    ) AS first ON true
    """
)

# What became of a line the treasurer assigned (bind names prefixed: none may be a SET column's).
SETTLED = ("status", "owner_pk", "matched_by", "period_id", "contribution_id", "expense_id",
           "payment_type", "note")  # fmt: skip
_LINES: Any = BankImportLine.__table__  # plain Core: no ORM synchronisation of the session
SETTLE_LINE = (
    update(_LINES)
    .where(_LINES.c.id == bindparam("line_id"))
    .values({c: bindparam(f"new_{c}") for c in SETTLED})
)

_L = BankImportLine


def _lines(where: Any) -> Any:
    return func.count().filter(where)


# An import's counts (its job's result, GET /imports/{id}).
COUNT_LINES = select(
    func.count().label("lines"),
    _lines(_L.direction == "CREDIT").label("credits"),
    _lines(_L.direction == "DEBIT").label("debits"),
    _lines(_L.status != "DUPLICATE").label("new"),
    _lines(_L.status == "DUPLICATE").label("duplicates"),
    _lines(_L.status == "BOOKED").label("booked"),
    _lines(_L.status == "UNMATCHED").label("unmatched"),
    _lines(_L.status == "WAITING").label("waiting"),
    _lines(_L.status == "IGNORED").label("ignored"),
    func.coalesce(func.sum(_L.amount_minor).filter(_L.status == "BOOKED"), 0).label("booked_minor"),
).where(_L.import_id == bindparam("import_id"))

# (the bind parameters may not share a name with a column they SET)
_IMPORTS: Any = BankImport.__table__
SET_PROGRESS = (
    update(_IMPORTS)
    .where(_IMPORTS.c.id == bindparam("import_id"))
    .values(progress=bindparam("stage", type_=JSONB))
)

RULES = select(
    BankPayerRule.direction,
    BankPayerRule.account,
    BankPayerRule.inn,
    BankPayerRule.owner_pk,
    BankPayerRule.payment_type,
).where(BankPayerRule.community_id == bindparam("community_id"))

OWNER_NAMES = select(Owner.id, Owner.name).where(
    Owner.community_id == bindparam("community_id"),
    Owner.is_active.is_(True),
    Owner.name.is_not(None),
)

# Every OPEN period of the community, locked shared (as recording one contribution does), in id
# order (the lock order everywhere: periods, then owners).
OPEN_PERIODS_LOCKED = (
    select(Period)
    .where(Period.community_id == bindparam("community_id"), Period.status == "OPEN")
    .order_by(Period.id)
    .with_for_update(read=True)
    .execution_options(populate_existing=True)
)
ALL_PERIODS = (
    select(Period.id, Period.name, Period.start_date, Period.end_date, Period.status)
    .where(Period.community_id == bindparam("community_id"))
    .order_by(Period.start_date)
)

LINE_FOR_UPDATE = (
    select(BankImportLine)
    .where(
        BankImportLine.id == bindparam("line_id"),
        BankImportLine.import_id == bindparam("import_id"),
        BankImportLine.community_id == bindparam("community_id"),
    )
    .with_for_update()
    .execution_options(populate_existing=True)
)

IMPORT = select(BankImport).where(
    BankImport.id == bindparam("import_id"),
    BankImport.community_id == bindparam("community_id"),
)

# Each active plot's number with its owners (plots of SPEC §3a).
PLOT_OWNERS = (
    select(Plot.number, PlotOwner.owner_pk)
    .join(PlotOwner, PlotOwner.plot_id == Plot.id)
    .where(Plot.community_id == bindparam("community_id"), Plot.is_active.is_(True))
)
