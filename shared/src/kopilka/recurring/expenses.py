"""Recurring expenses (SPEC §3b): a template (amount, payment type, vendor, optional split, day of
month, start, and an end date or a ``max_occurrences``) generates its expense into each OPEN period
once, with the same guarantees as recurring charges (see :mod:`kopilka.recurring.service`):

- **Due** in a period when the template is active, the period is OPEN, the expense date (the
  first ``day_of_month`` on or after the period's start, at the latest its end) lies within the
  template's [start_date, end_date] and is not after today in the community's time zone, and the
  template has occurrences left. So the sweep catches up after downtime.
- **Once**: ``recurring_expense_runs`` is unique per (template, period) and is claimed first
  (ON CONFLICT DO NOTHING); the template's row is locked while its occurrences are counted, so
  concurrent sweeps never exceed ``max_occurrences``. An admin may delete a generated expense;
  it is not generated again for that period (the run stays).
- The expense is posted through the ledger's posting machinery (ledger entry of the payer, audit),
  like one an admin records; its split is validated again against the owners active then. A
  template whose split no longer fits (an owner it names left) is skipped with a warning and
  retried on the next sweep; the other templates go on.
"""

from __future__ import annotations

from datetime import UTC, date, datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from kopilka.allocation.splits import parse_split, split_to_json
from kopilka.audit.service import record
from kopilka.context import Actor, Ctx
from kopilka.errors import NotFound, ValidationFailed
from kopilka.ledger.expenses import EXPENSE
from kopilka.ledger.posting import (
    document,
    insert_document,
    not_blank,
    positive_amount,
)
from kopilka.logging import get_logger
from kopilka.models import Expense, Owner, Period, RecurringExpenseTemplate
from kopilka.money import currency_exponent, format_minor
from kopilka.outputs import from_row
from kopilka.owners.service import resolve_owner
from kopilka.recurring import queries as q
from kopilka.recurring import templates
from kopilka.recurring.schemas import (
    RecurringExpenseCreate,
    RecurringExpenseOut,
    RecurringExpensePatch,
)
from kopilka.recurring.service import _today, charge_date

log = get_logger("kopilka.recurring")

ENTITY = "recurring_expense"

# ---------------------------------------------------------------- templates (admin CRUD)


def _active_owner_ids(session: Session, community_id: int) -> list[int]:
    return list(
        session.scalars(
            select(Owner.owner_id).where(
                Owner.community_id == community_id, Owner.is_active.is_(True)
            )
        )
    )


def _split(
    session: Session, community_id: int, currency: str, raw: dict[str, Any] | None, amount: int
) -> dict[str, Any] | None:
    """The split validated against the amount and the active owners (400 when it does not fit,
    so every expense the template derives is known good when it is created)."""
    if raw is None:
        return None
    split = parse_split(
        raw,
        amount_minor=amount,
        currency_exponent=currency_exponent(currency),
        active_owner_ids=_active_owner_ids(session, community_id),
    )
    return split_to_json(split)


def _run_counts(session: Session, ids: list[int]) -> dict[int, int]:
    if not ids:
        return {}
    return {tid: int(n) for tid, n in session.execute(q.RUN_COUNTS, {"template_ids": ids})}


def template_out(
    ctx: Ctx, t: RecurringExpenseTemplate, runs: int | None = None
) -> RecurringExpenseOut:
    if runs is None:
        runs = _run_counts(ctx.session, [t.id]).get(t.id, 0)
    payer = ctx.session.get(Owner, t.paid_by_owner_pk) if t.paid_by_owner_pk else None
    return from_row(
        RecurringExpenseOut,
        t,
        amount=format_minor(t.amount_minor, ctx.currency),
        paid_by_owner_id=payer.owner_id if payer else None,
        occurrences=runs,
        occurrences_left=None if t.max_occurrences is None else max(t.max_occurrences - runs, 0),
    )


def templates_out(ctx: Ctx, templates: list[RecurringExpenseTemplate]) -> list[RecurringExpenseOut]:
    runs = _run_counts(ctx.session, [t.id for t in templates])
    return [template_out(ctx, t, runs.get(t.id, 0)) for t in templates]


def create_template(ctx: Ctx, data: RecurringExpenseCreate) -> RecurringExpenseTemplate:
    ctx.require_admin()
    amount = positive_amount(ctx, data.amount)
    payment_type = not_blank(data.payment_type, "payment_type")
    start = data.start_date or ctx.today()
    templates.check_dates(start, data.end_date)
    split = _split(ctx.session, ctx.community_id, ctx.currency, data.split, amount)
    payer = (
        resolve_owner(ctx, data.paid_by_owner_id, field="paid_by_owner_id")
        if data.paid_by_owner_id is not None
        else None
    )
    t = RecurringExpenseTemplate(
        community_id=ctx.community_id,
        amount_minor=amount,
        payment_type=payment_type,
        vendor=data.vendor,
        description=data.description,
        paid_by_owner_pk=payer.id if payer else None,
        split=split,
        day_of_month=data.day_of_month,
        start_date=start,
        end_date=data.end_date,
        max_occurrences=data.max_occurrences,
        active=True,
        created_by=ctx.actor.label,
        version=1,
    )
    return templates.add(ctx, t, ENTITY)


