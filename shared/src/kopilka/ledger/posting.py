"""The posting machinery every money document shares.

A document (a contribution, an expense, a service charge, a settlement; and the non-money inputs
of allocation, meter readings and budget items) keeps a stable id. Storing one posts its money to
the append-only ``ledger_entries`` (``DocumentKind.postings`` says which entries), audits it and,
when asked, queues the owner's message, all in ONE statement (``insert``). An edit or a delete
posts a reversal of what stood, then the new postings (``finish_edit``, ``delete``), with the
audit entry. Only an OPEN period accepts new or edited documents.

A document kind is a ``DocumentKind`` (its table, its audit name, its postings) and a small module
beside this one (``contributions.py``, ``expenses.py``, ...) with its rules: adding a kind is a new
module on these functions and a line in the API's table (``kopilka_api/routes/ledger.py``)."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal
from functools import lru_cache
from typing import Any, Generic, TypeVar

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

from kopilka.audit.service import record, snapshot
from kopilka.context import Ctx, Role
from kopilka.db import Compiled, bound_values
from kopilka.errors import Conflict, NotFound, ValidationFailed, check_version
from kopilka.models import AuditEntry, LedgerEntry, Owner, Period, PeriodFacts
from kopilka.money import to_minor
from kopilka.notifications import service as notifications
from kopilka.owners.service import resolve_owner
from kopilka.periods.service import check_date_in_period, get_period, open_period_for_write

Doc = TypeVar("Doc")
Posting = tuple[int, str, int]  # owner_pk, ledger kind, amount in minor units


def no_postings(doc: Any) -> list[Posting]:
    """A document that moves no money (a meter reading, a budget item)."""
    return []


def one_owner(regular: str, opening: str) -> Callable[[Any], list[Posting]]:
    """The postings of a document that moves one owner's amount (a contribution, a charge): its
    ledger kind is ``regular``, or ``opening`` for an opening entry of a carry-forward."""

    def postings(doc: Any) -> list[Posting]:
        kind = opening if doc.opening_from_period_id else regular
        return [(doc.owner_pk, kind, doc.amount_minor)]

    return postings


@dataclass(frozen=True)
class DocumentKind(Generic[Doc]):
    """What the machinery needs to know of a kind of document."""

    model: type[Doc]
    entity: str  # the ledger's source_type and the audit log's entity
    label: str  # in messages: "Contribution 7 not found"
    postings: Callable[[Doc], list[Posting]] = no_postings
    # What a PATCH may change (``edit``): the fields it may leave out but not null, those copied
    # as sent, and the rule that sets the others (``apply_changes``: amount, date, owner).
    required: tuple[str, ...] = ()
    plain: tuple[str, ...] = ()
    apply: Callable[[Ctx, Period, Doc, Any, dict[str, Any]], None] | None = None


# ---------------------------------------------------------------- ledger postings


def post(
    ctx: Ctx, period: Period, kind: DocumentKind[Any], source_id: int, postings: Sequence[Posting]
) -> None:
    rows = [
        {
            "community_id": period.community_id,
            "period_id": period.id,
            "owner_pk": owner_pk,
            "kind": entry_kind,
            "amount_minor": amount,
            "source_type": kind.entity,
            "source_id": source_id,
        }
        for owner_pk, entry_kind, amount in postings
        if amount
    ]
    if rows:
        ctx.session.execute(insert(LedgerEntry), rows)


def reverse(ctx: Ctx, period: Period, kind: DocumentKind[Any], source_id: int) -> None:
    """Post the negation of whatever the source's entries add up to now."""
    rows = ctx.session.execute(
        select(LedgerEntry.owner_pk, LedgerEntry.kind, func.sum(LedgerEntry.amount_minor))
        .where(LedgerEntry.source_type == kind.entity, LedgerEntry.source_id == source_id)
        .group_by(LedgerEntry.owner_pk, LedgerEntry.kind)
    ).all()
    post(ctx, period, kind, source_id, [(pk, k, -int(total)) for pk, k, total in rows if total])


# ---------------------------------------------------------------- shared checks


def positive_amount(ctx: Ctx, value: Decimal, field: str = "amount") -> int:
    minor = to_minor(value, ctx.currency, field)
    if minor <= 0:
        raise ValidationFailed(f"{field}: must be greater than zero")
    return minor


def non_negative_amount(ctx: Ctx, value: Decimal, field: str) -> int:
    minor = to_minor(value, ctx.currency, field)
    if minor < 0:
        raise ValidationFailed(f"{field}: must not be negative")
    return minor


def not_blank(value: str | None, field: str) -> str:
    text = (value or "").strip()
    if not text:
        raise ValidationFailed(f"{field}: must not be blank")
    return text


