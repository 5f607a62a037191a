"""Balances: per owner per period, derived from the ledger plus the allocation of the expenses.

For an OPEN period the sheet is a live preview computed from the rows; for a CLOSED one it is what
the close stored (``period_balances`` and ``allocations``), which ``check_stored`` proves equal to a
recomputation from the rows.

Expenses without their own split are pooled per payment type and each pool is allocated once by
its strategy (the budget item's, else the community's default): one rounding per pool, not per
expense, so an owner's share of a type is within one minor unit of their exact share. An expense
with its own split is allocated on its own.
"""

from __future__ import annotations

import threading
from collections import OrderedDict, defaultdict
from dataclasses import dataclass, field
from decimal import Decimal
from fractions import Fraction
from functools import lru_cache
from typing import Any

from sqlalchemy import bindparam, func, select
from sqlalchemy.orm import Session

from kopilka.allocation.exact import Weight
from kopilka.allocation.splits import parse_split, split_values_minor
from kopilka.allocation.strategies import Strategy, allocate, parse_strategy
from kopilka.balances.schemas import (
    BalanceEntryOut,
    BalanceSheetOut,
    OwnerBalanceOut,
)
from kopilka.context import Role
from kopilka.errors import ValidationFailed
from kopilka.models import (
    Allocation,
    AllocationVersion,
    BudgetItem,
    Community,
    Expense,
    LedgerEntry,
    MeterReading,
    Owner,
    OwnerPeriodTotal,
    Period,
    PeriodBalance,
    PeriodExpenseTotal,
)
from kopilka.money import currency_exponent, format_minor
from kopilka.owners.service import get_owner
from kopilka.periods.service import get_period
from kopilka.plots.billing import (
    Meters,
    TariffDetail,
    detail_dict,
    tariff_pool,
    usage_detail,
)
from kopilka.plots.billing import stored as billing_stored
from kopilka.plots.consumption import derived_weights

CREDIT_KINDS = ("CONTRIBUTION", "OPENING_CREDIT", "EXPENSE_PAID", "SETTLEMENT_PAID")
DEBIT_KINDS = ("SERVICE_CHARGE", "OPENING_DEBT", "SETTLEMENT_RECEIVED")


@dataclass
class Pool:
    key: str
    payment_type: str
    strategy: str
    amount: int
    expense_id: int | None = None
    meter_type: str | None = None
    split: dict[str, Any] | None = None
    shares: dict[int, int] = field(default_factory=dict)  # owner_pk -> minor
    reason: str | None = None  # set when (partly) unallocated
    item: BudgetItem | None = None  # the budget item of the payment type, if any
    tariff: TariffDetail | None = None  # TARIFF: the tariff charges, the loss, its shares


@dataclass
class AllocationResult:
    pools: list[Pool]

    def per_owner(self) -> dict[int, int]:
        out: dict[int, int] = defaultdict(int)
        for p in self.pools:
            for pk, v in p.shares.items():
                out[pk] += v
        return out

    @property
    def unallocated(self) -> list[Pool]:
        return [p for p in self.pools if p.reason is not None]


@dataclass
class OwnerRow:
    owner_pk: int
    owner_id: int
    name: str | None
    opening_balance: int = 0
    contributions: int = 0
    paid_expenses: int = 0
    allocated: int = 0
    service_charges: int = 0
    net_settlements: int = 0
    opening_debt: int = 0  # inside service_charges; not invoiced again

    @property
    def balance(self) -> int:
        return (
            self.contributions
            + self.paid_expenses
            + self.net_settlements
            - self.allocated
            - self.service_charges
        )


@dataclass
class Sheet:
    period: Period
    currency: str
    rows: list[OwnerRow]
    allocation: AllocationResult
    total_expenses: int


# ---------------------------------------------------------------- allocation


def share_weights(community_id: int) -> Any:
    """The active owners of a community with their own share weight: (owner_pk, owner_id,
    weight); an owner with plots shares by the weight derived from them instead."""
    return select(Owner.id, Owner.owner_id, Owner.share_weight.label("weight")).where(
        Owner.community_id == community_id, Owner.is_active.is_(True)
    )


def budget_of(session: Session, period: Period) -> dict[str, BudgetItem]:
    return {
        b.payment_type.lower(): b
        for b in session.scalars(
            select(BudgetItem).where(
                BudgetItem.period_id == period.id, BudgetItem.deleted_at.is_(None)
            )
        )
    }


