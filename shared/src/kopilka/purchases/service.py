"""Group purchases (SPEC §3b).

A purchase list belongs to a period. While it is OPEN and before its deadline, owners add, change
and remove their own items (price x quantity); the items of others are read-only to them (an owner
touching another's item gets 404, as if it did not exist for them). Admins edit anyone's items,
and also after the deadline (the deadline closes the list for owners; the treasurer corrects it
and finalizes). ``finalize`` records ONE expense with an ITEM_BASED split of the items and marks
the list FINALIZED; a second finalize, sequential or concurrent, finds the list FINALIZED (the
purchase row is locked FOR UPDATE) and answers the same expense.

Lock order, as everywhere: the period (shared), then the purchase row (update).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, time
from decimal import Decimal
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import func, select

from kopilka.allocation.items import SplitItem, parse_item
from kopilka.allocation.splits import parse_split, split_values_minor
from kopilka.allocation.strategies import Strategy
from kopilka.audit.service import created, record, snapshot, updated
from kopilka.context import Ctx, Role
from kopilka.errors import Conflict, Forbidden, NotFound, ValidationFailed
from kopilka.ledger import expenses
from kopilka.ledger import schemas as ledger_schemas
from kopilka.models import Expense, Owner, Period, Purchase, PurchaseItem
from kopilka.money import currency_exponent, format_minor, to_minor
from kopilka.notifications import service as notifications
from kopilka.owners.service import resolve_owner
from kopilka.periods.service import get_period, open_period_for_write
from kopilka.purchases import queries as q
from kopilka.purchases import schemas as s

OPEN, FINALIZED = "OPEN", "FINALIZED"
ENTITY, ITEM_ENTITY = "purchase", "purchase_item"
ANNOUNCED = "purchase_announced"
FINALIZED_SHARE = "purchase_share"


# ---------------------------------------------------------------- reading


def _now() -> datetime:
    return datetime.now(UTC)


def accepting_items(p: Purchase, now: datetime | None = None) -> bool:
    return p.status == OPEN and (now or _now()) < p.deadline


def _deadline(ctx: Ctx, value: datetime | date) -> datetime:
    if isinstance(value, datetime):
        if value.tzinfo is None:  # a wall-clock time in the community's zone
            return value.replace(tzinfo=ZoneInfo(ctx.community.timezone))
        return value
    # a date: the list accepts items until the end of that day in the community's zone
    end = datetime.combine(value, time.max).replace(tzinfo=ZoneInfo(ctx.community.timezone))
    return end


def get_purchase(ctx: Ctx, purchase_id: int, *, lock: bool = False) -> Purchase:
    """A purchase of this community (admins and its owners may read it); 404 otherwise."""
    stmt = q.PURCHASE_FOR_UPDATE if lock else q.PURCHASE
    p = ctx.session.scalar(stmt, {"purchase_id": purchase_id, "c": ctx.community_id})
    if p is None:
        raise NotFound(f"Purchase {purchase_id} not found")
    return p


def _subtotals(
    ctx: Ctx, ids: list[int]
) -> dict[int, list[tuple[int | None, str | None, int, int]]]:
    out: dict[int, list[tuple[int | None, str | None, int, int]]] = {i: [] for i in ids}
    if ids:
        for pid, owner_id, name, n, total in ctx.session.execute(
            q.SUBTOTALS, {"purchase_ids": ids}
        ):
            out[pid].append((owner_id, name, int(n), int(total)))
    return out


def purchase_out(
    ctx: Ctx,
    p: Purchase,
    subtotals: list[tuple[int | None, str | None, int, int]] | None = None,
) -> s.PurchaseOut:
    if subtotals is None:
        subtotals = _subtotals(ctx, [p.id])[p.id]
    cur = ctx.currency
    return s.PurchaseOut(**_out_fields(ctx, p, subtotals, cur))


def _out_fields(
    ctx: Ctx, p: Purchase, subtotals: list[tuple[int | None, str | None, int, int]], cur: str
) -> dict[str, Any]:
    owners = [
        s.OwnerSubtotal(owner_id=oid, name=name, items=n, subtotal=format_minor(total, cur))
        for oid, name, n, total in subtotals
        if oid is not None
    ]
    unowned = sum(total for oid, _, _, total in subtotals if oid is None)
    return {
        "id": p.id,
        "period_id": p.period_id,
        "title": p.title,
        "description": p.description,
        "deadline": p.deadline,
        "status": p.status,
        "accepting_items": accepting_items(p),
        "expense_id": p.expense_id,
        "item_count": sum(n for _, _, n, _ in subtotals),
        "total": format_minor(sum(t for _, _, _, t in subtotals), cur),
        "unowned_total": format_minor(unowned, cur),
        "owners": owners,
        "created_at": p.created_at,
        "finalized_at": p.finalized_at,
        "version": p.version,
    }


def list_purchases(ctx: Ctx, period_id: int, *, after: int | None, limit: int) -> list[Purchase]:
    get_period(ctx, period_id)
    stmt = q.LIST
    if after is not None:
        stmt = stmt.where(Purchase.id > after)
    return list(
        ctx.session.scalars(stmt.limit(limit + 1), {"c": ctx.community_id, "period_id": period_id})
    )


def purchases_out(ctx: Ctx, purchases: list[Purchase]) -> list[s.PurchaseOut]:
    subtotals = _subtotals(ctx, [p.id for p in purchases])
    return [purchase_out(ctx, p, subtotals[p.id]) for p in purchases]


def item_out(ctx: Ctx, item: PurchaseItem, owner_id: int | None) -> s.ItemOut:
    return s.ItemOut(
        id=item.id,
        purchase_id=item.purchase_id,
        owner_id=owner_id,
        description=item.description,
        price=_plain(item.price),
        quantity=_plain(item.quantity),
        cost=format_minor(item.cost_minor, ctx.currency),
        mine=item.owner_pk is not None and item.owner_pk == ctx.actor.owner_pk,
        version=item.version,
    )


def _plain(d: Decimal) -> str:
    """NUMERIC(26, 6) without its trailing zeros: "4500", "0.5", "12.345"."""
    text = format(d, "f")
    return text.rstrip("0").rstrip(".") if "." in text else text


def list_items(ctx: Ctx, purchase_id: int) -> list[s.ItemOut]:
    get_purchase(ctx, purchase_id)
    rows = ctx.session.execute(q.ITEMS, {"purchase_id": purchase_id})
    return [item_out(ctx, item, oid) for item, oid in rows]


# ---------------------------------------------------------------- the list (admins)


def create_purchase(ctx: Ctx, period_id: int, data: s.PurchaseCreate) -> Purchase:
    """Open a purchase list in an OPEN period and announce it to the owners who linked Telegram
    (in the same transaction, through the notifications table)."""
    ctx.require_admin()
    title = data.title.strip()
    if not title:
        raise ValidationFailed("title: must not be blank")
    deadline = _deadline(ctx, data.deadline)
    if deadline <= _now():
        raise ValidationFailed(f"deadline: {deadline.isoformat()} has already passed")
    period = open_period_for_write(ctx, period_id)
    p = Purchase(
        community_id=ctx.community_id,
        period_id=period.id,
        title=title,
        description=data.description,
        deadline=deadline,
        status=OPEN,
        created_by=ctx.actor.label,
        version=1,
    )
    created(ctx, p, ENTITY, refresh=True)
    notifications.broadcast(
        ctx.session,
        ctx.community_id,
        ANNOUNCED,
        f"{ANNOUNCED}:{p.id}:",
        {
            "purchase_id": p.id,
            "title": title,
            "deadline": deadline.astimezone(ZoneInfo(ctx.community.timezone)).isoformat(),
            "period_name": period.name,
        },
    )
    return p


def patch_purchase(ctx: Ctx, purchase_id: int, data: s.PurchasePatch) -> Purchase:
    ctx.require_admin()
    p, _ = _lock_open(ctx, purchase_id)
    before = snapshot(p)
    changes = data.model_dump(exclude_unset=True)
    for key in ("title", "deadline"):
        if key in changes and changes[key] is None:
            raise ValidationFailed(f"{key}: may not be null")
    if "title" in changes:
        title = (data.title or "").strip()
        if not title:
            raise ValidationFailed("title: must not be blank")
        p.title = title
    if "description" in changes:
        p.description = data.description
    if data.deadline is not None:
        p.deadline = _deadline(ctx, data.deadline)
    p.version += 1
    p.updated_at = func.now()
    updated(ctx, p, ENTITY, before, refresh=True)
    return p


def _lock_open(ctx: Ctx, purchase_id: int) -> tuple[Purchase, Period]:
    """The purchase locked FOR UPDATE (after its period, shared), still OPEN (409 otherwise)."""
    p = get_purchase(ctx, purchase_id)
    period = open_period_for_write(ctx, p.period_id)
    p = get_purchase(ctx, purchase_id, lock=True)
    if p.status != OPEN:
        raise Conflict(f"Purchase {p.id} '{p.title}' is {p.status}: its items can no longer change")
    return p, period


def _lock_for_items(ctx: Ctx, purchase_id: int) -> Purchase:
    p, _ = _lock_open(ctx, purchase_id)
    if not ctx.actor.is_admin and not accepting_items(p):
        raise Conflict(
            f"Purchase {p.id} '{p.title}' closed for orders at its deadline "
            f"{p.deadline.astimezone(ZoneInfo(ctx.community.timezone)).isoformat()}"
        )
    return p


# ---------------------------------------------------------------- items (owners and admins)


def _acting_owner(ctx: Ctx) -> Owner | None:
    if ctx.actor.owner_pk is None:
        return None
    owner = ctx.session.get(Owner, ctx.actor.owner_pk)
    if owner is None or owner.community_id != ctx.community_id:
        raise Forbidden("This Telegram user is not an owner of the community")
    return owner


def _item_owner(ctx: Ctx, owner_id: int | None, *, default: Owner | None) -> Owner | None:
    """Whose item: an owner may name only themselves (403 otherwise); an admin anyone (an
    unknown owner is created, as for any transaction), or nobody: an item for everyone."""
    if ctx.actor.role == Role.OWNER:
        assert default is not None
        if owner_id is not None and owner_id != default.owner_id:
            raise Forbidden("An owner may add items only for themselves")
        return default
    if not ctx.actor.is_admin:
        raise Forbidden("Only the community's owners and admins may order items")
    if owner_id is None:
        return default
    return resolve_owner(ctx, owner_id)


def _priced(ctx: Ctx, raw: dict[str, Any]) -> tuple[SplitItem, int]:
    return parse_item(raw, "item", currency_exponent(ctx.currency))


def add_item(ctx: Ctx, purchase_id: int, data: s.ItemCreate) -> s.ItemOut:
    me = _acting_owner(ctx)
    if ctx.actor.role == Role.OWNER and me is None:
        raise Forbidden("This Telegram user is not an owner of the community")
    # Validation before any lock: a bad item is a 400 whatever the list's state.
    item, cost = _priced(
        ctx, {"description": data.description, "price": data.price, "quantity": data.quantity}
    )
    owner = _item_owner(ctx, data.owner_id, default=me)
    p = _lock_for_items(ctx, purchase_id)
    row = PurchaseItem(
        community_id=ctx.community_id,
        purchase_id=p.id,
        owner_pk=owner.id if owner else None,
        description=(data.description or "").strip() or None,
        price=item.price,
        quantity=item.quantity,
        cost_minor=cost,
        created_by=ctx.actor.label,
        version=1,
    )
    created(ctx, row, ITEM_ENTITY, refresh=True)
    return item_out(ctx, row, owner.owner_id if owner else None)


def _load_item(ctx: Ctx, item_id: int) -> tuple[PurchaseItem, Purchase]:
    """The item, its purchase locked and open for this actor. An owner touching another's item
    (or one for everyone) gets 404, whatever the list's state."""
    item = ctx.session.scalar(q.ITEM, {"item_id": item_id, "c": ctx.community_id})
    mine = item is not None and item.owner_pk is not None and item.owner_pk == ctx.actor.owner_pk
    if item is None or (ctx.actor.role == Role.OWNER and not mine):
        raise NotFound(f"Item {item_id} not found")
    if not ctx.actor.is_admin and ctx.actor.role != Role.OWNER:
        raise Forbidden("Only the community's owners and admins may change items")
    p = _lock_for_items(ctx, item.purchase_id)
    item = ctx.session.scalar(q.ITEM, {"item_id": item_id, "c": ctx.community_id})
    if item is None:  # deleted while we waited for the lock
        raise NotFound(f"Item {item_id} not found")
    return item, p


