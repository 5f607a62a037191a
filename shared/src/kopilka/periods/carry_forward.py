"""Carrying a CLOSED period's balances into the next one (SPEC §4).

A credit becomes an opening contribution, a debt an opening service charge, each with its ledger
entry; a second carry-forward into the same target replaces them. ``request_carry_forward`` runs
in the API's transaction, ``carry_forward_job`` in the worker; the close's recompute of the chain
and the rollover call :func:`carry_forward` too. The statements are in ``queries.py``.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import select

from kopilka.audit.service import record
from kopilka.context import Ctx
from kopilka.errors import Conflict, ValidationFailed
from kopilka.jobs import service as jobs
from kopilka.jobs.service import job_id_of
from kopilka.ledger.charges import charge_out
from kopilka.ledger.contributions import contribution_out
from kopilka.models import (
    CarryForward,
    Job,
    Owner,
    Period,
    PeriodBalance,
)
from kopilka.money import format_minor
from kopilka.notifications import service as notifications
from kopilka.notifications.status import Kind
from kopilka.periods import queries as q
from kopilka.periods.service import (
    CLOSED,
    OPEN,
    community_of_period,
    get_period,
    lock_period,
    require_status,
)

CARRY_FORWARD = "carry_forward"


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


def carry_forward_job(ctx: Ctx, payload: dict[str, Any]) -> dict[str, Any]:
    ids = sorted([int(payload["from_period_id"]), int(payload["to_period_id"])])
    locked = {i: lock_period(ctx.session, i) for i in ids}
    source, target = locked[int(payload["from_period_id"])], locked[int(payload["to_period_id"])]
    if source.status != CLOSED or target.status != OPEN:
        raise Conflict(
            f"Carry-forward needs '{source.name}' CLOSED (it is {source.status}) and "
            f"'{target.name}' OPEN (it is {target.status})"
        )
    return carry_forward(ctx, source, target, notify=True)


def carry_forward(ctx: Ctx, source: Period, target: Period, *, notify: bool) -> dict[str, Any]:
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
    }
    for reverse, drop in q.DROP_OPENINGS:
        s.execute(reverse, {"s": source.id, "t": target.id})
        s.execute(drop, {"s": source.id, "t": target.id, "actor": ctx.actor.label})
    credits = s.execute(q.OPENING_CREDITS, params).rowcount
    debts = s.execute(q.OPENING_DEBTS, params).rowcount
    s.execute(q.LINK, {"c": source.community_id, "s": source.id, "t": target.id})
    carried = s.execute(
        select(Owner.owner_id, PeriodBalance.balance)
        .join(Owner, Owner.id == PeriodBalance.owner_pk)
        .where(PeriodBalance.period_id == source.id, PeriodBalance.balance != 0)
        .order_by(Owner.owner_id)
    ).all()
    community = community_of_period(ctx.session, source)
    notified = 0
    if notify:
        balances = s.execute(
            select(PeriodBalance.owner_pk, PeriodBalance.balance).where(
                PeriodBalance.period_id == source.id, PeriodBalance.balance != 0
            )
        ).all()
        # What each owner was last told of this target's opening balance (issue 13).
        announced = dict(
            s.execute(q.ANNOUNCED_OPENINGS, {"c": source.community_id, "t": str(target.id)}).all()
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
            Kind.OPENING_BALANCE,
            f"opening_balance:{job_id_of(ctx)}:",
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


def opening_transactions(ctx: Ctx, period_id: int) -> dict[str, Any]:
    ctx.require_admin()  # every owner's opening balance: the treasurer's view
    period = get_period(ctx, period_id)
    contributions = ctx.session.execute(q.OPENING_CONTRIBUTIONS, {"p": period.id}).all()
    charges = ctx.session.execute(q.OPENING_CHARGES, {"p": period.id}).all()
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
