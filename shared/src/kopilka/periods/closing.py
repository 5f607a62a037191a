"""Closing and reopening a period (SPEC §4).

The request side (``request_close``, ``begin_close``, ``reopen``) runs in the API's transaction;
the job side (``close_job``, and ``close`` for the rollover) runs in the worker, in one
transaction with the job's own status, so a crash leaves nothing half-written. The close sums the
rows, allocates afresh, stores the sheet with COPY, issues the invoices, tells the owners, then
recomputes every later period of the carry-forward chain (:mod:`kopilka.periods.carry_forward`).
Bulk writes are set-based SQL, not loops of ORM calls; the statements are in ``queries.py``.

Lock order: the period (FOR UPDATE), then later periods of its carry-forward chain in date order.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from kopilka.audit.service import record
from kopilka.balances.reconcile import check_totals
from kopilka.balances.sheet import Sheet, live_sheet
from kopilka.context import Ctx
from kopilka.db import copy_rows
from kopilka.errors import Conflict
from kopilka.jobs import service as jobs
from kopilka.jobs.service import job_id_of
from kopilka.models import CarryForward, Job, Period
from kopilka.money import format_minor
from kopilka.notifications import service as notifications
from kopilka.notifications.status import Kind
from kopilka.periods import queries as q
from kopilka.periods.carry_forward import carry_forward
from kopilka.periods.service import (
    CLOSED,
    CLOSING,
    OPEN,
    community_of_period,
    get_period,
    lock_period,
    require_status,
)
from kopilka.plots import billing

CLOSE = "close_period"


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
    voided = clear_stored(ctx.session, period)
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


def close_job(ctx: Ctx, payload: dict[str, Any]) -> dict[str, Any]:
    period = lock_period(ctx.session, int(payload["period_id"]))
    if period.status != CLOSING:
        raise Conflict(f"Period '{period.name}' is {period.status}, not CLOSING: nothing to close")
    return close(ctx, period)


def close(ctx: Ctx, period: Period) -> dict[str, Any]:
    """The one close path (the close job and rollover): store the sheet, then recompute every
    later period of the carry-forward chain (SPEC §4)."""
    result = finalize(ctx, period, notify=True)
    result["recomputed_periods"] = recompute_downstream(ctx, period)
    return result


def compensate_close(ctx: Ctx, payload: dict[str, Any], error: str) -> None:
    """A close that cannot complete leaves the period OPEN again, with the reason audited."""
    period = lock_period(ctx.session, int(payload["period_id"]))
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


def clear_stored(session: Any, period: Period) -> int:
    session.execute(q.CLEAR_ALLOCATIONS, {"p": period.id})
    session.execute(q.CLEAR_BALANCES, {"p": period.id})
    billing.clear(session, period.id)
    period.closing_summary = None
    voided = session.execute(q.VOID_INVOICES, {"p": period.id}).rowcount
    return int(voided or 0)


def finalize(ctx: Ctx, period: Period, *, notify: bool) -> dict[str, Any]:
    """Store the final allocations and balances, issue the invoices, set CLOSED."""
    s: Any = ctx.session  # set-based statements: .rowcount is read
    s.flush()
    community = community_of_period(ctx.session, period)
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
    period.closed_at = func.clock_timestamp()  # type: ignore[assignment]
    if period.first_closed_at is None:
        period.first_closed_at = func.clock_timestamp()  # type: ignore[assignment]
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
            s, Kind.PERIOD_CLOSED, f"period_closed:{job_id_of(ctx)}:", messages
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


def recompute_downstream(ctx: Ctx, period: Period) -> list[int]:
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
        target = lock_period(ctx.session, link.to_period_id)
        seen.add(target.id)
        was_closed = target.status == CLOSED
        if was_closed:
            clear_stored(ctx.session, target)
            target.status = CLOSING
        carry_forward(ctx, current, target, notify=False)
        if was_closed:
            finalize(ctx, target, notify=False)
        recomputed.append(target.id)
        if not was_closed:
            return recomputed
        current = target


def check_stored(session: Session, period: Period) -> list[str]:
    """A CLOSED period's stored balances must equal what its rows give (ledger + allocations)."""
    rows = session.execute(q.STORED_DIFFERS, {"p": period.id}).all()
    return [f"owner_pk {r[0]}: stored balance differs from the rows" for r in rows]