def patch_item(ctx: Ctx, item_id: int, data: s.ItemPatch) -> s.ItemOut:
    changes = data.model_dump(exclude_unset=True)
    for key in ("price", "quantity"):
        if key in changes and changes[key] is None:
            raise ValidationFailed(f"{key}: may not be null")
    item, _ = _load_item(ctx, item_id)
    before = snapshot(item)
    priced, cost = _priced(
        ctx,
        {
            "description": changes.get("description", item.description),
            "price": changes.get("price", item.price),
            "quantity": changes.get("quantity", item.quantity),
        },
    )
    if "owner_id" in changes:
        if ctx.actor.role == Role.OWNER:
            me = _acting_owner(ctx)
            if data.owner_id is not None and me is not None and data.owner_id != me.owner_id:
                raise Forbidden("An owner may not give their item to another owner")
        else:  # an admin: anyone, or None for an item for everyone
            owner = resolve_owner(ctx, data.owner_id) if data.owner_id is not None else None
            item.owner_pk = owner.id if owner else None
    if "description" in changes:
        item.description = (data.description or "").strip() or None
    item.price, item.quantity, item.cost_minor = priced.price, priced.quantity, cost
    item.version += 1
    item.updated_at = func.now()
    updated(ctx, item, ITEM_ENTITY, before, refresh=True)
    holder = ctx.session.get(Owner, item.owner_pk) if item.owner_pk else None
    return item_out(ctx, item, holder.owner_id if holder else None)


