"""Recording money: contributions, expenses, service charges, settlements; and the non-money
inputs of allocation: meter readings and budget items.

Only an OPEN period accepts new or edited transactions. A document keeps a stable id; each change
of money posts to the append-only ledger (a reversal of what stood, then the new posting), and the
audit log gets the before and after."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal
from functools import lru_cache
from typing import Any, TypeVar

from sqlalchemy import (
    BigInteger,
    Float,
    Numeric,
    String,
    Table,
    bindparam,
    cast,
    func,
    insert,
    literal,
    select,
    union_all,
)
from sqlalchemy import inspect as sa_inspect
from sqlalchemy.orm import Session
from sqlalchemy.orm.util import identity_key

from kopilka import allocation
from kopilka.audit.service import record, snapshot
from kopilka.context import Ctx, Role
from kopilka.db import bound_values
from kopilka.errors import Conflict, Forbidden, NotFound, PreconditionFailed, ValidationFailed
from kopilka.ledger import schemas as s
from kopilka.models import (
    AuditEntry,
    BudgetItem,
    Contribution,
    Expense,
    LedgerEntry,
    MeterReading,
    Owner,
    Period,
    ServiceCharge,
    Settlement,
)
from kopilka.money import currency_exponent, format_minor, to_minor
from kopilka.notifications import service as notifications
from kopilka.owners.service import resolve_owner
from kopilka.periods.service import (
    check_date_in_period,
    get_period,
    open_period_for_owner_write,
    open_period_for_write,
)

Doc = TypeVar("Doc", Contribution, Expense, ServiceCharge, Settlement, MeterReading, BudgetItem)
Posting = tuple[int, str, int]  # owner_pk, ledger kind, amount in minor units

# ---------------------------------------------------------------- ledger postings


def _post(
    ctx: Ctx, period: Period, source: str, source_id: int, postings: Sequence[Posting]
) -> None:
    rows = [
        {
            "community_id": period.community_id,
            "period_id": period.id,
            "owner_pk": owner_pk,
            "kind": kind,
            "amount_minor": amount,
            "source_type": source,
            "source_id": source_id,
        }
        for owner_pk, kind, amount in postings
        if amount
    ]
    if rows:
        ctx.session.execute(insert(LedgerEntry), rows)


def _reverse(ctx: Ctx, period: Period, source: str, source_id: int) -> None:
    """Post the negation of whatever the source's entries add up to now."""
    rows = ctx.session.execute(
        select(LedgerEntry.owner_pk, LedgerEntry.kind, func.sum(LedgerEntry.amount_minor))
        .where(LedgerEntry.source_type == source, LedgerEntry.source_id == source_id)
        .group_by(LedgerEntry.owner_pk, LedgerEntry.kind)
    ).all()
    for owner_pk, kind, total in rows:
        if total:
            ctx.session.add(
                LedgerEntry(
                    community_id=period.community_id,
                    period_id=period.id,
                    owner_pk=owner_pk,
                    kind=kind,
                    amount_minor=-int(total),
                    source_type=source,
                    source_id=source_id,
                )
            )


def _postings(doc: Any) -> list[Posting]:
    if isinstance(doc, Contribution):
        kind = "OPENING_CREDIT" if doc.opening_from_period_id else "CONTRIBUTION"
        return [(doc.owner_pk, kind, doc.amount_minor)]
    if isinstance(doc, ServiceCharge):
        kind = "OPENING_DEBT" if doc.opening_from_period_id else "SERVICE_CHARGE"
        return [(doc.owner_pk, kind, doc.amount_minor)]
    if isinstance(doc, Expense):
        if doc.paid_by_owner_pk is None:
            return []
        return [(doc.paid_by_owner_pk, "EXPENSE_PAID", doc.amount_minor)]
    if isinstance(doc, Settlement):
        return [
            (doc.from_owner_pk, "SETTLEMENT_PAID", doc.amount_minor),
            (doc.to_owner_pk, "SETTLEMENT_RECEIVED", doc.amount_minor),
        ]
    return []


# ---------------------------------------------------------------- shared checks