def get_template(ctx: Ctx, template_id: int, *, lock: bool = False) -> RecurringExpenseTemplate:
    ctx.require_admin()
    t = ctx.session.scalar(q.TEMPLATE, {"template_id": template_id, "c": ctx.community_id})
    if t is None:
        raise NotFound(f"Recurring expense {template_id} not found")
    if lock:
        ctx.session.refresh(t, with_for_update=True)
    return t


def list_templates(
    ctx: Ctx, *, active: bool | None, after: int | None, limit: int
) -> list[RecurringExpenseTemplate]:
    return templates.list_templates(
        ctx, RecurringExpenseTemplate, active=active, after=after, limit=limit
    )


def patch_template(
    ctx: Ctx, template_id: int, data: RecurringExpensePatch
) -> RecurringExpenseTemplate:
    """Change a template from the next generated period on; expenses already generated stay
    (correct those one by one)."""
    t = get_template(ctx, template_id, lock=True)

    def apply(changes: dict[str, Any]) -> None:
        if "amount" in changes:
            t.amount_minor = positive_amount(ctx, data.amount)  # type: ignore[arg-type]
        if "payment_type" in changes:
            t.payment_type = not_blank(data.payment_type, "payment_type")
        if "paid_by_owner_id" in changes:
            t.paid_by_owner_pk = (
                resolve_owner(ctx, data.paid_by_owner_id, field="paid_by_owner_id").id
                if data.paid_by_owner_id is not None
                else None
            )
        if "split" in changes or ("amount" in changes and t.split is not None):
            raw = data.split if "split" in changes else t.split
            t.split = _split(ctx.session, ctx.community_id, ctx.currency, raw, t.amount_minor)

    return templates.edit(
        ctx, t, data, ENTITY, apply=apply,
        required=("amount", "payment_type", "day_of_month", "start_date", "active"),
        plain=("vendor", "description", "end_date", "max_occurrences", "day_of_month",
               "start_date", "active"),
    )  # fmt: skip


def deactivate_template(ctx: Ctx, template_id: int) -> RecurringExpenseTemplate:
    """DELETE: the template stops generating (``templates.deactivate``)."""
    t = get_template(ctx, template_id, lock=True)
    templates.deactivate(ctx, t, ENTITY)
    return t


# ---------------------------------------------------------------- generation (the sweep)


def generate_due_expenses(
    session: Session, now: datetime | None = None, community_id: int | None = None
) -> int:
    """Put every due template's expense into the OPEN periods that lack it (of one community,
    or of all); the number of expenses created. Any number of runs, sequential or concurrent,
    create each expense once."""
    now = now or datetime.now(UTC)
    stmt = q.DUE_EXPENSES if community_id is None else q.DUE_EXPENSES_OF_COMMUNITY
    params = {} if community_id is None else {"community_id": community_id}
    created = 0
    for r in session.execute(stmt, params).all():
        day = charge_date(r.p_start, r.p_end, r.day_of_month)
        if day < r.t_start or (r.t_end is not None and day > r.t_end):
            continue
        if day > _today(now, r.timezone):
            continue
        try:
            with session.begin_nested():
                if _generate_one(session, r.template_id, r.period_id, r.community_id, day):
                    created += 1
        except ValidationFailed as exc:
            log.warning(
                "recurring_expense_skipped",
                template_id=r.template_id,
                period_id=r.period_id,
                reason=str(exc),
            )
    session.flush()
    if created:
        log.info("recurring_expenses_generated", expenses=created)
    return created


def _generate_one(
    session: Session, template_id: int, period_id: int, community_id: int, day: date
) -> bool:
    period: Period | None = session.scalar(q.OPEN_PERIOD_SKIP_LOCKED, {"period_id": period_id})
    if period is None:  # CLOSED meanwhile, or held by a close: the next sweep sees
        return False
    t: RecurringExpenseTemplate | None = session.scalar(
        q.TEMPLATE_FOR_UPDATE, {"template_id": template_id}
    )
    if t is None or not t.active:
        return False
    if t.max_occurrences is not None:
        used = int(session.scalar(q.RUN_COUNT, {"template_id": t.id}) or 0)
        if used >= t.max_occurrences:
            return False
    run_id = session.scalar(q.CLAIM_RUN, {"template_id": t.id, "period_id": period.id})
    if run_id is None:
        return False
    ctx = Ctx(session=session, actor=Actor.system("recurring", community_id))
    split = _split(session, community_id, ctx.currency, t.split, t.amount_minor)
    expense = document(
        ctx, period, Expense,
        paid_by_owner_pk=t.paid_by_owner_pk, amount_minor=t.amount_minor,
        payment_type=t.payment_type, vendor=t.vendor, description=t.description, date=day,
        split=split,
    )  # fmt: skip
    e = insert_document(ctx, period, EXPENSE, expense)
    session.execute(q.SET_RUN_EXPENSE, {"run_id": run_id, "e": e.id})
    record(
        ctx,
        f"{ENTITY}.generate",
        ENTITY,
        t.id,
        after={
            "run_id": run_id,
            "period_id": period.id,
            "date": day.isoformat(),
            "expense_id": e.id,
        },
    )
    return True
