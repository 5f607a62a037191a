"""One expense's shares, and settling one share on its own (SPEC §3b).

An expense's shares are what the allocation gives its owners: an expense with its own split is
allocated on its own (exactly what the balance sheet allocates); an expense without one is part of
its payment type's pool, and its shares are the pool's shares scaled to the expense's amount (by
largest remainder on the pool's shares, so they sum to the expense exactly and are within a minor
unit of the pool's proportions).

Settling a share records a settlement from the owner to the expense's payer, marked with the
expense (``settlements.settles_expense_id``); what an owner has paid of a share is the sum of those
live settlements. The expense's row is locked FOR UPDATE while a settle checks the unpaid
remainder and records, so concurrent settles queue and never overpay.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime

from sqlalchemy import bindparam, func, select

from kopilka.allocation.remainder import largest_remainder
from kopilka.balances.allocations import compute_allocations
from kopilka.context import Ctx
from kopilka.errors import Conflict, NotFound, ValidationFailed
from kopilka.ledger import schemas as s
from kopilka.ledger.expenses import expense_out
from kopilka.ledger.posting import booking_date, insert_document, positive_amount
from kopilka.ledger.settlements import SETTLEMENT, settlement_out
from kopilka.models import Expense, Owner, Period, Settlement
from kopilka.money import format_minor
from kopilka.owners.service import find_owner
from kopilka.periods.service import get_period, open_period_for_write

UNPAID, PARTIALLY_PAID, PAID = "UNPAID", "PARTIALLY_PAID", "PAID"

_EXPENSE = select(Expense).where(
    Expense.id == bindparam("expense_id"),
    Expense.community_id == bindparam("c"),
    Expense.deleted_at.is_(None),
)
_EXPENSE_FOR_UPDATE = _EXPENSE.with_for_update().execution_options(populate_existing=True)


_PAID = (
    select(Settlement.from_owner_pk, func.sum(Settlement.amount_minor))
    .where(Settlement.deleted_at.is_(None))
    .group_by(Settlement.from_owner_pk)
)


@dataclass(frozen=True)
class Share:
    owner_pk: int
    owner_id: int
    amount: int
    paid: int

    @property
    def remaining(self) -> int:
        return max(self.amount - self.paid, 0)

    @property
    def status(self) -> str:
        if self.paid >= self.amount:
            return PAID
        return PARTIALLY_PAID if self.paid > 0 else UNPAID


def load_expense(ctx: Ctx, expense_id: int, *, lock: bool = False) -> Expense:
    stmt = _EXPENSE_FOR_UPDATE if lock else _EXPENSE
    e = ctx.session.scalar(stmt, {"expense_id": expense_id, "c": ctx.community_id})
    if e is None:
        raise NotFound(f"Expense {expense_id} not found")
    return e


def expense_shares(ctx: Ctx, e: Expense, period: Period) -> tuple[list[Share], str | None]:
    """Each owner's share of the expense and what they paid of it; the reason when the expense
    is not allocated (then no shares)."""
    result = compute_allocations(ctx.session, ctx.community, period)
    minor: dict[int, int] = {}
    reason = None
    if e.split is not None:
        pool = next(p for p in result.pools if p.expense_id == e.id)
        minor, reason = dict(pool.shares), pool.reason
    else:
        key = f"type:{e.payment_type.lower()}"
        pool = next(p for p in result.pools if p.key == key)
        reason = pool.reason
        if pool.shares:
            weights = {pk: v for pk, v in pool.shares.items() if v}
            minor = largest_remainder(e.amount_minor, weights) if weights else {}
    minor = {pk: v for pk, v in minor.items() if v}
    ids = {
        pk: oid
        for pk, oid in ctx.session.execute(
            select(Owner.id, Owner.owner_id).where(Owner.id.in_(list(minor)))
        )
    }
    paid = {
        pk: int(total)
        for pk, total in ctx.session.execute(_PAID.where(Settlement.settles_expense_id == e.id))
    }
    shares = [
        Share(
            owner_pk=pk,
            owner_id=ids[pk],
            amount=v,
            # the payer paid the whole expense: their own share is paid
            paid=v if pk == e.paid_by_owner_pk else int(paid.get(pk, 0)),
        )
        for pk, v in minor.items()
    ]
    return sorted(shares, key=lambda sh: sh.owner_id), reason


def share_out(ctx: Ctx, sh: Share) -> s.ExpenseShareOut:
    c = ctx.currency
    return s.ExpenseShareOut(
        owner_id=sh.owner_id,
        amount=format_minor(sh.amount, c),
        paid=format_minor(sh.paid, c),
        remaining=format_minor(sh.remaining, c),
        status=sh.status,
    )


def expense_detail(ctx: Ctx, expense_id: int) -> s.ExpenseDetailOut:
    ctx.require_admin()
    e = load_expense(ctx, expense_id)
    period = get_period(ctx, e.period_id)
    shares, reason = expense_shares(ctx, e, period)
    base = expense_out(ctx, e)
    return s.ExpenseDetailOut(
        **base.model_dump(),
        shares=[share_out(ctx, sh) for sh in shares],
        unallocated_reason=reason,
    )


def settle_share(
    ctx: Ctx, expense_id: int, owner_id: int, data: s.ShareSettle
) -> s.ShareSettledOut:
    """Record a settlement from ``owner_id`` to the expense's payer, at most the unpaid
    remainder of the owner's share (400 naming it)."""
    ctx.require_admin()
    amount = positive_amount(ctx, data.amount)
    e = load_expense(ctx, expense_id)
    period = open_period_for_write(ctx, e.period_id)  # lock order: the period, then the expense
    e = load_expense(ctx, expense_id, lock=True)  # concurrent settles of this expense queue here
    if e.paid_by_owner_pk is None:
        raise Conflict(
            f"Expense {e.id} was paid by the fund: its shares are settled through the balance, "
            "not to an owner"
        )
    owner = find_owner(ctx, owner_id)
    if owner is None:
        raise NotFound(f"Owner {owner_id} not found")
    if owner.id == e.paid_by_owner_pk:
        raise Conflict(f"Owner {owner_id} paid expense {e.id}: their own share is already paid")
    shares, reason = expense_shares(ctx, e, period)
    share = next((sh for sh in shares if sh.owner_pk == owner.id), None)
    if share is None:
        why = f" ({reason})" if reason else ""
        raise NotFound(f"Owner {owner_id} has no share of expense {e.id}{why}")
    c = ctx.currency
    if amount > share.remaining:
        raise ValidationFailed(
            f"amount {format_minor(amount, c)} is more than the unpaid remainder "
            f"{format_minor(share.remaining, c)} of owner {owner_id}'s share "
            f"({format_minor(share.amount, c)}, paid {format_minor(share.paid, c)}) "
            f"of expense {e.id}"
        )
    t = _record(
        ctx,
        period,
        Settlement(
            community_id=ctx.community_id,
            period_id=period.id,
            from_owner_pk=owner.id,
            to_owner_pk=e.paid_by_owner_pk,
            amount_minor=amount,
            comment=data.comment or f"Share of expense {e.id}",
            settles_expense_id=e.id,
            created_by=ctx.actor.label,
        ),
        data.date,
    )
    after = Share(share.owner_pk, share.owner_id, share.amount, share.paid + amount)
    return s.ShareSettledOut(settlement=settlement_out(ctx, t), share=share_out(ctx, after))