def positive_amount(ctx: Ctx, value: Decimal, field: str = "amount") -> int:
    minor = to_minor(value, ctx.currency, field)
    if minor <= 0:
        raise ValidationFailed(f"{field}: must be greater than zero")
    return minor


def _date(ctx: Ctx, period: Period, value: date | datetime | None) -> date:
    day = ctx.local_date(value) if value is not None else ctx.today()
    if value is None and not (period.start_date <= day <= period.end_date):
        # "now" outside the period: book on the nearest day of the period.
        day = min(max(day, period.start_date), period.end_date)
    check_date_in_period(period, day)
    return day


def _not_null(changes: dict[str, Any], *keys: str) -> None:
    """A PATCH may leave a field out, but may not blank one that every document has."""
    for key in keys:
        if key in changes and changes[key] is None:
            raise ValidationFailed(f"{key}: may not be null")


def _owner_ids(session: Session, pks: Sequence[int | None]) -> dict[int, int]:
    """owner_pk -> owner_id; owners the request already loaded cost no query."""
    out: dict[int, int] = {}
    missing = set()
    for pk in pks:
        if pk is None:
            continue
        known = session.identity_map.get(identity_key(Owner, pk))
        if known is not None:
            out[pk] = known.owner_id
        else:
            missing.add(pk)
    if missing:
        rows = session.execute(select(Owner.id, Owner.owner_id).where(Owner.id.in_(missing)))
        out.update({pk: oid for pk, oid in rows})
    return out


@dataclass(frozen=True)
class Kind:
    model: type[Any]
    entity: str
    label: str


KINDS: dict[type[Any], Kind] = {
    Contribution: Kind(Contribution, "contribution", "Contribution"),
    Expense: Kind(Expense, "expense", "Expense"),
    ServiceCharge: Kind(ServiceCharge, "service_charge", "Service charge"),
    Settlement: Kind(Settlement, "settlement", "Settlement"),
    MeterReading: Kind(MeterReading, "meter_reading", "Meter reading"),
    BudgetItem: Kind(BudgetItem, "budget_item", "Budget item"),
}


def _load_for_edit(
    ctx: Ctx, model: type[Doc], doc_id: int, if_match: int | None
) -> tuple[Doc, Period]:
    """The live document of this community, its period locked and OPEN; checks If-Match."""
    kind = KINDS[model]
    doc = ctx.session.scalar(
        select(model).where(model.id == doc_id, model.community_id == ctx.community_id)
    )
    if doc is None or doc.deleted_at is not None:
        raise NotFound(f"{kind.label} {doc_id} not found")
    period = open_period_for_write(ctx, doc.period_id)
    ctx.session.refresh(doc, with_for_update=True)
    if doc.deleted_at is not None:
        raise NotFound(f"{kind.label} {doc_id} not found")
    if if_match is not None and if_match != doc.version:
        raise PreconditionFailed(
            f"{kind.label} {doc_id} has changed (version {doc.version}, you sent {if_match}); "
            "read it again and retry"
        )
    if getattr(doc, "opening_from_period_id", None):
        raise Conflict(
            f"{kind.label} {doc_id} is an opening entry of a carry-forward; "
            "correct the source period and carry forward again"
        )
    return doc, period


def _insert(ctx: Ctx, period: Period, doc: Doc, notify: notifications.Pending | None = None) -> Doc:
    """Store a new document, post its money to the ledger, audit its creation and queue the
    owner's message (``notify``), in ONE statement (data-modifying CTEs): the hot path of every
    recorded payment costs one round trip and no unit-of-work flush. Returns the stored document
    (persistent, with its id and server defaults); ``doc`` is only the template of the values."""
    model = type(doc)
    params: dict[str, Any] = {}
    for attr in sa_inspect(model).column_attrs:
        column = attr.columns[0]
        value = getattr(doc, attr.key)
        if value is None and column.default is not None and column.default.is_scalar:
            value = column.default.arg  # Python-side defaults (a CTE does not apply them)
        if value is not None:
            params[f"v_{column.name}"] = value
    postings = [p for p in _postings(doc) if p[2]]
    for i, (owner_pk, entry_kind, amount) in enumerate(postings):
        params.update({f"p{i}_owner": owner_pk, f"p{i}_kind": entry_kind, f"p{i}_amount": amount})
    params.update(
        community_id=period.community_id,
        period_id=period.id,
        actor_community_id=ctx.actor.community_id,
        actor=ctx.actor.label,
        request_id=ctx.request_id,
    )
    if notify is not None:
        params.update(notify.params())
    columns = tuple(k[2:] for k in params if k.startswith("v_"))
    stmt = _insert_statement(model, columns, len(postings), notify is not None)
    stored: Doc = ctx.session.scalars(stmt, params).one()
    return stored


