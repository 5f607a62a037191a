"""Statements of recurring expenses and charges, built once (the SQL rule: Core statements per
domain; raw SQL only for the charges' data-modifying CTE)."""

from __future__ import annotations

from typing import Any

from sqlalchemy import and_, bindparam, exists, func, or_, select, text, update
from sqlalchemy.dialects.postgresql import insert

from kopilka.models import (
    Community,
    Period,
    RecurringChargeRun,
    RecurringChargeTemplate,
    RecurringExpenseRun,
    RecurringExpenseTemplate,
)

T, R = RecurringExpenseTemplate, RecurringExpenseRun
CT, CR = RecurringChargeTemplate, RecurringChargeRun


def _due_pairs(template: Any, run: Any, *columns: Any) -> Any:
    """Every (active template, OPEN period) pair without a run yet, with the dates that decide
    whether it is due (the caller orders them)."""
    return (
        select(
            template.id.label("template_id"),
            template.community_id,
            *columns,
            template.day_of_month,
            template.start_date.label("t_start"),
            template.end_date.label("t_end"),
            Period.id.label("period_id"),
            Period.start_date.label("p_start"),
            Period.end_date.label("p_end"),
            Community.timezone,
        )
        .join(Community, Community.id == template.community_id)
        .join(Period, and_(Period.community_id == template.community_id, Period.status == "OPEN"))
        .where(
            template.active.is_(True),
            Period.end_date >= template.start_date,
            or_(template.end_date.is_(None), Period.start_date <= template.end_date),
            ~exists().where(run.template_id == template.id, run.period_id == Period.id),
        )
    )


# Oldest period first (so a template with max_occurrences fills the earliest periods), then
# template: the lock order.
DUE_EXPENSES = _due_pairs(T, R).order_by(Period.start_date, Period.id, T.id)
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

# ---------------------------------------------------------------- recurring charges

_CHARGE_RUNS: Any = RecurringChargeRun.__table__

# In period, then template order (the order the sweep locks them in).
DUE_CHARGES = _due_pairs(CT, CR, CT.amount_minor, CT.basis, CT.description).order_by(
    Period.id, CT.id
)
DUE_CHARGES_OF_COMMUNITY = DUE_CHARGES.where(CT.community_id == bindparam("community_id"))

# The period's id, shared like every writer, skipped while someone holds it exclusively.
OPEN_PERIOD_ID_SKIP_LOCKED = (
    select(Period.id)
    .where(Period.id == bindparam("period_id"), Period.status == "OPEN")
    .with_for_update(read=True, skip_locked=True)
)

# The run marks the (template, period) pair first: a second or concurrent sweep stops here.
CLAIM_CHARGE_RUN = (
    insert(_CHARGE_RUNS)
    .values(template_id=bindparam("t"), period_id=bindparam("p"), charges_created=0)
    .on_conflict_do_nothing(index_elements=["template_id", "period_id"])
    .returning(_CHARGE_RUNS.c.id)
)
SET_CHARGES_CREATED = (
    update(_CHARGE_RUNS)
    .where(_CHARGE_RUNS.c.id == bindparam("r"))
    .values(charges_created=bindparam("n"))
)

# amount x weight rounded half to even: round() on numeric rounds half away from zero, so an
# exact half above an even floor goes down instead (the amounts are positive).
_PER_WEIGHT_MINOR = """
    CASE WHEN x - floor(x) = 0.5 AND mod(floor(x), 2) = 0 THEN floor(x) ELSE round(x) END
"""

_GENERATE_SQL = """
WITH exact AS (
    SELECT o.id AS owner_pk, {exact} AS x
    FROM owners o
    WHERE o.community_id = :c AND o.is_active AND o.id <> ALL(CAST(:derived_pks AS bigint[]))
), charged AS (
    SELECT owner_pk, CAST({minor} AS bigint) AS amount FROM exact
    UNION ALL
    -- owners with plots: their charge from the derived share weight, computed exactly
    SELECT d.pk, d.amount
    FROM unnest(CAST(:derived_pks AS bigint[]), CAST(:derived_amounts AS bigint[])) AS d(pk, amount)
    JOIN owners o ON o.id = d.pk AND o.is_active
), new AS (
    INSERT INTO service_charges (community_id, period_id, owner_pk, amount_minor, description,
        date, recurring_template_id, created_by, version)
    SELECT :c, :p, owner_pk, amount, :description, :day, :t, :actor, 1
    FROM charged WHERE amount > 0
    ORDER BY owner_pk
    ON CONFLICT (recurring_template_id, period_id, owner_pk)
        WHERE recurring_template_id IS NOT NULL AND deleted_at IS NULL
        DO NOTHING
    RETURNING id, owner_pk, amount_minor
)
INSERT INTO ledger_entries
    (community_id, period_id, owner_pk, kind, amount_minor, source_type, source_id)
SELECT :c, :p, owner_pk, 'SERVICE_CHARGE', amount_minor, 'service_charge', id FROM new
"""

# Raw SQL: a data-modifying CTE — every owner's charge of one (template, period) and its ledger
# entry in one set-based statement, ON CONFLICT with the partial unique index's predicate;
# ``.rowcount`` is the number of charges created. One statement per basis, built here once.
GENERATE_CHARGES = {
    "PER_OWNER": text(_GENERATE_SQL.format(exact="CAST(:amount AS numeric)", minor="x")),
    "PER_SHARE_WEIGHT": text(
        _GENERATE_SQL.format(
            exact="CAST(:amount AS numeric) * o.share_weight", minor=_PER_WEIGHT_MINOR
        )
    ),
}