def pools_of(
    session: Session, community: Community, period: Period, *, from_rows: bool = False
) -> list[Pool]:
    """The period's allocation pools, unshared: one per payment type of the expenses without a
    split of their own (their sums from the maintained ``period_expense_totals``, or from the
    expense rows when ``from_rows``: the close), then one per expense with a split (found
    through a partial index)."""
    budget = budget_of(session, period)
    pools: list[Pool] = []
    if from_rows:
        pooled = session.execute(
            select(
                func.lower(Expense.payment_type),
                func.min(Expense.payment_type),
                func.sum(Expense.amount_minor),
            )
            .where(
                Expense.period_id == period.id,
                Expense.deleted_at.is_(None),
                Expense.split.is_(None),
            )
            .group_by(func.lower(Expense.payment_type))
            .order_by(func.lower(Expense.payment_type))
        ).all()
    else:
        pooled = session.execute(
            select(
                func.lower(PeriodExpenseTotal.payment_type),
                func.min(PeriodExpenseTotal.payment_type),
                func.sum(PeriodExpenseTotal.amount_minor),
            )
            .where(
                PeriodExpenseTotal.period_id == period.id,
                PeriodExpenseTotal.pooled.is_(True),
                PeriodExpenseTotal.expenses > 0,
            )
            .group_by(func.lower(PeriodExpenseTotal.payment_type))
            .order_by(func.lower(PeriodExpenseTotal.payment_type))
        ).all()
    for key, shown, total in pooled:
        item = budget.get(key)
        strategy = item.allocation_strategy if item else community.default_strategy
        pools.append(
            Pool(
                key=f"type:{key}",
                payment_type=item.payment_type if item else shown,
                strategy=strategy,
                amount=int(total),
                meter_type=item.meter_type if item else None,
                item=item,
            )
        )
    for e in session.scalars(
        select(Expense)
        .where(
            Expense.period_id == period.id,
            Expense.deleted_at.is_(None),
            Expense.split.is_not(None),
        )
        .order_by(Expense.id)
    ):
        item = budget.get(e.payment_type.lower())
        assert e.split is not None
        pools.append(
            Pool(
                key=f"expense:{e.id}",
                payment_type=e.payment_type,
                strategy=str(e.split.get("strategy", "")).upper(),
                amount=e.amount_minor,
                expense_id=e.id,
                # the split's own meter type (USAGE_BASED), else the budget item's of its type
                meter_type=e.split.get("meter_type") or (item.meter_type if item else None),
                split=e.split,
            )
        )
    return pools