def delete_item(ctx: Ctx, item_id: int) -> None:
    item, _ = _load_item(ctx, item_id)
    before = snapshot(item)
    ctx.session.delete(item)
    ctx.session.flush()
    record(ctx, f"{ITEM_ENTITY}.delete", ITEM_ENTITY, item_id, before=before)


# ---------------------------------------------------------------- finalize


@dataclass(frozen=True)
class Finalized:
    purchase: Purchase
    expense: Expense
    shares: dict[int, tuple[int, int]]  # owner_id -> (items, share) in minor units


def _split_of(ctx: Ctx, purchase_id: int) -> tuple[dict[str, Any], dict[int, int]]:
    """The ITEM_BASED split of the items, and each owner's items sum (owner_id -> minor)."""
    items = []
    own: dict[int, int] = {}
    for item, owner_id in ctx.session.execute(q.ITEMS, {"purchase_id": purchase_id}):
        items.append(
            {
                "description": item.description,
                "price": _plain(item.price),
                "quantity": _plain(item.quantity),
                "owner_id": owner_id,
            }
        )
        if owner_id is not None:
            own[owner_id] = own.get(owner_id, 0) + item.cost_minor
    if not own:
        raise ValidationFailed(
            f"Purchase {purchase_id} has no items with an owner: nothing to finalize"
        )
    return {"strategy": Strategy.ITEM_BASED.value, "items": items}, own


