"""Closing, reopening and carrying balances forward.

The request side (``request_close``, ``request_carry_forward``, ``reopen``) runs in the API's
transaction; the job side (``close_job``, ``carry_forward_job``, ``rollover_job``) runs in the
worker, in one transaction with the job's own status, so a crash leaves nothing half-written.
Bulk writes are set-based SQL (INSERT ... SELECT), not loops of ORM calls.

Lock order: the period (FOR UPDATE), then later periods of its carry-forward chain in date order.
"""

from __future__ import annotations

from datetime import date
from typing import Any

from sqlalchemy import select, text
from sqlalchemy.orm import Session

from kopilka.audit.service import record
from kopilka.balances.reconcile import check_totals
from kopilka.balances.service import Sheet, live_sheet
from kopilka.context import Ctx
from kopilka.db import copy_rows
from kopilka.errors import Conflict, NotFound, ValidationFailed
from kopilka.jobs import service as jobs
from kopilka.ledger.charges import charge_out
from kopilka.ledger.contributions import contribution_out
from kopilka.models import (
    CarryForward,
    Community,
    Contribution,
    Job,
    Owner,
    Period,
    PeriodBalance,
    ServiceCharge,
)
from kopilka.money import format_minor
from kopilka.notifications import service as notifications
from kopilka.notifications.status import Kind
from kopilka.periods.service import CLOSED, CLOSING, OPEN, get_period, require_status
from kopilka.plots import billing

CLOSE, CARRY_FORWARD, ROLLOVER = "close_period", "carry_forward", "rollover_period"


# ---------------------------------------------------------------- requests (API side)


def request_close(ctx: Ctx, period_id: int) -> Job:
    """Set CLOSING now, so nothing slips in; the worker does the rest."""
    ctx.require_admin()
    period = get_period(ctx, period_id, lock="update")
    job = begin_close(ctx, period, kind=CLOSE, payload={"period_id": period.id})
    assert job is not None
    return job


def begin_close(
    ctx: Ctx,
    period: Period,
    *,
    kind: str,
    payload: dict[str, Any],
    dedupe_key: str | None = None,
) -> Job | None:
    """The request side of every close (``POST /close`` and rollover): the period (locked FOR
    UPDATE by the caller) must be OPEN; it becomes CLOSING and the job is queued. None when a
    job of ``dedupe_key`` exists already (nothing changed)."""
    require_status(period, OPEN, "only an OPEN period can be closed")
    job = jobs.enqueue(
        ctx.session,
        community_id=period.community_id,
        kind=kind,
        payload=payload,
        actor=ctx.actor.label,
        request_id=ctx.request_id,
        language=ctx.actor.language,
        dedupe_key=dedupe_key,
    )
    if job is None:
        return None
    period.status = CLOSING
    period.version += 1
    record(
        ctx,
        "period.close_requested",
        "period",
        period.id,
        after={"status": CLOSING, "by": ctx.actor.label},
        community_id=period.community_id,
    )
    return job


def reopen(ctx: Ctx, period_id: int) -> Period:
    """CLOSED -> OPEN for corrections: the stored sheet goes, its invoices are voided."""
    ctx.require_admin()
    period = get_period(ctx, period_id, lock="update")
    require_status(period, CLOSED, "only a CLOSED period can be reopened")
    voided = _clear_stored(ctx.session, period)
    period.status = OPEN
    period.closed_at = None
    period.version += 1
    record(
        ctx,
        "period.reopen",
        "period",
        period.id,
        before={"status": CLOSED},
        after={"status": OPEN, "invoices_voided": voided},
    )
    return period