def _record(ctx: Ctx, period: Period, t: Settlement, day: date | datetime | None) -> Settlement:
    """The settlement through the ledger's posting machinery (its ledger entries and audit in
    the same statement), like any other settlement."""
    t.date = booking_date(ctx, period, day)
    return insert_document(ctx, period, SETTLEMENT, t)


def check_settlement_edit(
    ctx: Ctx, t: Settlement, period: Period, *, before_amount: int, before_owners: tuple[int, int]
) -> None:
    """A transfer that settles a share (``settles_expense_id``) stays that share's: its owners
    cannot change (409), and a larger amount must fit the share's unpaid remainder (400 naming
    it; the expense's row is locked as a settle locks it, so edits and settles never overpay)."""
    if t.settles_expense_id is None:
        return
    if (t.from_owner_pk, t.to_owner_pk) != before_owners:
        raise Conflict(
            f"Settlement {t.id} settles a share of expense {t.settles_expense_id}: its owners "
            "cannot change; delete it and settle the right share instead"
        )
    if t.amount_minor <= before_amount:
        return
    e = ctx.session.scalar(
        _EXPENSE_FOR_UPDATE, {"expense_id": t.settles_expense_id, "c": ctx.community_id}
    )
    if e is None:  # the expense was deleted: the transfer is an ordinary one now
        return
    shares, _ = expense_shares(ctx, e, period)
    share = next((sh for sh in shares if sh.owner_pk == t.from_owner_pk), None)
    others = int(
        ctx.session.scalar(
            select(func.coalesce(func.sum(Settlement.amount_minor), 0)).where(
                Settlement.settles_expense_id == e.id,
                Settlement.from_owner_pk == t.from_owner_pk,
                Settlement.deleted_at.is_(None),
                Settlement.id != t.id,
            )
        )
        or 0
    )
    remainder = max((share.amount if share else 0) - others, 0)
    if t.amount_minor > remainder:
        c = ctx.currency
        raise ValidationFailed(
            f"amount {format_minor(t.amount_minor, c)} is more than the unpaid remainder "
            f"{format_minor(remainder, c)} of the share of expense {e.id} this transfer settles"
        )