def compute_allocations(
    session: Session,
    community: Community,
    period: Period,
    *,
    strict: bool = False,
    from_rows: bool = False,
) -> AllocationResult:
    """Share the period's expenses. ``strict`` (the close) raises where the preview only reports
    an expense as unallocated for a reason that is an error (zero consumption); ``from_rows``
    (the close) sums the pools from the expense rows, not from their maintained totals."""
    owners = session.execute(share_weights(community.id)).all()
    pk_of = {oid: pk for pk, oid, _ in owners}
    weights: dict[int, Weight] = {oid: Decimal(w) for _, oid, w in owners}
    # an owner with plots: the share weight derived from them, exact (SPEC §3a)
    derived = derived_weights(session, community.id)
    for oid, pk in pk_of.items():
        if pk in derived:
            weights[oid] = derived[pk]
    inactive_weights: dict[int, Weight] = {}  # owners only a split names
    pools = pools_of(session, community, period, from_rows=from_rows)

    consumption_cache: dict[str, dict[int, Decimal]] = {}
    meters = Meters(session, community.id, period)  # the plots' meters (SPEC §3a)

    def consumption(meter_type: str) -> dict[int, Weight]:
        """owner id -> the older per-owner readings' consumption + the plots' meters'."""
        total: dict[int, Weight] = {
            oid: Fraction(v) for oid, v in older_consumption(meter_type).items()
        }
        for pk, q in meters.usage(meter_type).items():
            oid = oid_of.get(pk)
            if oid is not None:
                total[oid] = Fraction(total.get(oid, 0)) + q
        return total

    def older_consumption(meter_type: str) -> dict[int, Decimal]:
        if meter_type not in consumption_cache:
            rows = session.execute(
                select(
                    Owner.owner_id, func.sum(MeterReading.end_reading - MeterReading.start_reading)
                )
                .join(Owner, Owner.id == MeterReading.owner_pk)
                .where(
                    MeterReading.period_id == period.id,
                    MeterReading.deleted_at.is_(None),
                    func.upper(MeterReading.meter_type) == meter_type.upper(),
                )
                .group_by(Owner.owner_id)
            ).all()
            consumption_cache[meter_type] = {oid: Decimal(v) for oid, v in rows}
        return consumption_cache[meter_type]

    oid_of = {pk: oid for oid, pk in pk_of.items()}
    exp = currency_exponent(community.currency)
    for pool in pools:
        strategy = parse_strategy(pool.strategy)
        if strategy == Strategy.NONE:
            pool.reason = "NONE: the fund absorbs it"
            continue
        participants = dict(weights)
        values: dict[int, Decimal | int] | None = None
        if pool.split is not None:
            split = parse_split(
                pool.split,
                amount_minor=pool.amount,
                currency_exponent=exp,
                active_owner_ids=list(pk_of) + list(pool_owner_ids(pool.split)),
            )
            if split.values is not None:
                values = split_values_minor(split, exp)
            if any(oid not in pk_of for oid in split.owner_ids):
                # an inactive owner named by the split: their own share weight, never a default
                missing = ", ".join(str(o) for o in split.owner_ids if o not in pk_of)
                for oid, pk, weight in _lookup_owners(session, community.id, split.owner_ids):
                    pk_of[oid] = pk
                    inactive_weights[oid] = derived.get(pk, Decimal(weight))
                if any(oid not in pk_of for oid in split.owner_ids):
                    raise ValidationFailed(f"Expense {pool.expense_id}: unknown owners {missing}")
            participants = {
                oid: weights[oid] if oid in weights else inactive_weights[oid]
                for oid in split.owner_ids
            }
        if not participants:
            pool.reason = "no active owners to share it"
            continue
        if strategy == Strategy.TARIFF:
            if pool.item is None or not pool.meter_type:
                pool.reason = "TARIFF without a budget item's meter type and tariffs"
                if strict:
                    raise ValidationFailed(f"Cannot allocate {pool.payment_type}: {pool.reason}")
                continue
            if strict:
                meters.require_readings(pool.payment_type, pool.meter_type)
            pool.shares, pool.tariff = tariff_pool(
                meters,
                pool.item,
                pool.amount,
                participants,
                pk_of,
                community.currency,
                older_consumption(pool.meter_type),
            )
            continue
        usage: dict[int, Weight] | None = None
        if strategy == Strategy.USAGE_BASED:
            if not pool.meter_type:
                pool.reason = "USAGE_BASED without a meter type"
                if strict:
                    raise ValidationFailed(
                        f"Cannot allocate {pool.payment_type}: USAGE_BASED needs a meter type"
                    )
                continue
            if strict:
                meters.require_readings(pool.payment_type, pool.meter_type)
            used = consumption(pool.meter_type)
            usage = {oid: used.get(oid, 0) for oid in participants}
            if sum(usage.values()) == 0:
                pool.reason = f"zero total consumption of {pool.meter_type}"
                if strict:
                    raise ValidationFailed(
                        f"Cannot allocate {pool.payment_type} "
                        f"({format_minor(pool.amount, community.currency)}): USAGE_BASED on "
                        f"{pool.meter_type} but the period has zero total consumption; "
                        "record the meter readings or change the budget item's strategy"
                    )
                continue
        shares = allocate(strategy, pool.amount, participants, consumption=usage, values=values)
        pool.shares = {pk_of[oid]: v for oid, v in shares.items() if v}
        if strategy == Strategy.USAGE_BASED and pool.meter_type:
            pool.tariff = usage_detail(meters, pool.meter_type, pool.shares)
    return AllocationResult(pools)


# ---------------------------------------------------------------- the allocation, reused

#: (community id, period id, allocation version) -> the period's allocation and its per-owner sums
_MEMO: OrderedDict[tuple[int, int, int], tuple[AllocationResult, dict[int, int]]] = OrderedDict()
_MEMO_LOCK = threading.Lock()
MEMO_PERIODS = 16