def request_carry_forward(ctx: Ctx, from_period_id: int, to_period_id: int) -> Job:
    ctx.require_admin()
    if from_period_id == to_period_id:
        raise ValidationFailed("from_period_id and to_period_id must be different periods")
    first, second = sorted([from_period_id, to_period_id])
    locked = {p: get_period(ctx, p, lock="update") for p in (first, second)}
    source, target = locked[from_period_id], locked[to_period_id]
    if target.start_date <= source.end_date:
        raise ValidationFailed(
            f"Carry-forward goes to a later period: '{target.name}' starts {target.start_date}, "
            f"before '{source.name}' ends ({source.end_date})"
        )
    require_status(source, CLOSED, "it must be CLOSED", label="Source period")
    require_status(target, OPEN, "it must be OPEN", label="Target period")
    existing = ctx.session.scalar(
        select(CarryForward).where(CarryForward.from_period_id == source.id)
    )
    if existing is not None and existing.to_period_id != target.id:
        raise Conflict(
            f"Period '{source.name}' was already carried forward into period "
            f"{existing.to_period_id}; a period carries into one next period"
        )
    record(
        ctx,
        "period.carry_forward_requested",
        "period",
        source.id,
        after={"to_period_id": target.id},
    )
    job = jobs.enqueue(
        ctx.session,
        community_id=ctx.community_id,
        kind=CARRY_FORWARD,
        payload={"from_period_id": source.id, "to_period_id": target.id},
        actor=ctx.actor.label,
        request_id=ctx.request_id,
        language=ctx.actor.language,
    )
    assert job is not None
    return job


# ---------------------------------------------------------------- jobs (worker side)


def _job_id(ctx: Ctx) -> int:
    return int((ctx.request_id or "job-0").removeprefix("job-"))


def _community(ctx: Ctx, period: Period) -> Community:
    community = ctx.session.get(Community, period.community_id)
    assert community is not None
    return community


def _lock(session: Session, period_id: int) -> Period:
    period = session.scalar(
        select(Period)
        .where(Period.id == period_id)
        .with_for_update()
        .execution_options(populate_existing=True)
    )
    if period is None:
        raise NotFound(f"Period {period_id} not found")
    return period


def close_job(ctx: Ctx, payload: dict[str, Any]) -> dict[str, Any]:
    period = _lock(ctx.session, int(payload["period_id"]))
    if period.status != CLOSING:
        raise Conflict(f"Period '{period.name}' is {period.status}, not CLOSING: nothing to close")
    return _close(ctx, period)


def _close(ctx: Ctx, period: Period) -> dict[str, Any]:
    """The one close path (the close job and rollover): store the sheet, then recompute every
    later period of the carry-forward chain (SPEC §4)."""
    result = _finalize(ctx, period, notify=True)
    result["recomputed_periods"] = _recompute_downstream(ctx, period)
    return result


def compensate_close(ctx: Ctx, payload: dict[str, Any], error: str) -> None:
    """A close that cannot complete leaves the period OPEN again, with the reason audited."""
    period = _lock(ctx.session, int(payload["period_id"]))
    if period.status == CLOSING:
        period.status = OPEN
        period.version += 1
        record(
            ctx,
            "period.close_failed",
            "period",
            period.id,
            after={"status": OPEN, "error": error},
            community_id=period.community_id,
        )


def carry_forward_job(ctx: Ctx, payload: dict[str, Any]) -> dict[str, Any]:
    ids = sorted([int(payload["from_period_id"]), int(payload["to_period_id"])])
    locked = {i: _lock(ctx.session, i) for i in ids}
    source, target = locked[int(payload["from_period_id"])], locked[int(payload["to_period_id"])]
    if source.status != CLOSED or target.status != OPEN:
        raise Conflict(
            f"Carry-forward needs '{source.name}' CLOSED (it is {source.status}) and "
            f"'{target.name}' OPEN (it is {target.status})"
        )
    return _carry_forward(ctx, source, target, notify=True)


def rollover_job(ctx: Ctx, payload: dict[str, Any]) -> dict[str, Any]:
    """Close a period past its end and carry its balances into the next one, atomically: the
    same close as ``POST /close`` (with the chain's recompute) and the same one-target rule as
    ``POST /carry-forward``."""
    period = _lock(ctx.session, int(payload["period_id"]))
    result: dict[str, Any] = {"period_id": period.id}
    if period.status == CLOSING:
        result["close"] = _close(ctx, period)
    elif period.status != CLOSED:
        raise Conflict(f"Period '{period.name}' is {period.status}: the rollover expected CLOSING")
    target = _lock(ctx.session, int(payload["next_period_id"]))
    existing = ctx.session.scalar(
        select(CarryForward).where(CarryForward.from_period_id == period.id)
    )
    if existing is not None and existing.to_period_id != target.id:
        # a period carries into one next period: the treasurer's earlier choice stands
        result["carry_forward"] = {
            "skipped": f"already carried forward into period {existing.to_period_id}"
        }
    elif target.status == OPEN:
        result["carry_forward"] = _carry_forward(ctx, period, target, notify=True)
    return result


