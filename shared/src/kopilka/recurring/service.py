"""Recurring charges (SPEC §4a): templates, and their generation into each OPEN period once.

A template charges every active owner of its community, once per OPEN period:

- ``PER_OWNER``: ``amount`` to each active owner;
- ``PER_SHARE_WEIGHT``: ``amount`` per unit of share weight, so an owner of weight 1.5 is charged
  1.5 x amount, rounded to the currency's minor unit half to even (banker's rounding, as Python's
  Decimal). No allocation: each owner's charge depends on their weight only, like a tariff; an
  owner whose charge rounds to zero gets none.

**Charge date** in a period: the first ``day_of_month`` on or after the period's start date, or
the period's end date when the period ends before it (a period shorter than a month still gets
its charge). For a calendar month that is simply that day of the month.

**Due**: a template is due in a period when the template is active, the period is OPEN, the
charge date lies within [start_date, end_date] of the template and is not after today in the
community's time zone. So the sweep catches up after downtime (a charge date that passed while
nothing ran is still due as long as the period is OPEN), a period that began before the template
starts gets it only if its charge date is on or after the template's start, and a CLOSED or
CLOSING period gets nothing.

**Once**: ``recurring_charge_runs`` is unique per (template, period) and is inserted first with
ON CONFLICT DO NOTHING: a second sweep, or a concurrent one (it waits on the first one's
uncommitted row, then finds it), skips the pair. The charges themselves are also unique per
(template, period, owner) while not deleted. An admin may delete a generated charge; it is not
generated again for that period. Generation holds the period's row lock in share mode, as every
writer does, so a close request (which takes it exclusively) is either before it (the period is
no longer OPEN, or still locked: skipped until the next sweep) or after it (the close sees the
charges).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from typing import Any, cast
from zoneinfo import ZoneInfo

from sqlalchemy import CursorResult, func, select
from sqlalchemy.orm import Session

from kopilka.audit.service import record
from kopilka.context import Actor, Ctx
from kopilka.errors import NotFound, ValidationFailed
from kopilka.ledger.posting import not_blank, positive_amount
from kopilka.logging import get_logger
from kopilka.models import RecurringChargeRun, RecurringChargeTemplate
from kopilka.money import MAX_MINOR, MAX_SHARE_WEIGHT, format_minor
from kopilka.outputs import from_row
from kopilka.plots.consumption import derived_weights
from kopilka.recurring import queries as q
from kopilka.recurring import templates
from kopilka.recurring.schemas import (
    RecurringChargeCreate,
    RecurringChargeOut,
    RecurringChargePatch,
)

log = get_logger("kopilka.recurring")

PER_OWNER, PER_SHARE_WEIGHT = "PER_OWNER", "PER_SHARE_WEIGHT"
ENTITY = "recurring_charge"

# ---------------------------------------------------------------- templates (admin CRUD)


def _check_derived(ctx: Ctx, amount_minor: int, basis: str) -> None:
    """SPEC §2: what the template derives (amount x share weight) is bounded like any amount,
    checked now rather than discovered by a failing sweep. Share weights are at most
    ``MAX_SHARE_WEIGHT``, so the largest charge a PER_SHARE_WEIGHT template can derive is
    amount x that."""
    if basis == PER_SHARE_WEIGHT and amount_minor * MAX_SHARE_WEIGHT > MAX_MINOR:
        most = format_minor(MAX_MINOR // MAX_SHARE_WEIGHT, ctx.currency)
        raise ValidationFailed(
            f"amount: {format_minor(amount_minor, ctx.currency)} per unit of share weight could "
            f"derive a charge above {format_minor(MAX_MINOR, ctx.currency)} for an owner of "
            f"share weight up to {MAX_SHARE_WEIGHT:,}; at most {most} per unit"
        )


def template_out(
    ctx: Ctx, t: RecurringChargeTemplate, runs: int | None = None
) -> RecurringChargeOut:
    if runs is None:
        runs = _run_counts(ctx.session, [t.id]).get(t.id, 0)
    amount = format_minor(t.amount_minor, ctx.currency)
    return from_row(RecurringChargeOut, t, amount=amount, periods_generated=runs)


def _run_counts(session: Session, template_ids: list[int]) -> dict[int, int]:
    if not template_ids:
        return {}
    rows = session.execute(
        select(RecurringChargeRun.template_id, func.count())
        .where(RecurringChargeRun.template_id.in_(template_ids))
        .group_by(RecurringChargeRun.template_id)
    ).all()
    return {tid: int(n) for tid, n in rows}


def create_template(ctx: Ctx, data: RecurringChargeCreate) -> RecurringChargeTemplate:
    ctx.require_admin()
    amount = positive_amount(ctx, data.amount)
    _check_derived(ctx, amount, data.basis)
    description = not_blank(data.description, "description")
    start = data.start_date or ctx.today()
    templates.check_dates(start, data.end_date)
    t = RecurringChargeTemplate(
        community_id=ctx.community_id,
        description=description,
        amount_minor=amount,
        basis=data.basis,
        day_of_month=data.day_of_month,
        start_date=start,
        end_date=data.end_date,
        active=True,
        created_by=ctx.actor.label,
    )
    return templates.add(ctx, t, ENTITY)


def get_template(ctx: Ctx, template_id: int, *, lock: bool = False) -> RecurringChargeTemplate:
    ctx.require_admin()
    q = select(RecurringChargeTemplate).where(
        RecurringChargeTemplate.id == template_id,
        RecurringChargeTemplate.community_id == ctx.community_id,
    )
    if lock:
        q = q.with_for_update().execution_options(populate_existing=True)
    t = ctx.session.scalar(q)
    if t is None:
        raise NotFound(f"Recurring charge {template_id} not found")
    return t


def list_templates(
    ctx: Ctx, *, active: bool | None, after: int | None, limit: int
) -> list[RecurringChargeTemplate]:
    return templates.list_templates(
        ctx, RecurringChargeTemplate, active=active, after=after, limit=limit
    )


def templates_out(ctx: Ctx, templates: list[RecurringChargeTemplate]) -> list[RecurringChargeOut]:
    runs = _run_counts(ctx.session, [t.id for t in templates])
    return [template_out(ctx, t, runs.get(t.id, 0)) for t in templates]


def patch_template(
    ctx: Ctx, template_id: int, data: RecurringChargePatch
) -> RecurringChargeTemplate:
    """Change a template; what it already generated stays as it is (edit those charges one by
    one), the change applies to the periods it generates into from now on."""
    t = get_template(ctx, template_id, lock=True)

    def apply(changes: dict[str, Any]) -> None:
        if "description" in changes:
            t.description = not_blank(data.description, "description")
        if "amount" in changes:
            t.amount_minor = positive_amount(ctx, data.amount)  # type: ignore[arg-type]

    return templates.edit(
        ctx, t, data, ENTITY,
        apply=apply, check=lambda: _check_derived(ctx, t.amount_minor, t.basis),
        required=("description", "amount", "basis", "day_of_month", "start_date", "active"),
        plain=("basis", "day_of_month", "start_date", "end_date", "active"),
    )  # fmt: skip


def deactivate_template(ctx: Ctx, template_id: int) -> RecurringChargeTemplate:
    """DELETE: the template stops generating (``templates.deactivate``)."""
    t = get_template(ctx, template_id, lock=True)
    templates.deactivate(ctx, t, ENTITY)
    return t


# ---------------------------------------------------------------- generation (the sweep)


def charge_date(period_start: date, period_end: date, day_of_month: int) -> date:
    """The first ``day_of_month`` on or after the period's start, at the latest its end."""
    day = period_start.replace(day=day_of_month)
    if day < period_start:
        # day_of_month <= 28: the same day of the next month always exists
        first_next = (period_start.replace(day=1) + timedelta(days=32)).replace(day=1)
        day = first_next.replace(day=day_of_month)
    return min(day, period_end)


