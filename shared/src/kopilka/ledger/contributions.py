"""Contributions: an owner's payment into the fund (the hot path of the API), with the owner's
receipt queued in the same statement."""

from __future__ import annotations

from collections.abc import Sequence

from kopilka.context import Ctx, Role
from kopilka.errors import Forbidden
from kopilka.ledger import bulk, posting
from kopilka.ledger import schemas as s
from kopilka.ledger.bulk import ContributionRow
from kopilka.ledger.receipts import receipt_payload
from kopilka.models import Contribution, Owner, OwnerFacts
from kopilka.money import format_minor
from kopilka.notifications import service as notifications
from kopilka.owners.service import resolve_owner
from kopilka.periods.service import open_period_for_owner_write

CONTRIBUTION = posting.DocumentKind(
    Contribution, "contribution", "Contribution",
    posting.one_owner("CONTRIBUTION", opening="OPENING_CREDIT"),
    required=("owner_id", "amount", "date"), plain=("comment",), apply=posting.apply_changes,
)  # fmt: skip


def contribution_out(ctx: Ctx, c: Contribution, owner_id: int | None = None) -> s.ContributionOut:
    return s.ContributionOut(
        **posting.out_fields(ctx, c, owner_id),
        amount=format_minor(c.amount_minor, ctx.currency),
        comment=c.comment,
        is_opening=c.opening_from_period_id is not None,
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
    amount = posting.positive_amount(ctx, data.amount)
    period, named = open_period_for_owner_write(ctx, period_id, data.owner_id)
    day = posting.booking_date(ctx, period, data.date)
    # the caller's own row, else the one read with the period, else found or created
    owner: OwnerFacts = own or named or resolve_owner(ctx, data.owner_id)
    c = posting.document(
        ctx, period, Contribution,
        owner_pk=owner.id, amount_minor=amount, date=day, comment=data.comment,
    )  # fmt: skip
    receipt = None
    if notifications.reachable(owner):
        receipt = notifications.Pending(
            owner,
            notifications.RECEIPT,
            dedupe_prefix="receipt:",
            id_key="contribution_id",
            payload=receipt_payload(amount, ctx.currency, period.name, day, data.comment),
        )
    c = posting.insert_document(ctx, period, CONTRIBUTION, c, receipt)
    return contribution_out(ctx, c, owner.owner_id)


def record_contributions(ctx: Ctx, rows: Sequence[ContributionRow]) -> dict[int, int]:
    """Many contributions at once (a bank statement's lines): the same document, ledger entry,
    audit entry and receipt as ``record_contribution``, set-based. The caller holds the periods'
    shared locks and has checked them OPEN and the dates in them."""
    return bulk.record_contributions(ctx, rows)


def list_contributions(
    ctx: Ctx, period_id: int, *, owner_id: int | None, after: int | None, limit: int
) -> list[tuple[Contribution, int | None]]:
    return posting.owned(ctx, CONTRIBUTION, period_id, owner_id=owner_id, after=after, limit=limit)