@lru_cache(maxsize=256)
def _insert_statement(
    model: type[Any], columns: tuple[str, ...], postings: int, notify: bool
) -> Any:
    """The statement of ``_insert`` for one shape of document, built once: its values are bind
    parameters, so SQLAlchemy neither rebuilds nor re-keys it on every request."""
    kind = KINDS[model]
    table: Table = model.__table__
    mapper = sa_inspect(model)
    new = (
        insert(table)
        .values(bound_values(table, columns, prefix="v_"))
        .returning(*table.c)
        .cte(f"new_{kind.entity}")
    )
    ctes = []
    if postings:
        rows = union_all(
            *(
                select(
                    bindparam("community_id", type_=BigInteger),
                    bindparam("period_id", type_=BigInteger),
                    bindparam(f"p{i}_owner", type_=BigInteger),
                    bindparam(f"p{i}_kind", type_=String),
                    bindparam(f"p{i}_amount", type_=BigInteger),
                    literal(kind.entity, String),
                    new.c.id,
                )
                for i in range(postings)
            )
        )
        names = [
            "community_id", "period_id", "owner_pk", "kind", "amount_minor", "source_type",
            "source_id",
        ]  # fmt: skip
        ctes.append(insert(LedgerEntry).from_select(names, rows).cte("posted"))
    after = func.jsonb_build_object(
        *(
            part
            for attr in mapper.column_attrs
            for part in (
                literal(attr.key, String),
                _json_safe(new.c[attr.columns[0].name], attr.columns[0].type),
            )
        )
    )
    ctes.append(
        insert(AuditEntry)
        .from_select(
            ["community_id", "actor", "action", "entity", "entity_id", "after", "request_id"],
            select(
                bindparam("actor_community_id", type_=BigInteger),
                bindparam("actor", type_=String),
                literal(f"{kind.entity}.create", String),
                literal(kind.entity, String),
                cast(new.c.id, String),
                after,
                bindparam("request_id", type_=String),
            ),
        )
        .cte("audited")
    )
    if notify:
        ctes.append(notifications.queued(new.c.id))
    return select(model).from_statement(select(new).add_cte(*ctes))


def _json_safe(column: Any, type_: Any) -> Any:
    """What ``snapshot`` makes of a value: exact decimals as strings, the rest as JSON."""
    if isinstance(type_, Numeric) and not isinstance(type_, Float):
        return cast(column, String)
    return column


def _finish_edit(ctx: Ctx, doc: Any, period: Period, before: dict[str, Any]) -> None:
    kind = KINDS[type(doc)]
    doc.version += 1
    doc.updated_at = func.now()
    ctx.session.flush()
    ctx.session.refresh(doc)
    if _postings(doc) or before.get("amount_minor") is not None:
        _reverse(ctx, period, kind.entity, doc.id)
        _post(ctx, period, kind.entity, doc.id, _postings(doc))
    record(ctx, f"{kind.entity}.update", kind.entity, doc.id, before=before, after=snapshot(doc))


