"""Statements of group purchases, built once (the SQL rule: Core statements per domain)."""

from __future__ import annotations

from sqlalchemy import (
    BigInteger,
    String,
    and_,
    bindparam,
    cast,
    func,
    literal,
    select,
)
from sqlalchemy.dialects.postgresql import JSONB, insert

from kopilka.models import Notification, Owner, Purchase, PurchaseItem

PURCHASE = (
    select(Purchase)
    .where(Purchase.id == bindparam("purchase_id"), Purchase.community_id == bindparam("c"))
    .execution_options(populate_existing=True)
)
PURCHASE_FOR_UPDATE = PURCHASE.with_for_update()

ITEM = (
    select(PurchaseItem)
    .where(PurchaseItem.id == bindparam("item_id"), PurchaseItem.community_id == bindparam("c"))
    .execution_options(populate_existing=True)
)

ITEMS = (
    select(PurchaseItem, Owner.owner_id)
    .outerjoin(Owner, Owner.id == PurchaseItem.owner_pk)
    .where(PurchaseItem.purchase_id == bindparam("purchase_id"))
    .order_by(PurchaseItem.id)
)

# Per owner (None: the items for everyone): number of items and their sum, for many purchases.
SUBTOTALS = (
    select(
        PurchaseItem.purchase_id,
        Owner.owner_id,
        Owner.name,
        func.count(),
        func.coalesce(func.sum(PurchaseItem.cost_minor), 0),
    )
    .outerjoin(Owner, Owner.id == PurchaseItem.owner_pk)
    .where(PurchaseItem.purchase_id.in_(bindparam("purchase_ids", expanding=True)))
    .group_by(PurchaseItem.purchase_id, Owner.owner_id, Owner.name)
    .order_by(PurchaseItem.purchase_id, Owner.owner_id.nulls_last())
)

LIST = (
    select(Purchase)
    .where(Purchase.community_id == bindparam("c"), Purchase.period_id == bindparam("period_id"))
    .order_by(Purchase.id)
)

_NOTIFY_COLUMNS = ("community_id", "owner_pk", "kind", "dedupe_key", "payload", "status")


def _notify_rows(where: object) -> object:
    return select(
        Owner.community_id,
        Owner.id,
        bindparam("kind", type_=String),
        bindparam("dedupe_prefix", type_=String).op("||")(cast(Owner.id, String)),
        cast(bindparam("payload", type_=JSONB), JSONB),
        literal("PENDING", String),
    ).where(
        Owner.community_id == bindparam("c", type_=BigInteger),
        Owner.is_active.is_(True),
        Owner.telegram_id.is_not(None),
        Owner.telegram_blocked_at.is_(None),
        where,  # type: ignore[arg-type]
    )


# One message to every active owner who linked Telegram (a new purchase list): one statement,
# however many owners; the dedupe key (prefix + owner) makes a repeat a no-op.
ANNOUNCE = (
    insert(Notification.__table__)  # type: ignore[arg-type]
    .from_select(_NOTIFY_COLUMNS, _notify_rows(literal(True)))  # type: ignore[arg-type]
    .on_conflict_do_nothing(index_elements=["dedupe_key"])
)

# Whether any item of the purchase has this owner.
HAS_ITEMS = select(PurchaseItem.id).where(
    and_(
        PurchaseItem.purchase_id == bindparam("purchase_id"),
        PurchaseItem.owner_pk == bindparam("owner_pk"),
    )
)