def _shares(ctx: Ctx, e: Expense, own: dict[int, int]) -> dict[int, tuple[int, int]]:
    assert e.split is not None
    exp = currency_exponent(ctx.currency)
    split = parse_split(
        e.split, amount_minor=e.amount_minor, currency_exponent=exp, active_owner_ids=list(own)
    )
    values = split_values_minor(split, exp) or {}
    return {oid: (own.get(oid, 0), int(values[oid])) for oid in split.owner_ids}


def finalize(ctx: Ctx, purchase_id: int, data: s.FinalizeIn) -> Finalized:
    """Record the purchase's ONE expense (ITEM_BASED) and close the list; idempotent: a list
    already finalized answers its expense (the same amount) or 409 (another amount)."""
    ctx.require_admin()
    p = get_purchase(ctx, purchase_id)
    if p.status == FINALIZED:
        return _already(ctx, p, data)
    period = open_period_for_write(ctx, p.period_id)
    p = get_purchase(ctx, purchase_id, lock=True)  # concurrent finalizes queue here
    if p.status == FINALIZED:
        return _already(ctx, p, data)
    split, own = _split_of(ctx, p.id)
    e = expenses.record_expense(
        ctx,
        p.period_id,
        ledger_schemas.ExpenseCreate(
            paid_by_owner_id=data.paid_by_owner_id,
            amount=data.amount,
            payment_type=(data.payment_type or p.title).strip() or p.title,
            vendor=data.vendor,
            description=p.title,
            date=data.date,
            split=split,
        ),
    )
    before = snapshot(p)
    p.status = FINALIZED
    p.expense_id = e.id
    p.finalized_at = func.now()
    p.finalized_by = ctx.actor.label
    p.version += 1
    ctx.session.flush()
    ctx.session.refresh(p)
    record(ctx, f"{ENTITY}.finalize", ENTITY, p.id, before=before, after=snapshot(p))
    shares = _shares(ctx, e, own)
    _notify_shares(ctx, p, period, e, shares)
    return Finalized(p, e, shares)