def version_columns(community_id: int) -> tuple[Any, Any]:
    """The community's allocation version and whether this transaction has written anything,
    as two columns to read together with something else (one round trip less)."""
    version = (
        select(AllocationVersion.version)
        .where(AllocationVersion.community_id == community_id)
        .scalar_subquery()
    )
    return version, func.txid_current_if_assigned()


def current_allocations(
    session: Session,
    community: Community,
    period: Period,
    *,
    version_read: tuple[Any, Any] | None = None,
) -> tuple[AllocationResult, dict[int, int]]:
    """The period's allocation (and each owner's allocated sum), computed once per version of
    the community's allocation inputs and then reused by every read in this process.

    Exact, not approximate: every write of an input (an expense, a budget item, a meter
    reading, an owner's weight, activity or id, the default strategy) bumps the community's
    ``allocation_versions.version`` by trigger in its own transaction, so an allocation stored
    under version v equals a fresh computation for as long as the version reads v. A
    transaction that has written anything (its own, uncommitted version) neither reads nor
    stores the memo; the close computes afresh. ``tests/worker/test_owner_line_equals_sheet.py``
    compares the reused figures with fresh ones after every kind of input change.
    ``version_read``: (version, written) already read in the caller's statement."""
    if version_read is None:
        version_read = tuple(session.execute(select(*version_columns(community.id))).one())
    version, written = version_read
    key = (community.id, period.id, int(version or 0))
    if written is None:
        with _MEMO_LOCK:
            hit = _MEMO.get(key)
            if hit is not None:
                _MEMO.move_to_end(key)
                return hit
    result = compute_allocations(session, community, period)
    value = (result, dict(result.per_owner()))
    if written is None:
        with _MEMO_LOCK:
            _MEMO[key] = value
            while len(_MEMO) > MEMO_PERIODS:
                _MEMO.popitem(last=False)
    return value


def pool_owner_ids(split: dict[str, Any]) -> list[int]:
    items = split.get("items")
    if isinstance(items, list):  # ITEM_BASED: the owners of its items
        return [int(i["owner_id"]) for i in items if i.get("owner_id") is not None]
    owners = split.get("owners")
    if isinstance(owners, dict):
        return [int(k) for k in owners]
    if isinstance(owners, list):
        return [int(k) for k in owners]
    return []


def _lookup_owners(session: Session, community_id: int, owner_ids: Any) -> list[Any]:
    """(owner_id, pk, share_weight) of the named owners, active or not."""
    return list(
        session.execute(
            select(Owner.owner_id, Owner.id, Owner.share_weight).where(
                Owner.community_id == community_id, Owner.owner_id.in_(list(owner_ids))
            )
        ).all()
    )


# ---------------------------------------------------------------- ledger sums


LEDGER_KINDS = CREDIT_KINDS + DEBIT_KINDS


def ledger_sums(session: Session, period_id: int) -> dict[int, dict[str, int]]:
    """Per owner, the sum of each ledger kind: one row per owner (pivoted in SQL)."""
    columns = [
        func.coalesce(func.sum(LedgerEntry.amount_minor).filter(LedgerEntry.kind == kind), 0)
        for kind in LEDGER_KINDS
    ]
    rows = session.execute(
        select(LedgerEntry.owner_pk, *columns)
        .where(LedgerEntry.period_id == period_id)
        .group_by(LedgerEntry.owner_pk)
    ).all()
    out: dict[int, dict[str, int]] = {}
    for pk, *totals in rows:
        out[pk] = {kind: int(v) for kind, v in zip(LEDGER_KINDS, totals, strict=True) if v}
    return out


def totals_sums(session: Session, period_id: int) -> dict[int, dict[str, int]]:
    """What :func:`ledger_sums` gives, read from the maintained ``owner_period_totals`` (one row
    per owner that ever had an entry in the period) instead of aggregating the ledger."""
    t = OwnerPeriodTotal
    rows = session.execute(
        select(t.owner_pk, *(getattr(t, c) for c in TOTAL_COLUMNS.values())).where(
            t.period_id == period_id, t.entries > 0
        )
    ).all()
    return {pk: _kinds(totals) for pk, *totals in rows}


#: ledger kind -> column of owner_period_totals
TOTAL_COLUMNS = {
    "CONTRIBUTION": "contributions",
    "OPENING_CREDIT": "opening_credit",
    "EXPENSE_PAID": "paid_expenses",
    "SERVICE_CHARGE": "service_charges",
    "OPENING_DEBT": "opening_debt",
    "SETTLEMENT_PAID": "settlements_paid",
    "SETTLEMENT_RECEIVED": "settlements_received",
}