def booking_date(ctx: Ctx, period: PeriodFacts, value: date | datetime | None) -> date:
    """The calendar day in the community's time zone; an omitted date means today, booked on
    the period's nearest day when today is outside the (still OPEN) period."""
    day = ctx.local_date(value) if value is not None else ctx.today()
    if value is None and not (period.start_date <= day <= period.end_date):
        day = min(max(day, period.start_date), period.end_date)
    check_date_in_period(period, day)
    return day


def not_null(changes: dict[str, Any], *keys: str) -> None:
    """A PATCH may leave a field out, but may not blank one that every document has."""
    for key in keys:
        if key in changes and changes[key] is None:
            raise ValidationFailed(f"{key}: may not be null")


def owner_ids(session: Session, pks: Sequence[int | None]) -> dict[int, int]:
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


# ---------------------------------------------------------------- store, edit, delete


def document(ctx: Ctx, period: PeriodFacts, model: Callable[..., Doc], **fields: Any) -> Doc:
    """A new document of ``model`` in ``period``, recorded by the actor (``insert_document``
    stores it)."""
    return model(
        community_id=ctx.community_id, period_id=period.id, created_by=ctx.actor.label, **fields
    )


def out_fields(ctx: Ctx, doc: Any, owner_id: int | None = None) -> dict[str, Any]:
    """What every answer shows of a dated document, and of a one-owner document (one with an
    ``owner_pk``) its owner's owner_id, looked up unless given."""
    fields = {
        "id": doc.id,
        "period_id": doc.period_id,
        "date": doc.date,
        "created_at": doc.created_at,
        "version": doc.version,
    }
    if hasattr(doc, "owner_pk"):
        if owner_id is None:
            owner_id = owner_ids(ctx.session, [doc.owner_pk])[doc.owner_pk]
        fields["owner_id"] = owner_id
    return fields


def insert_document(
    ctx: Ctx,
    period: PeriodFacts,
    kind: DocumentKind[Doc],
    doc: Doc,
    notify: notifications.Pending | None = None,
) -> Doc:
    """Store a new document, post its money to the ledger, audit its creation and queue the
    owner's message (``notify``), in ONE statement (data-modifying CTEs): the hot path of every
    recorded payment costs one round trip and no unit-of-work flush. Returns the stored document
    as stored (with its id and server defaults), not attached to the session: nothing changes a
    document in the request that creates it. ``doc`` is only the template of the values."""
    params: dict[str, Any] = {}
    for attr in sa_inspect(kind.model).column_attrs:
        column = attr.columns[0]
        value = getattr(doc, attr.key)
        if value is None and column.default is not None and column.default.is_scalar:
            value = column.default.arg  # Python-side defaults (a CTE does not apply them)
        if value is not None:
            params[f"v_{column.name}"] = value
    postings = [p for p in kind.postings(doc) if p[2]]
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
    stmt = _insert_statement(kind, columns, len(postings), notify is not None)
    row = stmt.run(ctx.session, params).fetchone()
    assert row is not None  # an INSERT ... RETURNING returns its row
    stored: Doc = kind.model(**row._asdict())
    return stored


@lru_cache(maxsize=256)
def _insert_statement(
    kind: DocumentKind[Any], columns: tuple[str, ...], postings: int, notify: bool
) -> Compiled:
    """The statement of ``insert_document`` for one shape of document, built and compiled once
    (its values are bind parameters) and run as SQL on the session's connection (``Compiled``).
    Data-modifying CTEs: the document, its entries, its audit row and its message in one trip."""
    table: Table = kind.model.__table__
    mapper = sa_inspect(kind.model)
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
    return Compiled(select(new).add_cte(*ctes))


def _json_safe(column: Any, type_: Any) -> Any:
    """What ``snapshot`` makes of a value: exact decimals as strings, the rest as JSON."""
    if isinstance(type_, Numeric) and not isinstance(type_, Float):
        return cast(column, String)
    return column


def load_for_edit(
    ctx: Ctx, kind: DocumentKind[Doc], doc_id: int, if_match: int | None
) -> tuple[Doc, Period]:
    """The live document of this community, its period locked and OPEN; checks If-Match."""
    model: Any = kind.model
    doc = ctx.session.scalar(
        select(model).where(model.id == doc_id, model.community_id == ctx.community_id)
    )
    if doc is None or doc.deleted_at is not None:
        raise NotFound(f"{kind.label} {doc_id} not found")
    period = open_period_for_write(ctx, doc.period_id)
    ctx.session.refresh(doc, with_for_update=True)
    if doc.deleted_at is not None:
        raise NotFound(f"{kind.label} {doc_id} not found")
    check_version(f"{kind.label} {doc_id}", doc.version, if_match)
    if getattr(doc, "opening_from_period_id", None):
        raise Conflict(
            f"{kind.label} {doc_id} is an opening entry of a carry-forward; "
            "correct the source period and carry forward again"
        )
    return doc, period