def _already(ctx: Ctx, p: Purchase, data: s.FinalizeIn) -> Finalized:
    e = ctx.session.get(Expense, p.expense_id)
    assert e is not None
    asked = to_minor(data.amount, ctx.currency)
    if asked != e.amount_minor:
        raise Conflict(
            f"Purchase {p.id} '{p.title}' is already finalized into expense {e.id} of "
            f"{format_minor(e.amount_minor, ctx.currency)}; correct that expense instead"
        )
    _, own = _split_of(ctx, p.id)
    return Finalized(p, e, _shares(ctx, e, own))


def _notify_shares(
    ctx: Ctx, p: Purchase, period: Period, e: Expense, shares: dict[int, tuple[int, int]]
) -> None:
    owners = {
        o.owner_id: o
        for o in ctx.session.scalars(
            select(Owner).where(
                Owner.community_id == ctx.community_id, Owner.owner_id.in_(list(shares))
            )
        )
    }
    for owner_id, (items, share) in shares.items():
        owner = owners.get(owner_id)
        if owner is None:
            continue
        notifications.enqueue(
            ctx.session,
            owner,
            FINALIZED_SHARE,
            f"{FINALIZED_SHARE}:{p.id}:{owner.id}",
            {
                "purchase_id": p.id,
                "expense_id": e.id,
                "title": p.title,
                "items_minor": items,
                "share_minor": share,
                "total_minor": e.amount_minor,
                "currency": ctx.currency,
                "period_name": period.name,
            },
        )


def finalized_out(ctx: Ctx, f: Finalized) -> s.FinalizeOut:
    cur = ctx.currency
    fields = _out_fields(ctx, f.purchase, _subtotals(ctx, [f.purchase.id])[f.purchase.id], cur)
    return s.FinalizeOut(
        **fields,
        expense=expenses.expense_out(ctx, f.expense),
        shares=[
            s.ShareOut(owner_id=oid, items=format_minor(items, cur), share=format_minor(share, cur))
            for oid, (items, share) in sorted(f.shares.items())
        ],
    )