def _kinds(totals: Any) -> dict[str, int]:
    return {k: int(v) for k, v in zip(TOTAL_COLUMNS, totals, strict=True) if v}


def _total_expenses(session: Session, period_id: int, *, from_rows: bool = False) -> int:
    if from_rows:
        return int(
            session.scalar(
                select(func.coalesce(func.sum(Expense.amount_minor), 0)).where(
                    Expense.period_id == period_id, Expense.deleted_at.is_(None)
                )
            )
            or 0
        )
    return int(
        session.scalar(
            select(func.coalesce(func.sum(PeriodExpenseTotal.amount_minor), 0)).where(
                PeriodExpenseTotal.period_id == period_id
            )
        )
        or 0
    )


def row_from_sums(
    pk: int, oid: int, name: str | None, k: dict[str, int], allocated: int
) -> OwnerRow:
    """An owner's line from their ledger sums per kind and their allocated share."""
    return OwnerRow(
        owner_pk=pk,
        owner_id=oid,
        name=name,
        opening_balance=k.get("OPENING_CREDIT", 0) - k.get("OPENING_DEBT", 0),
        contributions=k.get("CONTRIBUTION", 0) + k.get("OPENING_CREDIT", 0),
        paid_expenses=k.get("EXPENSE_PAID", 0),
        allocated=allocated,
        service_charges=k.get("SERVICE_CHARGE", 0) + k.get("OPENING_DEBT", 0),
        net_settlements=k.get("SETTLEMENT_PAID", 0) - k.get("SETTLEMENT_RECEIVED", 0),
        opening_debt=k.get("OPENING_DEBT", 0),
    )


def live_sheet(
    session: Session,
    community: Community,
    period: Period,
    *,
    strict: bool = False,
    from_rows: bool = False,
) -> Sheet:
    """The sheet of an OPEN period: the owners' maintained totals plus the (reused) allocation.
    ``from_rows`` or ``strict`` (the close) sums the ledger rows and allocates afresh instead:
    what the close stores is derived from the rows themselves, and
    ``kopilka.balances.reconcile`` compares the totals with them."""
    if from_rows or strict:
        sums = ledger_sums(session, period.id)
        result = compute_allocations(session, community, period, strict=strict, from_rows=True)
        allocated = result.per_owner()
        owners = session.execute(
            select(Owner.id, Owner.owner_id, Owner.name, Owner.is_active)
            .where(Owner.community_id == community.id)
            .order_by(Owner.owner_id)
        ).all()
        empty: dict[str, int] = {}
        rows = [
            row_from_sums(pk, oid, name, sums.get(pk, empty), allocated.get(pk, 0))
            for pk, oid, name, active in owners
            if active or pk in sums or pk in allocated
        ]
    else:
        result, allocated = current_allocations(session, community, period)
        rows = _rows_from_totals(session, community.id, period.id, allocated)
    total = _total_expenses(session, period.id, from_rows=from_rows or strict)
    return Sheet(period, community.currency, rows, result, total)


def _rows_from_totals(
    session: Session, community_id: int, period_id: int, allocated: dict[int, int]
) -> list[OwnerRow]:
    """Every owner's line from ONE query (the community's owners with their maintained totals),
    read as plain rows: 10,000 owners without the ORM's per-row work."""
    stmt = _totals_statement()
    out: list[OwnerRow] = []
    append = out.append
    get = allocated.get
    for pk, oid, name, active, entries, c, oc, pe, sc, od, sp, sr in session.connection().execute(
        stmt, {"c": community_id, "p": period_id}
    ):
        involved = entries is not None and entries > 0
        share = get(pk, 0)
        if not (active or involved or pk in allocated):
            continue
        if involved:
            append(OwnerRow(pk, oid, name, oc - od, c + oc, pe, share, sc + od, sp - sr, od))
        else:
            append(OwnerRow(pk, oid, name, allocated=share))
    return out


@lru_cache(maxsize=1)
def _totals_statement() -> Any:
    t = OwnerPeriodTotal
    return (
        select(
            Owner.id,
            Owner.owner_id,
            Owner.name,
            Owner.is_active,
            t.entries,
            *(getattr(t, c) for c in TOTAL_COLUMNS.values()),
        )
        .outerjoin(t, (t.owner_pk == Owner.id) & (t.period_id == bindparam("p")))
        .where(Owner.community_id == bindparam("c"))
        .order_by(Owner.owner_id)
    )


