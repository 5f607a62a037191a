"""Statements of group purchases, built once (the SQL rule: Core statements per domain)."""

from __future__ import annotations

from sqlalchemy import (
    and_,
    bindparam,
    func,
    select,
)

from kopilka.models import Owner, Purchase, PurchaseItem

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

# Whether any item of the purchase has this owner.
HAS_ITEMS = select(PurchaseItem.id).where(
    and_(
        PurchaseItem.purchase_id == bindparam("purchase_id"),
        PurchaseItem.owner_pk == bindparam("owner_pk"),
    )
)