def delete_document(ctx: Ctx, model: type[Any], doc_id: int, if_match: int | None = None) -> None:
    ctx.require_admin()
    doc, period = _load_for_edit(ctx, model, doc_id, if_match)
    kind = KINDS[model]
    before = snapshot(doc)
    doc.deleted_at = func.now()
    doc.deleted_by = ctx.actor.label
    doc.version += 1
    ctx.session.flush()
    ctx.session.refresh(doc)
    _reverse(ctx, period, kind.entity, doc.id)
    # "after" is the deleted document: who deleted it and when stay in the audit log.
    record(ctx, f"{kind.entity}.delete", kind.entity, doc.id, before=before, after=snapshot(doc))


def _live(model: type[Doc], ctx: Ctx, period_id: int) -> Any:
    return select(model).where(
        model.community_id == ctx.community_id,
        model.period_id == period_id,
        model.deleted_at.is_(None),
    )


def _page(q: Any, model: type[Any], after: int | None, limit: int) -> Any:
    if after is not None:
        q = q.where(model.id > after)
    return q.order_by(model.id).limit(limit + 1)


# ---------------------------------------------------------------- contributions


def contribution_out(ctx: Ctx, c: Contribution, owner_id: int | None = None) -> s.ContributionOut:
    if owner_id is None:
        owner_id = _owner_ids(ctx.session, [c.owner_pk])[c.owner_pk]
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
    day = _date(ctx, period, data.date)
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
            payload={
                "amount_minor": amount,
                "currency": ctx.currency,
                "period_name": period.name,
                "date": day.isoformat(),
                "comment": data.comment,
            },
        )
    c = _insert(ctx, period, c, receipt)
    return contribution_out(ctx, c, owner.owner_id)


def patch_contribution(
    ctx: Ctx, doc_id: int, data: s.ContributionPatch, if_match: int | None = None
) -> Contribution:
    ctx.require_admin()
    c, period = _load_for_edit(ctx, Contribution, doc_id, if_match)
    before = snapshot(c)
    changes = data.model_dump(exclude_unset=True)
    _not_null(changes, "owner_id", "amount", "date")
    if changes.get("amount") is not None:
        c.amount_minor = positive_amount(ctx, data.amount)  # type: ignore[arg-type]
    if changes.get("date") is not None:
        c.date = _date(ctx, period, data.date)
    if "comment" in changes:
        c.comment = data.comment
    if changes.get("owner_id") is not None:
        c.owner_pk = resolve_owner(ctx, data.owner_id).id  # type: ignore[arg-type]
    _finish_edit(ctx, c, period, before)
    return c


def list_contributions(
    ctx: Ctx, period_id: int, *, owner_id: int | None, after: int | None, limit: int
) -> list[tuple[Contribution, int]]:
    get_period(ctx, period_id)
    q = _live(Contribution, ctx, period_id).join(Owner, Owner.id == Contribution.owner_pk)
    q = q.add_columns(Owner.owner_id)
    if ctx.actor.role == Role.OWNER:
        q = q.where(Contribution.owner_pk == ctx.actor.owner_pk)
    if owner_id is not None:
        q = q.where(Owner.owner_id == owner_id)
    return [(c, oid) for c, oid in ctx.session.execute(_page(q, Contribution, after, limit))]


# ---------------------------------------------------------------- expenses