def edit(ctx: Ctx, kind: DocumentKind[Doc], doc_id: int, data: Any, if_match: int | None) -> Doc:
    """A PATCH of a document (admins; ``If-Match``) by its kind's rule (``required``, ``plain``,
    ``apply``), then ``finish_edit``."""
    ctx.require_admin()
    doc, period = load_for_edit(ctx, kind, doc_id, if_match)
    before = snapshot(doc)
    changes = data.model_dump(exclude_unset=True)
    not_null(changes, *kind.required)
    for key in kind.plain:
        if key in changes:
            setattr(doc, key, changes[key])
    if kind.apply is not None:
        kind.apply(ctx, period, doc, data, changes)
    finish_edit(ctx, kind, doc, period, before)
    return doc


def finish_edit(
    ctx: Ctx, kind: DocumentKind[Any], doc: Any, period: Period, before: dict[str, Any]
) -> None:
    """After a PATCH changed ``doc``: a new version, the reversal and the new postings when
    money is involved, and the audit entry with the before and after."""
    doc.version += 1
    doc.updated_at = func.now()
    ctx.session.flush()
    ctx.session.refresh(doc)
    if kind.postings(doc) or before.get("amount_minor") is not None:
        reverse(ctx, period, kind, doc.id)
        post(ctx, period, kind, doc.id, kind.postings(doc))
    record(ctx, f"{kind.entity}.update", kind.entity, doc.id, before=before, after=snapshot(doc))


def delete(ctx: Ctx, kind: DocumentKind[Any], doc_id: int, if_match: int | None = None) -> None:
    """Delete a document: it stays, marked deleted, and its money is reversed."""
    ctx.require_admin()
    doc, period = load_for_edit(ctx, kind, doc_id, if_match)
    before = snapshot(doc)
    doc.deleted_at = func.now()
    doc.deleted_by = ctx.actor.label
    doc.version += 1
    ctx.session.flush()
    ctx.session.refresh(doc)
    reverse(ctx, period, kind, doc.id)
    # "after" is the deleted document: who deleted it and when stay in the audit log.
    record(ctx, f"{kind.entity}.delete", kind.entity, doc.id, before=before, after=snapshot(doc))


# ---------------------------------------------------------------- lists


def live(kind: DocumentKind[Any], ctx: Ctx, period_id: int) -> Any:
    """The period's documents of this kind that are not deleted."""
    model = kind.model
    return select(model).where(
        model.community_id == ctx.community_id,
        model.period_id == period_id,
        model.deleted_at.is_(None),
    )


def page(q: Any, kind: DocumentKind[Any], after: int | None, limit: int) -> Any:
    """Keyset pagination by id; one row more than the limit says whether a next page exists."""
    if after is not None:
        q = q.where(kind.model.id > after)
    return q.order_by(kind.model.id).limit(limit + 1)


def owned(
    ctx: Ctx,
    kind: DocumentKind[Any],
    period_id: int,
    *,
    owner_id: int | None,
    after: int | None,
    limit: int,
    owner_pk: Any = None,
    owners_see_own: bool = True,
) -> list[tuple[Any, int | None]]:
    """A page of the period's documents with the owner_id of the owner ``owner_pk`` (a column
    of the kind's table, ``owner_pk`` unless named) names, optionally of one owner; an
    owner-role caller sees their own."""
    if owner_pk is None:
        owner_pk = kind.model.owner_pk  # type: ignore[attr-defined]
    get_period(ctx, period_id)
    q = live(kind, ctx, period_id).outerjoin(Owner, Owner.id == owner_pk)
    q = q.add_columns(Owner.owner_id)
    if owners_see_own and ctx.actor.role == Role.OWNER:
        q = q.where(owner_pk == ctx.actor.owner_pk)
    if owner_id is not None:
        q = q.where(Owner.owner_id == owner_id)
    return [(doc, oid) for doc, oid in ctx.session.execute(page(q, kind, after, limit))]


def apply_changes(ctx: Ctx, period: Period, doc: Any, data: Any, changes: dict[str, Any]) -> None:
    """The fields most documents share, from a PATCH: amount, date, owner_id."""
    if changes.get("amount") is not None:
        doc.amount_minor = positive_amount(ctx, data.amount)
    if changes.get("date") is not None:
        doc.date = booking_date(ctx, period, data.date)
    if changes.get("owner_id") is not None:
        doc.owner_pk = resolve_owner(ctx, data.owner_id).id