# ---------------------------------------------------------------- the work


def _clear_stored(session: Any, period: Period) -> int:
    session.execute(text("DELETE FROM allocations WHERE period_id = :p"), {"p": period.id})
    session.execute(text("DELETE FROM period_balances WHERE period_id = :p"), {"p": period.id})
    billing.clear(session, period.id)
    period.closing_summary = None
    voided = session.execute(
        text("UPDATE invoices SET voided_at = now() WHERE period_id = :p AND voided_at IS NULL"),
        {"p": period.id},
    ).rowcount
    return int(voided or 0)


def _finalize(ctx: Ctx, period: Period, *, notify: bool) -> dict[str, Any]:
    """Store the final allocations and balances, issue the invoices, set CLOSED."""
    s: Any = ctx.session  # set-based statements: .rowcount is read
    s.flush()
    community = _community(ctx, period)
    sheet: Sheet = live_sheet(s, community, period, strict=True, from_rows=True)
    copy_rows(
        s,
        "allocations",
        ("period_id", "owner_pk", "pool", "strategy", "amount_minor"),
        (
            (period.id, pk, pool.key, pool.strategy, amount)
            for pool in sheet.allocation.pools
            for pk, amount in pool.shares.items()
        ),
    )
    billing.store(s, period.id, [(p.key, p.tariff) for p in sheet.allocation.pools if p.tariff])
    copy_rows(
        s,
        "period_balances",
        (
            "period_id",
            "owner_pk",
            "opening_balance",
            "total_contributions",
            "total_paid_expenses",
            "total_allocated",
            "total_service_charges",
            "net_settlements",
            "balance",
        ),
        (
            (
                period.id,
                r.owner_pk,
                r.opening_balance,
                r.contributions,
                r.paid_expenses,
                r.allocated,
                r.service_charges,
                r.net_settlements,
                r.balance,
            )
            for r in sheet.rows
        ),
    )
    # The invoice: the period's own allocations and service charges (not the opening debt,
    # which an earlier invoice holds).
    invoices = copy_rows(
        s,
        "invoices",
        ("community_id", "period_id", "owner_pk", "amount_minor"),
        (
            (community.id, period.id, r.owner_pk, amount)
            for r in sheet.rows
            if (amount := r.allocated + r.service_charges - r.opening_debt) > 0
        ),
    )
    period.closing_summary = {
        "total_expenses": sheet.total_expenses,
        "pools": [
            {
                "pool": p.key,
                "payment_type": p.payment_type,
                "strategy": p.strategy,
                "amount_minor": p.amount,
                "expense_id": p.expense_id,
                "reason": p.reason,
                **billing.summary(p.tariff),
            }
            for p in sheet.allocation.pools
        ],
    }
    period.status = CLOSED
    # clock_timestamp(): when the close finished, not when its transaction began (now())
    period.closed_at = text("clock_timestamp()")  # type: ignore[assignment]
    if period.first_closed_at is None:
        period.first_closed_at = text("clock_timestamp()")  # type: ignore[assignment]
    period.version += 1
    notified = 0
    if notify:
        # Built from the sheet in memory: right after the COPYs the planner's statistics say
        # period_balances and invoices are empty, and a join over them would crawl.
        reachable = notifications.reachable_owners(s, community.id)
        messages = []
        for r in sheet.rows:
            if r.owner_pk in reachable:
                invoice = r.allocated + r.service_charges - r.opening_debt
                payload = {
                    "period_id": period.id,
                    "period_name": period.name,
                    "balance_minor": r.balance,
                    "currency": community.currency,
                    "invoice_amount_minor": invoice if invoice > 0 else None,
                }
                messages.append((r.owner_pk, payload))
        notified = notifications.enqueue_many(
            s, community.id, Kind.PERIOD_CLOSED, f"period_closed:{_job_id(ctx)}:", messages
        )
    allocated = sum(r.allocated for r in sheet.rows)
    # The close stored what the rows give; the maintained totals the OPEN period was read from
    # must have said the same (a drift is logged and counted as an alarm, and shown in the
    # job's result; the rows stay the truth and nothing is repaired).
    drifts = check_totals(s, period_id=period.id)
    record(
        ctx,
        "period.close",
        "period",
        period.id,
        after={"status": CLOSED, "owners": len(sheet.rows), "total_allocated_minor": allocated},
        community_id=community.id,
    )
    # amounts as decimal strings, like every answer (SPEC §2: never minor units)
    return {
        "period_id": period.id,
        "owners": len(sheet.rows),
        "currency": community.currency,
        "total_expenses": format_minor(sheet.total_expenses, community.currency),
        "total_allocated": format_minor(allocated, community.currency),
        "invoices_issued": invoices,
        "notifications": int(notified or 0),
        "totals_drifts": len(drifts),
    }