@dataclass(frozen=True)
class _Due:
    template_id: int
    community_id: int
    period_id: int
    day: date
    amount_minor: int
    basis: str
    description: str


def _today(now: datetime, timezone: str) -> date:
    aware = now if now.tzinfo is not None else now.replace(tzinfo=UTC)
    return aware.astimezone(ZoneInfo(timezone)).date()


def due_charges(
    session: Session, now: datetime | None = None, community_id: int | None = None
) -> list[_Due]:
    """Every (template, OPEN period) pair that is due and has no run yet (of one community, or
    all), in period, then template order (the order the sweep locks them in)."""
    now = now or datetime.now(UTC)
    if community_id is None:
        rows = session.execute(q.DUE_CHARGES).all()
    else:
        rows = session.execute(q.DUE_CHARGES_OF_COMMUNITY, {"community_id": community_id}).all()
    due: list[_Due] = []
    for r in rows:
        day = charge_date(r.p_start, r.p_end, r.day_of_month)
        if day < r.t_start or (r.t_end is not None and day > r.t_end):
            continue
        if day > _today(now, r.timezone):
            continue
        due.append(
            _Due(
                template_id=r.template_id,
                community_id=r.community_id,
                period_id=r.period_id,
                day=day,
                amount_minor=int(r.amount_minor),
                basis=r.basis,
                description=r.description,
            )
        )
    return due


