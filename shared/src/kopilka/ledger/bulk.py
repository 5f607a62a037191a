"""Recording many contributions (or fund expenses) in ONE statement: the set-based form of the
contribution use case, for a bank statement of 10,000 lines.

Each row gets exactly what ``record_contribution`` gives one: the document, its ledger entry and
its audit entry (``contribution.create``, the row as ``after``) in one statement, and the owner's
receipt when the owner linked Telegram (``receipt:<id>``, the same payload, built in SQL by
``receipt_payload_sql`` and queued by the notifications writer ``enqueue_select`` in a second
statement: an INSERT ... SELECT, no receipt travels through Python). The caller has already
locked the periods (shared) and checked they are OPEN and that the dates lie in them, and resolved
the owners; rows carry the bank line they come from, and ``bank_line_id`` is unique, so a line is
booked once whoever tries (``ON CONFLICT DO NOTHING``)."""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date

from sqlalchemy import ARRAY, BigInteger, String, bindparam, cast, func, literal, select, text

from kopilka.context import Ctx
from kopilka.ledger.receipts import receipt_payload_sql
from kopilka.models import Contribution, Period
from kopilka.notifications import service as notifications


@dataclass(frozen=True)
class ContributionRow:
    period_id: int
    owner_pk: int
    amount_minor: int
    date: date
    comment: str | None
    bank_line_id: int
    id: int | None = None  # drawn from the sequence already (the statement's lines name it)


@dataclass(frozen=True)
class ExpenseRow:
    period_id: int
    amount_minor: int
    payment_type: str
    vendor: str | None
    description: str | None
    date: date
    bank_line_id: int
    id: int | None = None


def _rows(rows: Sequence[ContributionRow] | Sequence[ExpenseRow]) -> str:
    """The rows as one JSON document (dates ISO): one cheap parameter for 10,000 rows. (Their
    fields are plain values: ``vars``, not ``asdict``, which deep-copies each one.)"""
    return json.dumps([{**vars(r), "date": r.date.isoformat()} for r in rows], ensure_ascii=False)


# Raw SQL: data-modifying CTEs over jsonb_to_recordset() are what makes 10,000 rows one round trip;
# the ORM/Core cannot express a recordset source with ON CONFLICT on a partial index and the
# CTE chain together. Built once.
_CONTRIBUTIONS = text(
    """
    WITH src AS (
        SELECT * FROM jsonb_to_recordset(CAST(:rows AS jsonb)) AS s(
            period_id bigint, owner_pk bigint, amount_minor bigint, date date, comment text,
            bank_line_id bigint, id bigint
        )
    ),
    new AS (
        INSERT INTO contributions (id, community_id, period_id, owner_pk, amount_minor, date,
                                   comment, created_by, version, bank_line_id)
        SELECT coalesce(id, nextval(pg_get_serial_sequence('contributions', 'id'))),
               :community_id, period_id, owner_pk, amount_minor, date, comment, :actor, 1,
               bank_line_id
        FROM src ORDER BY bank_line_id
        ON CONFLICT (bank_line_id) WHERE bank_line_id IS NOT NULL DO NOTHING
        RETURNING *
    ),
    posted AS (
        INSERT INTO ledger_entries (community_id, period_id, owner_pk, kind, amount_minor,
                                    source_type, source_id)
        SELECT community_id, period_id, owner_pk, 'CONTRIBUTION', amount_minor, 'contribution',
               id
        FROM new
    ),
    audited AS (
        INSERT INTO audit_log (community_id, actor, action, entity, entity_id, after, request_id)
        SELECT :community_id, :actor, 'contribution.create', 'contribution', CAST(new.id AS text),
               to_jsonb(new), :request_id
        FROM new
    )
    SELECT id, bank_line_id FROM new
    """
)

# The receipts of the contributions ``:ids``, each as ``record_contribution`` queues one.
_RECEIPTS = (
    select(
        Contribution.owner_pk,
        (literal("receipt:") + cast(Contribution.id, String)).label("dedupe_key"),
        receipt_payload_sql(
            Contribution.amount_minor,
            bindparam("currency", type_=String),
            Period.name,
            Contribution.date,
            Contribution.comment,
            contribution_id=Contribution.id,
        ).label("payload"),
    )
    .join(Period, Period.id == Contribution.period_id)
    .where(Contribution.id == func.any(bindparam("ids", type_=ARRAY(BigInteger))))
)

_EXPENSES = text(
    """
    WITH src AS (
        SELECT * FROM jsonb_to_recordset(CAST(:rows AS jsonb)) AS s(
            period_id bigint, amount_minor bigint, payment_type text, vendor text,
            description text, date date, bank_line_id bigint, id bigint
        )
    ),
    new AS (
        INSERT INTO expenses (id, community_id, period_id, paid_by_owner_pk, amount_minor,
                              payment_type, vendor, description, date, created_by, version,
                              bank_line_id)
        SELECT coalesce(id, nextval(pg_get_serial_sequence('expenses', 'id'))),
               :community_id, period_id, NULL, amount_minor, payment_type, vendor, description,
               date, :actor, 1, bank_line_id
        FROM src ORDER BY bank_line_id
        ON CONFLICT (bank_line_id) WHERE bank_line_id IS NOT NULL DO NOTHING
        RETURNING *
    ),
    audited AS (
        INSERT INTO audit_log (community_id, actor, action, entity, entity_id, after, request_id)
        SELECT :community_id, :actor, 'expense.create', 'expense', CAST(new.id AS text),
               to_jsonb(new), :request_id
        FROM new
    )
    SELECT id, bank_line_id FROM new
    """
)


def record_contributions(ctx: Ctx, rows: Sequence[ContributionRow]) -> dict[int, int]:
    """Book the rows and queue each owner's receipt (through the notifications writer, as
    ``receipt_payload`` words it for one contribution); bank line id -> the new contribution's id
    (a line already booked is left out)."""
    if not rows:
        return {}
    result = ctx.session.execute(
        _CONTRIBUTIONS,
        {
            "rows": _rows(rows),
            "community_id": ctx.community_id,
            "actor": ctx.actor.label,
            "request_id": ctx.request_id,
        },
    ).all()
    made = {line_id: doc_id for doc_id, line_id in result}
    if made:
        notifications.enqueue_select(
            ctx.session,
            notifications.RECEIPT,
            _RECEIPTS,
            {"ids": list(made.values()), "currency": ctx.currency},
        )
    return made


def record_fund_expenses(ctx: Ctx, rows: Sequence[ExpenseRow]) -> dict[int, int]:
    """Expenses paid by the fund (no owner is credited, so no ledger entry), one statement."""
    if not rows:
        return {}
    result = ctx.session.execute(
        _EXPENSES,
        {
            "rows": _rows(rows),
            "community_id": ctx.community_id,
            "actor": ctx.actor.label,
            "request_id": ctx.request_id,
        },
    )
    return {line_id: doc_id for doc_id, line_id in result}
