"""Statements of recurring expenses, built once (the SQL rule: Core statements per domain)."""

from __future__ import annotations

from sqlalchemy import and_, bindparam, exists, func, or_, select, update
from sqlalchemy.dialects.postgresql import insert

from kopilka.models import Community, Period, RecurringExpenseRun, RecurringExpenseTemplate

T, R = RecurringExpenseTemplate, RecurringExpenseRun

# Every (active template, OPEN period) pair without a run yet, oldest period first (so a
# template with max_occurrences fills the earliest periods), then template: the lock order.
DUE_EXPENSES = (
    select(
        T.id.label("template_id"),
        T.community_id,
        T.day_of_month,
        T.start_date.label("t_start"),
        T.end_date.label("t_end"),
        Period.id.label("period_id"),
        Period.start_date.label("p_start"),
        Period.end_date.label("p_end"),
        Community.timezone,
    )
    .join(Community, Community.id == T.community_id)
    .join(Period, and_(Period.community_id == T.community_id, Period.status == "OPEN"))
    .where(
        T.active.is_(True),
        Period.end_date >= T.start_date,
        or_(T.end_date.is_(None), Period.start_date <= T.end_date),
        ~exists().where(R.template_id == T.id, R.period_id == Period.id),
    )
    .order_by(Period.start_date, Period.id, T.id)
)
DUE_EXPENSES_OF_COMMUNITY = DUE_EXPENSES.where(T.community_id == bindparam("community_id"))

# The period, shared like every writer, skipped while someone holds it exclusively (a close).
OPEN_PERIOD_SKIP_LOCKED = (
    select(Period)
    .where(Period.id == bindparam("period_id"), Period.status == "OPEN")
    .with_for_update(read=True, skip_locked=True)
    .execution_options(populate_existing=True)
)

TEMPLATE_FOR_UPDATE = (
    select(T)
    .where(T.id == bindparam("template_id"))
    .with_for_update()
    .execution_options(populate_existing=True)
)

TEMPLATE = select(T).where(T.id == bindparam("template_id"), T.community_id == bindparam("c"))

RUN_COUNTS = (
    select(R.template_id, func.count())
    .where(R.template_id.in_(bindparam("template_ids", expanding=True)))
    .group_by(R.template_id)
)

RUN_COUNT = select(func.count()).select_from(R).where(R.template_id == bindparam("template_id"))

SET_RUN_EXPENSE = update(R).where(R.id == bindparam("run_id")).values(expense_id=bindparam("e"))

# The run marks the (template, period) pair first: a second or concurrent sweep stops here.
CLAIM_RUN = (
    insert(R)
    .values(template_id=bindparam("template_id"), period_id=bindparam("period_id"))
    .on_conflict_do_nothing(index_elements=["template_id", "period_id"])
    .returning(R.id)
)
