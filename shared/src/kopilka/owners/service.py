"""Owners: the members who pay. Created by an admin, or on their first transaction."""

from __future__ import annotations

from decimal import Decimal
from fractions import Fraction

from sqlalchemy import bindparam, select
from sqlalchemy.dialects.postgresql import insert

from kopilka.audit.service import created, record, snapshot, updated
from kopilka.context import Ctx, Role
from kopilka.errors import Conflict, NotFound, ValidationFailed, check_version
from kopilka.models import Owner
from kopilka.owners.schemas import OwnerCreate, OwnerOut, OwnerPatch
from kopilka.plots.consumption import derived_weights, exact_text


def owner_out(ctx: Ctx, owner: Owner, weights: dict[int, Fraction] | None = None) -> OwnerOut:
    """The owner as the API shows it. An owner with active plots shows the share weight derived
    from them (SPEC §3a), the one the allocation uses; ``weights``: derived_weights() when the
    caller already has them (a list)."""
    derived = weights if weights is not None else derived_weights(ctx.session, ctx.community_id)
    from_plots = derived.get(owner.id)
    return OwnerOut(
        owner_id=owner.owner_id,
        name=owner.name,
        share_weight=(
            exact_text(from_plots)
            if from_plots is not None
            else format(owner.share_weight.normalize(), "f")
        ),
        share_weight_from_plots=from_plots is not None,
        telegram_id=owner.telegram_id,
        language=owner.language,
        is_active=owner.is_active,
        telegram_reachable=owner.telegram_id is not None and owner.telegram_blocked_at is None,
        created_at=owner.created_at,
    )


def owners_out(ctx: Ctx, owners: list[Owner]) -> list[OwnerOut]:
    """Many owners, the plots' weights read once."""
    weights = derived_weights(ctx.session, ctx.community_id)
    return [owner_out(ctx, o, weights) for o in owners]


_OWNER = select(Owner).where(
    Owner.community_id == bindparam("community_id"), Owner.owner_id == bindparam("owner_id")
)


def find_owner(ctx: Ctx, owner_id: int) -> Owner | None:
    return ctx.session.scalar(_OWNER, {"community_id": ctx.community_id, "owner_id": owner_id})


def get_owner(ctx: Ctx, owner_id: int) -> Owner:
    """An owner of this community; an owner-role actor sees only themselves (404 otherwise)."""
    owner = find_owner(ctx, owner_id)
    if owner is None or (ctx.actor.role == Role.OWNER and owner.id != ctx.actor.owner_pk):
        raise NotFound(f"Owner {owner_id} not found")
    return owner


def resolve_owner(ctx: Ctx, owner_id: int, *, field: str = "owner_id") -> Owner:
    """The owner a transaction names; an unknown one is created (weight 1) unless forbidden."""
    if owner_id < 1:
        raise ValidationFailed(f"{field}: must be a positive integer")
    owner = find_owner(ctx, owner_id)
    if owner is not None:
        return owner
    if not ctx.community.auto_create_owners:
        raise ValidationFailed(
            f"{field}: owner {owner_id} is not a member of this community "
            "(this community does not create owners on their first transaction)"
        )
    stmt = (
        insert(Owner)
        .values(community_id=ctx.community_id, owner_id=owner_id, share_weight=Decimal(1))
        .on_conflict_do_nothing(index_elements=["community_id", "owner_id"])
        .returning(Owner.id)
    )
    new_pk = ctx.session.execute(stmt).scalar()
    owner = find_owner(ctx, owner_id)
    assert owner is not None
    if new_pk is not None:
        record(ctx, "owner.auto_create", "owner", owner_id, after=snapshot(owner))
    return owner


def create_owner(ctx: Ctx, data: OwnerCreate) -> Owner:
    ctx.require_admin()
    if find_owner(ctx, data.owner_id) is not None:
        raise Conflict(f"Owner {data.owner_id} already exists in this community")
    owner = Owner(community_id=ctx.community_id, **data.model_dump())
    created(ctx, owner, "owner", entity_id=owner.owner_id)
    return owner


def patch_owner(ctx: Ctx, owner_id: int, data: OwnerPatch, if_match: int | None = None) -> Owner:
    ctx.require_admin()
    owner = get_owner(ctx, owner_id)
    ctx.session.refresh(owner, with_for_update=True)
    check_version(f"Owner {owner_id}", owner.version, if_match)
    before = snapshot(owner)
    changes = data.model_dump(exclude_unset=True)
    for key in ("share_weight", "is_active"):
        if key in changes and changes[key] is None:
            raise ValidationFailed(f"{key}: may not be null")
    if "share_weight" in changes and owner.id in derived_weights(ctx.session, ctx.community_id):
        raise Conflict(
            f"Owner {owner_id}'s share weight is derived from their plots (SPEC §3a); "
            "change the plots' weights or the owners' fractions instead"
        )
    for key, value in changes.items():
        setattr(owner, key, value)
    if "telegram_id" in changes:
        owner.telegram_blocked_at = None
    owner.version += 1
    updated(ctx, owner, "owner", before, entity_id=owner.owner_id)
    return owner


def list_owners(ctx: Ctx, *, after: int | None, limit: int) -> list[Owner]:
    q = select(Owner).where(Owner.community_id == ctx.community_id)
    if ctx.actor.role == Role.OWNER:
        q = q.where(Owner.id == ctx.actor.owner_pk)
    if after is not None:
        q = q.where(Owner.owner_id > after)
    return list(ctx.session.scalars(q.order_by(Owner.owner_id).limit(limit + 1)))


def acting_owner(ctx: Ctx) -> Owner | None:
    """The owner the caller is (a Telegram user signed in as an owner), else None."""
    pk = ctx.actor.owner_pk
    return ctx.session.get(Owner, pk) if pk is not None else None