def expense_out(ctx: Ctx, e: Expense, paid_by: int | bool | None = False) -> s.ExpenseOut:
    if paid_by is False:
        paid_by = _owner_ids(ctx.session, [e.paid_by_owner_pk]).get(e.paid_by_owner_pk or 0)
    return s.ExpenseOut(
        id=e.id,
        period_id=e.period_id,
        paid_by_owner_id=paid_by if isinstance(paid_by, int) and paid_by is not True else None,
        amount=format_minor(e.amount_minor, ctx.currency),
        payment_type=e.payment_type,
        vendor=e.vendor,
        description=e.description,
        date=e.date,
        split=e.split,
        created_at=e.created_at,
        version=e.version,
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
    split = allocation.parse_split(
        raw,
        amount_minor=amount,
        currency_exponent=currency_exponent(ctx.currency),
        active_owner_ids=_active_owner_ids(ctx),
    )
    return allocation.split_to_json(split)


def record_expense(ctx: Ctx, period_id: int, data: s.ExpenseCreate) -> Expense:
    ctx.require_admin()
    amount = positive_amount(ctx, data.amount)
    payment_type = data.payment_type.strip()
    if not payment_type:
        raise ValidationFailed("payment_type: must not be blank")
    period = open_period_for_write(ctx, period_id)
    day = _date(ctx, period, data.date)
    payer = (
        resolve_owner(ctx, data.paid_by_owner_id, field="paid_by_owner_id")
        if data.paid_by_owner_id is not None
        else None
    )
    split = _validated_split(ctx, data.split, amount)
    e = Expense(
        community_id=ctx.community_id,
        period_id=period.id,
        paid_by_owner_pk=payer.id if payer else None,
        amount_minor=amount,
        payment_type=payment_type,
        vendor=data.vendor,
        description=data.description,
        date=day,
        split=split,
        created_by=ctx.actor.label,
    )
    e = _insert(ctx, period, e)
    return e


def patch_expense(
    ctx: Ctx, doc_id: int, data: s.ExpensePatch, if_match: int | None = None
) -> Expense:
    ctx.require_admin()
    e, period = _load_for_edit(ctx, Expense, doc_id, if_match)
    before = snapshot(e)
    changes = data.model_dump(exclude_unset=True)
    _not_null(changes, "amount", "payment_type", "date")
    if changes.get("amount") is not None:
        e.amount_minor = positive_amount(ctx, data.amount)  # type: ignore[arg-type]
    if changes.get("payment_type") is not None:
        pt = (data.payment_type or "").strip()
        if not pt:
            raise ValidationFailed("payment_type: must not be blank")
        e.payment_type = pt
    for key in ("vendor", "description"):
        if key in changes:
            setattr(e, key, changes[key])
    if changes.get("date") is not None:
        e.date = _date(ctx, period, data.date)
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
    _finish_edit(ctx, e, period, before)
    return e


def list_expenses(
    ctx: Ctx, period_id: int, *, paid_by: int | None, after: int | None, limit: int
) -> list[tuple[Expense, int | None]]:
    # Who paid what to which vendor is the treasurer's book; owners see the period's totals
    # (the balance sheet's pools and the budget items), not the expense list.
    ctx.require_admin()
    get_period(ctx, period_id)
    q = _live(Expense, ctx, period_id).outerjoin(Owner, Owner.id == Expense.paid_by_owner_pk)
    q = q.add_columns(Owner.owner_id)
    if paid_by is not None:
        q = q.where(Owner.owner_id == paid_by)
    return [(e, oid) for e, oid in ctx.session.execute(_page(q, Expense, after, limit))]


# ---------------------------------------------------------------- service charges


def charge_out(ctx: Ctx, c: ServiceCharge, owner_id: int | None = None) -> s.ChargeOut:
    if owner_id is None:
        owner_id = _owner_ids(ctx.session, [c.owner_pk])[c.owner_pk]
    return s.ChargeOut(
        id=c.id,
        period_id=c.period_id,
        owner_id=owner_id,
        amount=format_minor(c.amount_minor, ctx.currency),
        description=c.description,
        date=c.date,
        is_opening=c.opening_from_period_id is not None,
        recurring_template_id=c.recurring_template_id,
        created_at=c.created_at,
        version=c.version,
    )


def record_charge(ctx: Ctx, period_id: int, data: s.ChargeCreate) -> ServiceCharge:
    ctx.require_admin()
    amount = positive_amount(ctx, data.amount)
    period = open_period_for_write(ctx, period_id)
    day = _date(ctx, period, data.date)
    owner = resolve_owner(ctx, data.owner_id)
    c = ServiceCharge(
        community_id=ctx.community_id,
        period_id=period.id,
        owner_pk=owner.id,
        amount_minor=amount,
        description=data.description,
        date=day,
        created_by=ctx.actor.label,
    )
    c = _insert(ctx, period, c)
    return c


def patch_charge(
    ctx: Ctx, doc_id: int, data: s.ChargePatch, if_match: int | None = None
) -> ServiceCharge:
    ctx.require_admin()
    c, period = _load_for_edit(ctx, ServiceCharge, doc_id, if_match)
    before = snapshot(c)
    changes = data.model_dump(exclude_unset=True)
    _not_null(changes, "owner_id", "amount", "date")
    if changes.get("amount") is not None:
        c.amount_minor = positive_amount(ctx, data.amount)  # type: ignore[arg-type]
    if "description" in changes:
        c.description = data.description
    if changes.get("date") is not None:
        c.date = _date(ctx, period, data.date)
    if changes.get("owner_id") is not None:
        c.owner_pk = resolve_owner(ctx, data.owner_id).id  # type: ignore[arg-type]
    _finish_edit(ctx, c, period, before)
    return c


def list_charges(
    ctx: Ctx, period_id: int, *, owner_id: int | None, after: int | None, limit: int
) -> list[tuple[ServiceCharge, int]]:
    get_period(ctx, period_id)
    q = _live(ServiceCharge, ctx, period_id).join(Owner, Owner.id == ServiceCharge.owner_pk)
    q = q.add_columns(Owner.owner_id)
    if ctx.actor.role == Role.OWNER:
        q = q.where(ServiceCharge.owner_pk == ctx.actor.owner_pk)
    if owner_id is not None:
        q = q.where(Owner.owner_id == owner_id)
    return [(c, oid) for c, oid in ctx.session.execute(_page(q, ServiceCharge, after, limit))]


# ---------------------------------------------------------------- settlements


def settlement_out(ctx: Ctx, t: Settlement) -> s.SettlementOut:
    ids = _owner_ids(ctx.session, [t.from_owner_pk, t.to_owner_pk])
    return s.SettlementOut(
        id=t.id,
        period_id=t.period_id,
        from_owner_id=ids[t.from_owner_pk],
        to_owner_id=ids[t.to_owner_pk],
        amount=format_minor(t.amount_minor, ctx.currency),
        date=t.date,
        comment=t.comment,
        created_at=t.created_at,
    )


def record_settlement(ctx: Ctx, period_id: int, data: s.SettlementCreate) -> Settlement:
    ctx.require_admin()
    amount = positive_amount(ctx, data.amount)
    if data.from_owner_id == data.to_owner_id:
        raise ValidationFailed("A settlement is a transfer between two different owners")
    period = open_period_for_write(ctx, period_id)
    day = _date(ctx, period, data.date)
    first, second = sorted([data.from_owner_id, data.to_owner_id])
    owners = {
        o: resolve_owner(
            ctx, o, field="from_owner_id" if o == data.from_owner_id else "to_owner_id"
        )
        for o in (first, second)
    }
    t = Settlement(
        community_id=ctx.community_id,
        period_id=period.id,
        from_owner_pk=owners[data.from_owner_id].id,
        to_owner_pk=owners[data.to_owner_id].id,
        amount_minor=amount,
        date=day,
        comment=data.comment,
        created_by=ctx.actor.label,
    )
    t = _insert(ctx, period, t)
    return t


def list_settlements(
    ctx: Ctx, period_id: int, *, after: int | None, limit: int
) -> list[Settlement]:
    get_period(ctx, period_id)
    q = _live(Settlement, ctx, period_id)
    if ctx.actor.role == Role.OWNER:  # an owner sees the transfers they paid or received
        q = q.where(
            (Settlement.from_owner_pk == ctx.actor.owner_pk)
            | (Settlement.to_owner_pk == ctx.actor.owner_pk)
        )
    return list(ctx.session.scalars(_page(q, Settlement, after, limit)))


# ---------------------------------------------------------------- meter readings


def _reading(value: Decimal) -> str:
    # The same text whether the value came from the request or from NUMERIC(20, 4): "29.5".
    return format(value.normalize(), "f")


def reading_out(ctx: Ctx, r: MeterReading, owner_id: int | None = None) -> s.MeterReadingOut:
    if owner_id is None:
        owner_id = _owner_ids(ctx.session, [r.owner_pk])[r.owner_pk]
    return s.MeterReadingOut(
        id=r.id,
        period_id=r.period_id,
        owner_id=owner_id,
        meter_type=r.meter_type,
        start_reading=_reading(r.start_reading),
        end_reading=_reading(r.end_reading),
        consumption=_reading(r.end_reading - r.start_reading),
        date=r.date,
        created_at=r.created_at,
        version=r.version,
    )


def _check_readings(start: Decimal, end: Decimal) -> None:
    if end < start:
        raise ValidationFailed(
            f"end_reading ({end}) is below start_reading ({start}): consumption cannot be negative"
        )


def record_reading(ctx: Ctx, period_id: int, data: s.MeterReadingCreate) -> MeterReading:
    ctx.require_admin()
    _check_readings(data.start_reading, data.end_reading)
    meter_type = data.meter_type.strip().upper()
    if not meter_type:
        raise ValidationFailed("meter_type: must not be blank")
    period = open_period_for_write(ctx, period_id)
    day = _date(ctx, period, data.date)
    owner = resolve_owner(ctx, data.owner_id)
    r = MeterReading(
        community_id=ctx.community_id,
        period_id=period.id,
        owner_pk=owner.id,
        meter_type=meter_type,
        start_reading=data.start_reading,
        end_reading=data.end_reading,
        date=day,
        created_by=ctx.actor.label,
    )
    r = _insert(ctx, period, r)
    return r


def patch_reading(
    ctx: Ctx, doc_id: int, data: s.MeterReadingPatch, if_match: int | None = None
) -> MeterReading:
    ctx.require_admin()
    r, period = _load_for_edit(ctx, MeterReading, doc_id, if_match)
    before = snapshot(r)
    changes = data.model_dump(exclude_unset=True)
    _not_null(changes, "meter_type", "start_reading", "end_reading", "date")
    if changes.get("meter_type") is not None:
        meter_type = (data.meter_type or "").strip().upper()
        if not meter_type:
            raise ValidationFailed("meter_type: must not be blank")
        r.meter_type = meter_type
    if changes.get("start_reading") is not None:
        r.start_reading = data.start_reading  # type: ignore[assignment]
    if changes.get("end_reading") is not None:
        r.end_reading = data.end_reading  # type: ignore[assignment]
    _check_readings(r.start_reading, r.end_reading)
    if changes.get("date") is not None:
        r.date = _date(ctx, period, data.date)
    _finish_edit(ctx, r, period, before)
    return r


def list_readings(
    ctx: Ctx, period_id: int, *, owner_id: int | None, after: int | None, limit: int
) -> list[tuple[MeterReading, int]]:
    get_period(ctx, period_id)
    q = _live(MeterReading, ctx, period_id).join(Owner, Owner.id == MeterReading.owner_pk)
    q = q.add_columns(Owner.owner_id)
    if ctx.actor.role == Role.OWNER:  # an owner sees their own readings
        q = q.where(MeterReading.owner_pk == ctx.actor.owner_pk)
    if owner_id is not None:
        q = q.where(Owner.owner_id == owner_id)
    return [(r, oid) for r, oid in ctx.session.execute(_page(q, MeterReading, after, limit))]


# ---------------------------------------------------------------- budget items


def _budget_strategy(strategy: str, meter_type: str | None) -> tuple[str, str | None]:
    parsed = allocation.parse_strategy(strategy)
    meter = meter_type.strip().upper() if meter_type and meter_type.strip() else None
    if parsed == allocation.Strategy.USAGE_BASED and meter is None:
        raise ValidationFailed("A USAGE_BASED budget item needs a meter_type (e.g. WATER)")
    if parsed in (
        allocation.Strategy.SHARES,
        allocation.Strategy.PERCENTAGE,
        allocation.Strategy.EXACT,
    ):
        raise ValidationFailed(
            f"{parsed.value} needs values per owner: give it as an expense's split, "
            "not as a budget item's strategy"
        )
    return parsed.value, meter


def _check_budget_type_free(
    ctx: Ctx, period_id: int, payment_type: str, exclude: int | None
) -> None:
    q = _live(BudgetItem, ctx, period_id).where(
        func.lower(BudgetItem.payment_type) == payment_type.lower()
    )
    if exclude is not None:
        q = q.where(BudgetItem.id != exclude)
    if ctx.session.scalar(q) is not None:
        raise Conflict(f"Period {period_id} already has a budget item for '{payment_type}'")


def budget_actuals(ctx: Ctx, period_id: int) -> dict[str, int]:
    rows = ctx.session.execute(
        select(func.lower(Expense.payment_type), func.sum(Expense.amount_minor))
        .where(Expense.period_id == period_id, Expense.deleted_at.is_(None))
        .group_by(func.lower(Expense.payment_type))
    ).all()
    return {t: int(v) for t, v in rows}


def budget_item_out(
    ctx: Ctx, b: BudgetItem, actuals: dict[str, int] | None = None
) -> s.BudgetItemOut:
    if actuals is None:
        actuals = budget_actuals(ctx, b.period_id)
    actual = actuals.get(b.payment_type.lower(), 0)
    return s.BudgetItemOut(
        id=b.id,
        period_id=b.period_id,
        payment_type=b.payment_type,
        budgeted_amount=format_minor(b.budgeted_amount_minor, ctx.currency),
        allocation_strategy=b.allocation_strategy,
        meter_type=b.meter_type,
        description=b.description,
        actual_amount=format_minor(actual, ctx.currency),
        variance=format_minor(b.budgeted_amount_minor - actual, ctx.currency),
        version=b.version,
    )


def record_budget_item(ctx: Ctx, period_id: int, data: s.BudgetItemCreate) -> BudgetItem:
    ctx.require_admin()
    amount = to_minor(data.budgeted_amount, ctx.currency, "budgeted_amount")
    if amount < 0:
        raise ValidationFailed("budgeted_amount: must not be negative")
    payment_type = data.payment_type.strip()
    if not payment_type:
        raise ValidationFailed("payment_type: must not be blank")
    strategy, meter = _budget_strategy(data.allocation_strategy, data.meter_type)
    period = open_period_for_write(ctx, period_id)
    _check_budget_type_free(ctx, period.id, payment_type, None)
    b = BudgetItem(
        community_id=ctx.community_id,
        period_id=period.id,
        payment_type=payment_type,
        budgeted_amount_minor=amount,
        allocation_strategy=strategy,
        meter_type=meter,
        description=data.description,
        created_by=ctx.actor.label,
    )
    b = _insert(ctx, period, b)
    return b


def patch_budget_item(
    ctx: Ctx, doc_id: int, data: s.BudgetItemPatch, if_match: int | None = None
) -> BudgetItem:
    ctx.require_admin()
    b, period = _load_for_edit(ctx, BudgetItem, doc_id, if_match)
    before = snapshot(b)
    changes = data.model_dump(exclude_unset=True)
    _not_null(changes, "payment_type", "budgeted_amount", "allocation_strategy")
    if changes.get("budgeted_amount") is not None:
        amount = to_minor(data.budgeted_amount, ctx.currency, "budgeted_amount")
        if amount < 0:
            raise ValidationFailed("budgeted_amount: must not be negative")
        b.budgeted_amount_minor = amount
    if changes.get("payment_type") is not None:
        pt = (data.payment_type or "").strip()
        if not pt:
            raise ValidationFailed("payment_type: must not be blank")
        _check_budget_type_free(ctx, period.id, pt, b.id)
        b.payment_type = pt
    if "allocation_strategy" in changes or "meter_type" in changes:
        strategy = data.allocation_strategy or b.allocation_strategy
        meter = data.meter_type if "meter_type" in changes else b.meter_type
        b.allocation_strategy, b.meter_type = _budget_strategy(strategy, meter)
    if "description" in changes:
        b.description = data.description
    _finish_edit(ctx, b, period, before)
    return b


def list_budget_items(
    ctx: Ctx, period_id: int, *, after: int | None, limit: int
) -> list[BudgetItem]:
    get_period(ctx, period_id)
    return list(
        ctx.session.scalars(_page(_live(BudgetItem, ctx, period_id), BudgetItem, after, limit))
    )


Recorder = Callable[..., Any]