def _carry_forward(ctx: Ctx, source: Period, target: Period, *, notify: bool) -> dict[str, Any]:
    """Replace the target's opening entries from this source with the source's closing balances:
    a credit becomes an opening contribution, a debt an opening service charge."""
    s: Any = ctx.session  # set-based statements: .rowcount is read
    s.flush()
    params = {
        "c": source.community_id,
        "s": source.id,
        "t": target.id,
        "actor": ctx.actor.label,
        "day": target.start_date,
        "note": f"Opening balance from {source.name}",
        "job": _job_id(ctx),
    }
    for table, source_type in (
        ("contributions", "contribution"),
        ("service_charges", "service_charge"),
    ):
        s.execute(
            text(
                f"""
                INSERT INTO ledger_entries
                    (community_id, period_id, owner_pk, kind, amount_minor, source_type, source_id)
                SELECT le.community_id, le.period_id, le.owner_pk, le.kind, -sum(le.amount_minor),
                       le.source_type, le.source_id
                FROM ledger_entries le
                JOIN {table} d ON d.id = le.source_id
                WHERE le.source_type = :st AND d.period_id = :t AND d.opening_from_period_id = :s
                  AND d.deleted_at IS NULL
                GROUP BY le.community_id, le.period_id, le.owner_pk, le.kind,
                         le.source_type, le.source_id
                HAVING sum(le.amount_minor) <> 0
                """
            ),
            {**params, "st": source_type},
        )
        s.execute(
            text(
                f"""
                UPDATE {table} SET deleted_at = now(), deleted_by = :actor, version = version + 1
                WHERE period_id = :t AND opening_from_period_id = :s AND deleted_at IS NULL
                """
            ),
            params,
        )
    credits = s.execute(
        text(
            """
            WITH new AS (
                INSERT INTO contributions (community_id, period_id, owner_pk, amount_minor, date,
                    comment, opening_from_period_id, created_by, version)
                SELECT :c, :t, owner_pk, balance, :day, :note, :s, :actor, 1
                FROM period_balances WHERE period_id = :s AND balance > 0
                RETURNING id, owner_pk, amount_minor
            )
            INSERT INTO ledger_entries
                (community_id, period_id, owner_pk, kind, amount_minor, source_type, source_id)
            SELECT :c, :t, owner_pk, 'OPENING_CREDIT', amount_minor, 'contribution', id FROM new
            """
        ),
        params,
    ).rowcount
    debts = s.execute(
        text(
            """
            WITH new AS (
                INSERT INTO service_charges (community_id, period_id, owner_pk, amount_minor, date,
                    description, opening_from_period_id, created_by, version)
                SELECT :c, :t, owner_pk, -balance, :day, :note, :s, :actor, 1
                FROM period_balances WHERE period_id = :s AND balance < 0
                RETURNING id, owner_pk, amount_minor
            )
            INSERT INTO ledger_entries
                (community_id, period_id, owner_pk, kind, amount_minor, source_type, source_id)
            SELECT :c, :t, owner_pk, 'OPENING_DEBT', amount_minor, 'service_charge', id FROM new
            """
        ),
        params,
    ).rowcount
    s.execute(
        text(
            """
            INSERT INTO carry_forwards (community_id, from_period_id, to_period_id)
            VALUES (:c, :s, :t)
            ON CONFLICT (from_period_id) DO UPDATE SET to_period_id = :t, updated_at = now()
            """
        ),
        params,
    )
    carried = s.execute(
        select(Owner.owner_id, PeriodBalance.balance)
        .join(Owner, Owner.id == PeriodBalance.owner_pk)
        .where(PeriodBalance.period_id == source.id, PeriodBalance.balance != 0)
        .order_by(Owner.owner_id)
    ).all()
    community = _community(ctx, source)
    notified = 0
    if notify:
        balances = s.execute(
            select(PeriodBalance.owner_pk, PeriodBalance.balance).where(
                PeriodBalance.period_id == source.id, PeriodBalance.balance != 0
            )
        ).all()
        # What each owner was last told of this target's opening balance: a re-run that
        # changes nothing announces nothing (issue 13). DISTINCT ON: the newest per owner.
        announced = dict(
            s.execute(
                text(
                    "SELECT DISTINCT ON (owner_pk) owner_pk, "
                    "CAST(payload->>'opening_minor' AS bigint) FROM notifications "
                    "WHERE community_id = :c AND kind = 'opening_balance' "
                    "AND payload->>'period_id' = CAST(:t AS text) ORDER BY owner_pk, id DESC"
                ),
                {"c": source.community_id, "t": target.id},
            ).all()
        )
        balances = [(pk, b) for pk, b in balances if announced.get(pk) != int(b)]
        opening = {
            "period_id": target.id,
            "period_name": target.name,
            "from_period_name": source.name,
            "currency": community.currency,
        }
        notified = notifications.enqueue_many(
            s,
            source.community_id,
            Kind.OPENING_BALANCE,
            f"opening_balance:{_job_id(ctx)}:",
            [(pk, {**opening, "opening_minor": int(balance)}) for pk, balance in balances],
        )
    record(
        ctx,
        "period.carry_forward",
        "period",
        source.id,
        after={"to_period_id": target.id, "credits": credits, "debts": debts},
        community_id=source.community_id,
    )
    # the seeds' answer: each owner's carried balance (a credit positive, a debt negative) and
    # their sum, as decimal strings
    cur = community.currency
    return {
        "from_period_id": source.id,
        "to_period_id": target.id,
        "carried_forward_owners": {str(oid): format_minor(bal, cur) for oid, bal in carried},
        "total_carried": format_minor(sum(bal for _, bal in carried), cur),
        "currency": cur,
        "message": f"Successfully carried forward {len(carried)} owner balances",
        "opening_credits": int(credits or 0),
        "opening_debts": int(debts or 0),
        "notifications": int(notified or 0),
    }