def _generate_one(session: Session, due: _Due) -> int | None:
    """Generate one (template, period) pair; None when another run got it first or the period
    is no longer OPEN."""
    # SKIP LOCKED: a period held exclusively (being closed, reopened or carried into) is left
    # for the next sweep instead of stalling this one.
    locked = session.execute(q.OPEN_PERIOD_ID_SKIP_LOCKED, {"period_id": due.period_id}).scalar()
    if locked is None:
        return None
    run_id = session.execute(
        q.CLAIM_CHARGE_RUN, {"t": due.template_id, "p": due.period_id}
    ).scalar()
    if run_id is None:
        return None
    derived_pks: list[int] = []
    derived_amounts: list[int] = []
    if due.basis == PER_SHARE_WEIGHT:
        # an owner with plots: amount x the share weight derived from them (SPEC §3a), exact
        # and rounded half to even like the rest (Python's round of a Fraction)
        for pk, weight in sorted(derived_weights(session, due.community_id).items()):
            derived_pks.append(pk)
            derived_amounts.append(round(due.amount_minor * weight))
    actor = Actor.system("recurring", due.community_id)
    result = cast(
        "CursorResult[Any]",
        session.execute(
            q.GENERATE_CHARGES[PER_SHARE_WEIGHT if due.basis == PER_SHARE_WEIGHT else PER_OWNER],
            {
                "c": due.community_id,
                "p": due.period_id,
                "t": due.template_id,
                "amount": due.amount_minor,
                "description": due.description,
                "day": due.day,
                "actor": actor.label,
                "derived_pks": derived_pks,
                "derived_amounts": derived_amounts,
            },
        ),
    )
    created = int(result.rowcount or 0)
    session.execute(q.SET_CHARGES_CREATED, {"n": created, "r": run_id})
    record(
        Ctx(session=session, actor=actor),
        f"{ENTITY}.generate",
        ENTITY,
        due.template_id,
        after={
            "run_id": run_id,
            "period_id": due.period_id,
            "date": due.day.isoformat(),
            "charges_created": created,
        },
    )
    return created


def generate_due_charges(
    session: Session, now: datetime | None = None, community_id: int | None = None
) -> int:
    """Put every due template's charges into the OPEN periods that lack them (of one community,
    or all); the number of charges created. Any number of runs, sequential or concurrent, create
    each charge once."""
    created = 0
    runs = 0
    for due in due_charges(session, now, community_id):
        n = _generate_one(session, due)
        if n is not None:
            runs += 1
            created += n
    session.flush()
    if runs:
        log.info("recurring_charges_generated", runs=runs, charges=created)
    return created
