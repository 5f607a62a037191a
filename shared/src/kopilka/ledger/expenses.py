"""Expenses: money spent from the fund, or paid by an owner (then credited to them); shared
between the owners by allocation, or by the expense's own ``split``."""

from __future__ import annotations

from typing import Any

from sqlalchemy import func, select

from kopilka.allocation.splits import parse_split, split_to_json
from kopilka.context import Ctx
from kopilka.errors import ValidationFailed
from kopilka.ledger import posting
from kopilka.ledger import schemas as s
from kopilka.ledger.posting import Posting, booking_date, not_blank, positive_amount
from kopilka.models import BudgetItem, Expense, Owner, Period
from kopilka.money import currency_exponent, format_minor
from kopilka.owners.service import resolve_owner
from kopilka.periods.service import open_period_for_write


def postings(e: Expense) -> list[Posting]:
    if e.paid_by_owner_pk is None:
        return []
    return [(e.paid_by_owner_pk, "EXPENSE_PAID", e.amount_minor)]


def expense_out(ctx: Ctx, e: Expense, paid_by: int | bool | None = False) -> s.ExpenseOut:
    if paid_by is False:
        paid_by = posting.owner_ids(ctx.session, [e.paid_by_owner_pk]).get(e.paid_by_owner_pk or 0)
    return s.ExpenseOut(
        **posting.out_fields(ctx, e),
        paid_by_owner_id=paid_by if isinstance(paid_by, int) and paid_by is not True else None,
        amount=format_minor(e.amount_minor, ctx.currency),
        payment_type=e.payment_type,
        vendor=e.vendor,
        description=e.description,
        split=e.split,
    )


def _active_owner_ids(ctx: Ctx) -> list[int]:
    return list(
        ctx.session.scalars(
            select(Owner.owner_id).where(
                Owner.community_id == ctx.community_id, Owner.is_active.is_(True)
            )
        )
    )


def _validated_split(ctx: Ctx, raw: dict[str, Any] | None, amount: int) -> dict[str, Any] | None:
    if raw is None:
        return None
    split = parse_split(
        raw,
        amount_minor=amount,
        currency_exponent=currency_exponent(ctx.currency),
        active_owner_ids=_active_owner_ids(ctx),
    )
    return split_to_json(split)


def _require_meter_type(
    ctx: Ctx, period_id: int, payment_type: str, split: dict[str, Any] | None
) -> None:
    """SPEC §3: a USAGE_BASED split shares by the consumption of a meter type: its own
    ``meter_type``, else the one of the period's budget item of the expense's type. Without
    either the period could not close; refused when the expense is recorded (issue 13)."""
    if split is None or str(split.get("strategy", "")).upper() != "USAGE_BASED":
        return
    if split.get("meter_type"):
        return
    meter = ctx.session.scalar(
        select(BudgetItem.meter_type).where(
            BudgetItem.period_id == period_id,
            func.lower(BudgetItem.payment_type) == payment_type.lower(),
            BudgetItem.deleted_at.is_(None),
        )
    )
    if not meter:
        raise ValidationFailed(
            f"split: USAGE_BASED needs a meter type: give the split a meter_type (e.g. "
            f'{{"strategy": "USAGE_BASED", "meter_type": "WATER"}}) or add a USAGE_BASED '
            f"budget item for {payment_type!r} with its meter_type"
        )


def record_expense(ctx: Ctx, period_id: int, data: s.ExpenseCreate) -> Expense:
    ctx.require_admin()
    amount = positive_amount(ctx, data.amount)
    payment_type = not_blank(data.payment_type, "payment_type")
    period = open_period_for_write(ctx, period_id)
    day = booking_date(ctx, period, data.date)
    payer = (
        resolve_owner(ctx, data.paid_by_owner_id, field="paid_by_owner_id")
        if data.paid_by_owner_id is not None
        else None
    )
    split = _validated_split(ctx, data.split, amount)
    _require_meter_type(ctx, period.id, payment_type, split)
    e = posting.document(
        ctx, period, Expense,
        paid_by_owner_pk=payer.id if payer else None, amount_minor=amount,
        payment_type=payment_type, vendor=data.vendor, description=data.description, date=day,
        split=split,
    )  # fmt: skip
    return posting.insert_document(ctx, period, EXPENSE, e)


def _apply(
    ctx: Ctx, period: Period, e: Expense, data: s.ExpensePatch, changes: dict[str, Any]
) -> None:
    if changes.get("amount") is not None:
        e.amount_minor = positive_amount(ctx, data.amount)  # type: ignore[arg-type]
    if changes.get("payment_type") is not None:
        e.payment_type = not_blank(data.payment_type, "payment_type")
    if changes.get("date") is not None:
        e.date = booking_date(ctx, period, data.date)
    if "paid_by_owner_id" in changes:
        e.paid_by_owner_pk = (
            resolve_owner(ctx, data.paid_by_owner_id, field="paid_by_owner_id").id
            if data.paid_by_owner_id is not None
            else None
        )
    if "split" in changes:
        e.split = _validated_split(ctx, data.split, e.amount_minor)
    elif e.split is not None and "amount" in changes:
        e.split = _validated_split(ctx, e.split, e.amount_minor)
    if "split" in changes or "payment_type" in changes:
        _require_meter_type(ctx, period.id, e.payment_type, e.split)


EXPENSE = posting.DocumentKind(
    Expense, "expense", "Expense", postings,
    required=("amount", "payment_type", "date"), plain=("vendor", "description"), apply=_apply,
)  # fmt: skip


def list_expenses(
    ctx: Ctx, period_id: int, *, paid_by: int | None, after: int | None, limit: int
) -> list[tuple[Expense, int | None]]:
    # Who paid what to which vendor is the treasurer's book; owners see the period's totals
    # (the balance sheet's pools and the budget items), not the expense list.
    ctx.require_admin()
    return posting.owned(
        ctx, EXPENSE, period_id, owner_id=paid_by, after=after, limit=limit,
        owner_pk=Expense.paid_by_owner_pk, owners_see_own=False,
    )  # fmt: skip