def _recompute_downstream(ctx: Ctx, period: Period) -> list[int]:
    """After a (re)close, every later period that received this one's carry-forward gets its
    opening entries replaced; a CLOSED one also gets its balances and invoices reissued; and so
    on down the chain, in order."""
    recomputed: list[int] = []
    current = period
    seen = {period.id}
    while True:
        link = ctx.session.scalar(
            select(CarryForward).where(CarryForward.from_period_id == current.id)
        )
        if link is None or link.to_period_id in seen:
            return recomputed
        target = _lock(ctx.session, link.to_period_id)
        seen.add(target.id)
        was_closed = target.status == CLOSED
        if was_closed:
            _clear_stored(ctx.session, target)
            target.status = CLOSING
        _carry_forward(ctx, current, target, notify=False)
        if was_closed:
            _finalize(ctx, target, notify=False)
        recomputed.append(target.id)
        if not was_closed:
            return recomputed
        current = target


# ---------------------------------------------------------------- reads and checks


def opening_transactions(ctx: Ctx, period_id: int) -> dict[str, Any]:

    ctx.require_admin()  # every owner's opening balance: the treasurer's view
    period = get_period(ctx, period_id)
    contributions = ctx.session.execute(
        select(Contribution, Owner.owner_id)
        .join(Owner, Owner.id == Contribution.owner_pk)
        .where(
            Contribution.period_id == period.id,
            Contribution.opening_from_period_id.is_not(None),
            Contribution.deleted_at.is_(None),
        )
        .order_by(Owner.owner_id)
    ).all()
    charges = ctx.session.execute(
        select(ServiceCharge, Owner.owner_id)
        .join(Owner, Owner.id == ServiceCharge.owner_pk)
        .where(
            ServiceCharge.period_id == period.id,
            ServiceCharge.opening_from_period_id.is_not(None),
            ServiceCharge.deleted_at.is_(None),
        )
        .order_by(Owner.owner_id)
    ).all()
    link = ctx.session.scalar(select(CarryForward).where(CarryForward.to_period_id == period.id))
    currency = ctx.community.currency
    return {
        "period_id": period.id,
        "from_period_id": link.from_period_id if link else None,
        "opening_contributions": [contribution_out(ctx, c, oid) for c, oid in contributions],
        "opening_charges": [charge_out(ctx, c, oid) for c, oid in charges],
        "total_opening_contributions": format_minor(
            sum(c.amount_minor for c, _ in contributions), currency
        ),
        "total_opening_charges": format_minor(sum(c.amount_minor for c, _ in charges), currency),
    }


