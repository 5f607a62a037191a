"""Contributions: an owner's payment into the fund (the hot path of the API), with the owner's
receipt queued in the same statement."""

from __future__ import annotations

from collections.abc import Sequence

from kopilka.audit.service import snapshot
from kopilka.context import Ctx, Role
from kopilka.errors import Forbidden
from kopilka.ledger import bulk
from kopilka.ledger import schemas as s
from kopilka.ledger.bulk import ContributionRow
from kopilka.ledger.posting import (
    DocumentKind,
    Posting,
    apply_changes,
    booking_date,
    finish_edit,
    insert_document,
    load_for_edit,
    not_null,
    owned,
    owner_ids,
    positive_amount,
)
from kopilka.ledger.receipts import receipt_payload
from kopilka.models import Contribution, Owner
from kopilka.money import format_minor
from kopilka.notifications import service as notifications
from kopilka.owners.service import resolve_owner
from kopilka.periods.service import open_period_for_owner_write


def postings(c: Contribution) -> list[Posting]:
    kind = "OPENING_CREDIT" if c.opening_from_period_id else "CONTRIBUTION"
    return [(c.owner_pk, kind, c.amount_minor)]


CONTRIBUTION = DocumentKind(Contribution, "contribution", "Contribution", postings)


def contribution_out(ctx: Ctx, c: Contribution, owner_id: int | None = None) -> s.ContributionOut:
    if owner_id is None:
        owner_id = owner_ids(ctx.session, [c.owner_pk])[c.owner_pk]
    return s.ContributionOut(
        id=c.id,
        period_id=c.period_id,
        owner_id=owner_id,
        amount=format_minor(c.amount_minor, ctx.currency),
        date=c.date,
        comment=c.comment,
        is_opening=c.opening_from_period_id is not None,
        created_at=c.created_at,
        version=c.version,
    )


def _own_owner(ctx: Ctx) -> Owner | None:
    """For an owner-role actor, their own Owner row; None for anyone else."""
    if ctx.actor.role != Role.OWNER:
        return None
    owner = ctx.session.get(Owner, ctx.actor.owner_pk)
    if owner is None or owner.community_id != ctx.community_id:
        raise Forbidden("This Telegram user is not an owner of the community")
    return owner


def record_contribution(ctx: Ctx, period_id: int, data: s.ContributionCreate) -> s.ContributionOut:
    """Record a contribution (with its ledger entry, audit entry and the owner's receipt); the
    answer as the API gives it."""
    if ctx.actor.role not in (Role.ADMIN, Role.SYSTEM, Role.OWNER):
        raise Forbidden("Only admins and owners record contributions")
    # Who may record for whom comes first: an owner naming someone else is 403 whatever the
    # amount or the period's state.
    own = _own_owner(ctx)
    if own is not None and data.owner_id != own.owner_id:
        raise Forbidden("An owner may record only their own contributions")
    amount = positive_amount(ctx, data.amount)
    period, named = open_period_for_owner_write(ctx, period_id, data.owner_id)
    day = booking_date(ctx, period, data.date)
    owner = own if own is not None else resolve_owner(ctx, data.owner_id, found=named)
    c = Contribution(
        community_id=ctx.community_id,
        period_id=period.id,
        owner_pk=owner.id,
        amount_minor=amount,
        date=day,
        comment=data.comment,
        created_by=ctx.actor.label,
    )
    receipt = None
    if notifications.reachable(owner):
        receipt = notifications.Pending(
            owner,
            notifications.RECEIPT,
            dedupe_prefix="receipt:",
            id_key="contribution_id",
            payload=receipt_payload(amount, ctx.currency, period.name, day, data.comment),
        )
    c = insert_document(ctx, period, CONTRIBUTION, c, receipt)
    return contribution_out(ctx, c, owner.owner_id)


def record_contributions(ctx: Ctx, rows: Sequence[ContributionRow]) -> dict[int, int]:
    """Many contributions at once (a bank statement's lines): the same document, ledger entry,
    audit entry and receipt as ``record_contribution``, set-based. The caller holds the periods'
    shared locks and has checked them OPEN and the dates in them."""
    return bulk.record_contributions(ctx, rows)


def patch_contribution(
    ctx: Ctx, doc_id: int, data: s.ContributionPatch, if_match: int | None = None
) -> Contribution:
    ctx.require_admin()
    c, period = load_for_edit(ctx, CONTRIBUTION, doc_id, if_match)
    before = snapshot(c)
    changes = data.model_dump(exclude_unset=True)
    not_null(changes, "owner_id", "amount", "date")
    apply_changes(ctx, period, c, data, changes)
    if "comment" in changes:
        c.comment = data.comment
    finish_edit(ctx, CONTRIBUTION, c, period, before)
    return c


def list_contributions(
    ctx: Ctx, period_id: int, *, owner_id: int | None, after: int | None, limit: int
) -> list[tuple[Contribution, int | None]]:
    return owned(
        ctx, CONTRIBUTION, period_id, Contribution.owner_pk,
        owner_id=owner_id, after=after, limit=limit,
    )  # fmt: skip