def stored_sheet(session: Session, community: Community, period: Period) -> Sheet:
    """What the close stored for a CLOSED period."""
    rows = [
        OwnerRow(
            owner_pk=b.owner_pk,
            owner_id=oid,
            name=name,
            opening_balance=b.opening_balance,
            contributions=b.total_contributions,
            paid_expenses=b.total_paid_expenses,
            allocated=b.total_allocated,
            service_charges=b.total_service_charges,
            net_settlements=b.net_settlements,
        )
        for b, oid, name in session.execute(
            select(PeriodBalance, Owner.owner_id, Owner.name)
            .join(Owner, Owner.id == PeriodBalance.owner_pk)
            .where(PeriodBalance.period_id == period.id)
            .order_by(Owner.owner_id)
        )
    ]
    summary = period.closing_summary or {}
    pools = [
        Pool(
            key=p["pool"],
            payment_type=p["payment_type"],
            strategy=p["strategy"],
            amount=p["amount_minor"],
            expense_id=p.get("expense_id"),
            reason=p.get("reason"),
            shares={},
        )
        for p in summary.get("pools", [])
    ]
    by_pool: dict[str, dict[int, int]] = defaultdict(dict)
    for a in session.scalars(select(Allocation).where(Allocation.period_id == period.id)):
        by_pool[a.pool][a.owner_pk] = a.amount_minor
    for p in pools:
        p.shares = by_pool.get(p.key, {})
    if any(p.get("tariff") for p in summary.get("pools", [])):
        details = billing_stored(session, period.id, summary.get("pools", []))
        for p in pools:
            p.tariff = details.get(p.key)
    return Sheet(
        period, community.currency, rows, AllocationResult(pools), summary.get("total_expenses", 0)
    )


def sheet_for(session: Session, community: Community, period: Period) -> Sheet:
    if period.status == "CLOSED":
        return stored_sheet(session, community, period)
    return live_sheet(session, community, period)


# ---------------------------------------------------------------- output


def minor_formatter(currency: str) -> Any:
    """``format_minor`` for one currency, its exponent looked up once (a sheet formats 80,000
    amounts)."""
    exp = currency_exponent(currency)
    if exp == 0:
        return str
    unit = 10**exp
    tails = [f".{r:0{exp}d}" for r in range(unit)] if exp <= 3 else None

    def f(minor: int) -> str:
        if minor < 0:
            q, r = divmod(-minor, unit)
            return "-" + str(q) + (tails[r] if tails else f".{r:0{exp}d}")
        q, r = divmod(minor, unit)
        return str(q) + (tails[r] if tails else f".{r:0{exp}d}")

    return f


def entry_dict(row: OwnerRow, currency: str, f: Any = None) -> dict[str, Any]:
    """One owner's line as JSON-ready data (the fields of BalanceEntryOut)."""
    if f is None:
        f = minor_formatter(currency)
    return {
        "owner_id": row.owner_id,
        "name": row.name,
        "opening_balance": f(row.opening_balance),
        "total_contributions": f(row.contributions),
        "total_paid_expenses": f(row.paid_expenses),
        "total_allocated": f(row.allocated),
        "total_service_charges": f(row.service_charges),
        "total_charges": f(row.allocated + row.service_charges),
        "net_settlements": f(row.net_settlements),
        "balance": f(row.balance),
    }


def entry_out(row: OwnerRow, currency: str) -> BalanceEntryOut:
    return BalanceEntryOut(**entry_dict(row, currency))


