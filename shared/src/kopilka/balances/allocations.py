"""Sharing a period's expenses between the owners, and the result reused while the community's
allocation inputs are unchanged. The arithmetic is the pure :mod:`kopilka.allocation`; the inputs
are read by :mod:`kopilka.balances.pools`.

Expenses without their own split are pooled per payment type and each pool is allocated once by
its strategy (the budget item's, else the community's default): one rounding per pool, not per
expense, so an owner's share of a type is within one minor unit of their exact share. An expense
with its own split is allocated on its own.
"""

from __future__ import annotations

import threading
from collections import OrderedDict, defaultdict
from dataclasses import dataclass
from decimal import Decimal
from fractions import Fraction
from typing import Any

from sqlalchemy import bindparam, func, select
from sqlalchemy.orm import Session

from kopilka.allocation.exact import Weight
from kopilka.allocation.splits import parse_split, split_values_minor
from kopilka.allocation.strategies import Strategy, allocate, parse_strategy
from kopilka.balances.pools import Pool, lookup_owners, pool_owner_ids, pools_of, share_weights
from kopilka.errors import ValidationFailed
from kopilka.models import AllocationVersion, Community, MeterReading, Owner, Period
from kopilka.money import currency_exponent, format_minor
from kopilka.plots.billing import Meters, tariff_pool, usage_detail
from kopilka.plots.consumption import derived_weights


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
                for oid, pk, weight in lookup_owners(session, community.id, split.owner_ids):
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
#: The keys being computed now -> set when done. Reads that miss while another thread of the
#: process computes the same key wait for it: ONE computation per process and version, not one
#: per request in flight (measured: the first reads of a 10,000-owner period after an API process
#: started, 4 in flight per process, each computed it and took 1.2-2.1 s; the burst's p99 98 ms).
_COMPUTING: dict[tuple[int, int, int], threading.Event] = {}
#: How long a read waits for another's computation before computing itself.
WAIT_FOR_OTHER_SECONDS = 30.0


def version_columns(community_id: Any) -> tuple[Any, Any]:
    """The community's allocation version and whether this transaction has written anything,
    as two columns to read together with something else (one round trip less).
    ``community_id``: the id, or a bind parameter (a statement built once)."""
    version = (
        select(AllocationVersion.version)
        .where(AllocationVersion.community_id == community_id)
        .scalar_subquery()
    )
    return version, func.txid_current_if_assigned()


_VERSION = select(version_columns(bindparam("community_id"))[0])


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
    under version v equals a fresh computation for as long as the version reads v. The
    computation's statements each see the latest commits (READ COMMITTED), so it is kept only
    when the version still reads v after it: no input changed while it ran. A transaction that
    has written anything (its own, uncommitted version) neither reads nor stores the memo; the
    close computes afresh. ``tests/worker/test_owner_line_equals_sheet.py`` compares the reused
    figures with fresh ones after every kind of input change.
    ``version_read``: (version, written) already read in the caller's statement."""
    if version_read is None:
        version_read = tuple(session.execute(select(*version_columns(community.id))).one())
    version, written = version_read
    if written is not None:
        result = compute_allocations(session, community, period)
        return result, dict(result.per_owner())
    key = (community.id, period.id, int(version or 0))
    with _MEMO_LOCK:
        hit = _MEMO.get(key)
        if hit is not None:
            _MEMO.move_to_end(key)
            return hit
        done = _COMPUTING.get(key)
        mine = done is None
        if done is None:
            done = _COMPUTING[key] = threading.Event()
    if not mine:
        done.wait(WAIT_FOR_OTHER_SECONDS)
        with _MEMO_LOCK:
            hit = _MEMO.get(key)
        if hit is not None:
            return hit
        # the other computation failed, was not kept (an input changed) or is slow: our own
        result = compute_allocations(session, community, period)
        return result, dict(result.per_owner())
    try:
        result = compute_allocations(session, community, period)
        value = (result, dict(result.per_owner()))
        after = session.scalar(_VERSION, {"community_id": community.id})
        if int(after or 0) == key[2]:
            with _MEMO_LOCK:
                _MEMO[key] = value
                while len(_MEMO) > MEMO_PERIODS:
                    _MEMO.popitem(last=False)
        return value
    finally:
        with _MEMO_LOCK:
            _COMPUTING.pop(key, None)
        done.set()