def check_stored(session: Session, period: Period) -> list[str]:
    """A CLOSED period's stored balances must equal what its rows give (ledger + allocations)."""
    rows = session.execute(
        text(
            """
            WITH l AS (
                SELECT owner_pk,
                  sum(amount_minor) FILTER (
                      WHERE kind IN ('CONTRIBUTION','OPENING_CREDIT')) AS contrib,
                  sum(amount_minor) FILTER (WHERE kind = 'EXPENSE_PAID') AS paid,
                  sum(amount_minor) FILTER (
                      WHERE kind IN ('SERVICE_CHARGE','OPENING_DEBT')) AS charges,
                  sum(CASE WHEN kind = 'SETTLEMENT_PAID' THEN amount_minor
                           WHEN kind = 'SETTLEMENT_RECEIVED' THEN -amount_minor
                           ELSE 0 END) AS settle
                FROM ledger_entries WHERE period_id = :p GROUP BY owner_pk
            ), a AS (
                SELECT owner_pk, sum(amount_minor) AS alloc FROM allocations
                WHERE period_id = :p GROUP BY owner_pk
            )
            SELECT pb.owner_pk FROM period_balances pb
            LEFT JOIN l ON l.owner_pk = pb.owner_pk LEFT JOIN a ON a.owner_pk = pb.owner_pk
            WHERE pb.period_id = :p AND (
                pb.total_contributions <> coalesce(l.contrib, 0)
                OR pb.total_paid_expenses <> coalesce(l.paid, 0)
                OR pb.total_service_charges <> coalesce(l.charges, 0)
                OR pb.net_settlements <> coalesce(l.settle, 0)
                OR pb.total_allocated <> coalesce(a.alloc, 0)
                OR pb.balance <> pb.total_contributions + pb.total_paid_expenses
                                 + pb.net_settlements - pb.total_allocated
                                 - pb.total_service_charges)
            """
        ),
        {"p": period.id},
    ).all()
    return [f"owner_pk {r[0]}: stored balance differs from the rows" for r in rows]


def next_dates(period: Period, rollover: str) -> tuple[date, date]:
    from calendar import monthrange

    start = period.end_date.toordinal() + 1
    first = date.fromordinal(start)
    months = 3 if rollover == "QUARTERLY" else 1
    y, m = first.year, first.month + months - 1
    y, m = y + (m - 1) // 12, (m - 1) % 12 + 1
    return first, date(y, m, monthrange(y, m)[1])