def sheet_dict(sheet: Sheet) -> dict[str, Any]:
    """The sheet as JSON-ready data (the fields of BalanceSheetOut), built without per-line
    model validation: a sheet of 10,000 owners is answered as it is computed."""
    c = sheet.currency
    f = format_minor
    fast = minor_formatter(c)
    rows = sheet.rows
    unallocated = sheet.allocation.unallocated
    owner_ids = {r.owner_pk: r.owner_id for r in rows}
    return {
        "period_id": sheet.period.id,
        "period_name": sheet.period.name,
        "status": sheet.period.status,
        "currency": c,
        "entries": [entry_dict(r, c, fast) for r in rows],
        "total_opening_balance": f(sum(r.opening_balance for r in rows), c),
        "total_contributions": f(sum(r.contributions for r in rows), c),
        "total_paid_expenses": f(sum(r.paid_expenses for r in rows), c),
        "total_allocated": f(sum(r.allocated for r in rows), c),
        "total_service_charges": f(sum(r.service_charges for r in rows), c),
        "total_charges": f(sum(r.allocated + r.service_charges for r in rows), c),
        "net_settlements": f(sum(r.net_settlements for r in rows), c),
        "total_period_balance": f(sum(r.balance for r in rows), c),
        "total_expenses": f(sheet.total_expenses, c),
        "total_unallocated": f(sum(p.amount - sum(p.shares.values()) for p in unallocated), c),
        "unallocated": [
            {
                "pool": p.key,
                "payment_type": p.payment_type,
                "expense_id": p.expense_id,
                "amount": f(p.amount - sum(p.shares.values()), c),
                "reason": p.reason or "",
            }
            for p in unallocated
        ],
        "pools": [
            {
                "pool": p.key,
                "payment_type": p.payment_type,
                "strategy": p.strategy,
                "amount": f(p.amount, c),
                "allocated": f(sum(p.shares.values()), c),
                **(
                    {"tariff": detail_dict(p.tariff, owner_ids, c)}
                    if p.tariff and p.strategy == "TARIFF"
                    else {}
                ),
            }
            for p in sheet.allocation.pools
        ],
    }


def sheet_out(sheet: Sheet) -> BalanceSheetOut:
    return BalanceSheetOut.model_validate(sheet_dict(sheet))


def owner_row(sheet: Sheet, owner_pk: int, owner_id: int, name: str | None = None) -> OwnerRow:
    """One owner's line of a sheet (all zero when the owner has none)."""
    return next(
        (r for r in sheet.rows if r.owner_pk == owner_pk),
        OwnerRow(owner_pk=owner_pk, owner_id=owner_id, name=name),
    )


def owner_period_balance(
    session: Session, community: Community, period: Period, owner_pk: int, owner_id: int
) -> int:
    """One owner's balance in a period (live while it is OPEN), in minor units: their line
    alone (``kopilka.balances.owner.owner_line``), not the community's sheet."""
    from kopilka.balances.owner import owner_line

    owner = session.get(Owner, owner_pk)
    row = owner_line(session, community, period, owner) if owner is not None else None
    return row.balance if row is not None else 0


def owner_balance_out(
    sheet: Sheet, owner_pk: int, owner_id: int, name: str | None
) -> OwnerBalanceOut:
    entry = entry_out(owner_row(sheet, owner_pk, owner_id, name), sheet.currency)
    return OwnerBalanceOut(
        **entry.model_dump(),
        period_id=sheet.period.id,
        period_name=sheet.period.name,
        status=sheet.period.status,
        currency=sheet.currency,
    )


# ---------------------------------------------------------------- use cases


def balance_sheet(ctx: Any, period_id: int) -> dict[str, Any]:
    """The period's sheet (JSON-ready, shaped as BalanceSheetOut); an owner sees their own line
    and the period's totals."""

    period = get_period(ctx, period_id)
    out = sheet_dict(sheet_for(ctx.session, ctx.community, period))
    if ctx.actor.role == Role.OWNER:
        owner = ctx.session.get(Owner, ctx.actor.owner_pk)
        out["entries"] = [e for e in out["entries"] if owner and e["owner_id"] == owner.owner_id]
    return out


def owner_balance(ctx: Any, period_id: int, owner_id: int) -> OwnerBalanceOut:
    """One owner's line of the period's sheet, computed for that owner alone
    (``kopilka.balances.owner``): the same figures, without the community's rows."""
    from kopilka.balances.owner import owner_line  # it builds on this module

    period = get_period(ctx, period_id)
    owner = get_owner(ctx, owner_id)
    row = owner_line(ctx.session, ctx.community, period, owner) or OwnerRow(
        owner_pk=owner.id, owner_id=owner.owner_id, name=owner.name
    )
    entry = entry_out(row, ctx.community.currency)
    return OwnerBalanceOut(
        **entry.model_dump(),
        period_id=period.id,
        period_name=period.name,
        status=period.status,
        currency=ctx.community.currency,
    )
