"""Bank statement import (SPEC §4b): upload → a job that stores the lines once, matches them and
books them through the contribution use case; the treasurer's assignments of the rest.

Exactly once: every line claims its identity in the partial unique index of
``bank_import_lines`` (the same file twice, overlapping statements, two imports at once: the
second finds the identity taken and writes the line as DUPLICATE), and a contribution or expense
names the line it was booked from (``bank_line_id``, unique)."""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, replace
from datetime import date
from typing import Any

from sqlalchemy import func, select, text
from sqlalchemy.dialects.postgresql import insert as pg_insert

from kopilka.audit.service import record
from kopilka.config import get_settings
from kopilka.context import Ctx, Role
from kopilka.db import get_engine
from kopilka.errors import Conflict, NotFound, ValidationFailed
from kopilka.imports import matching, parsers, queries
from kopilka.imports import schemas as s
from kopilka.imports.parsers import CREDIT, StatementLine
from kopilka.jobs import service as jobs
from kopilka.jobs.service import job_out
from kopilka.ledger import bulk
from kopilka.ledger.contributions import record_contributions
from kopilka.models import BankImport, BankImportLine, BankPayerRule, Invoice, Job, Owner, Period
from kopilka.money import currency_exponent, format_minor

IMPORT = "bank_import"
BOOKED, DUPLICATE, UNMATCHED, IGNORED, WAITING, NEW = (
    "BOOKED", "DUPLICATE", "UNMATCHED", "IGNORED", "WAITING", "NEW",
)  # fmt: skip
STATUSES = (BOOKED, DUPLICATE, UNMATCHED, IGNORED, WAITING)
COMMENT_MAX = 500


# ---------------------------------------------------------------- upload


def start_import(
    ctx: Ctx,
    *,
    file_name: str | None,
    content: bytes,
    fmt: str | None,
    mapping: str | None,
) -> tuple[BankImport, Job]:
    """Parse the file now (a file that cannot be read is 400 naming the line, nothing stored),
    keep it, and queue the job that books it."""
    ctx.require_admin()
    if fmt is not None and fmt.strip().lower() not in ("", *parsers.FORMATS):
        raise ValidationFailed(f"format: one of {', '.join(parsers.FORMATS)} (or omit it)")
    fmt = (fmt or "").strip().lower() or None
    parsed_mapping: Any = None
    if mapping is not None and mapping.strip():
        try:
            parsed_mapping = json.loads(mapping)
        except ValueError:
            raise ValidationFailed("mapping: not valid JSON") from None
    exponent = currency_exponent(ctx.currency)
    bank = ctx.community.bank or {}
    parsed = parsers.parse(
        content,
        fmt=fmt,
        exponent=exponent,
        currency=ctx.currency,
        mapping=parsed_mapping,
        own_account=bank.get("account"),
    )
    imp = BankImport(
        community_id=ctx.community_id,
        file_name=(file_name or "statement")[:255],
        file_size=len(content),
        file_sha256=hashlib.sha256(content).hexdigest(),
        content=content,
        format=parsed.format,
        encoding=parsed.encoding,
        mapping=parsed_mapping if parsed.format == "csv" else None,
        statement_account=parsed.account,
        created_by=ctx.actor.label,
        created_by_telegram_id=ctx.actor.telegram_id,
        progress={"stage": "queued", "lines": len(parsed.lines)},
    )
    ctx.session.add(imp)
    ctx.session.flush()
    job = jobs.enqueue(
        ctx.session,
        community_id=ctx.community_id,
        kind=IMPORT,
        payload={"import_id": imp.id},
        actor=ctx.actor.label,
        request_id=ctx.request_id,
        language=ctx.actor.language,
    )
    assert job is not None
    imp.job_id = job.id
    record(
        ctx,
        "bank_import.create",
        "bank_import",
        imp.id,
        after={
            "file_name": imp.file_name,
            "file_size": imp.file_size,
            "file_sha256": imp.file_sha256,
            "format": imp.format,
            "lines": len(parsed.lines),
            "job_id": job.id,
        },
    )
    return imp, job


# ---------------------------------------------------------------- the job


@dataclass
class _Target:
    period: Period
    day: date
    moved_from: str | None  # why the line's own date's period was not used


class _Periods:
    """Where a dated line is booked: the OPEN period holding its date, else the earliest OPEN
    period after it (on that period's first day; the bank date stays in the comment)."""

    def __init__(self, ctx: Ctx) -> None:
        self.open = list(
            ctx.session.scalars(queries.OPEN_PERIODS_LOCKED, {"community_id": ctx.community_id})
        )
        self.all = list(
            ctx.session.execute(queries.ALL_PERIODS, {"community_id": ctx.community_id})
        )
        self.by_id = {p.id: p for p in self.open}

    def target(self, day: date) -> _Target | None:
        holding = next((p for p in self.all if p.start_date <= day <= p.end_date), None)
        if holding is not None and holding.id in self.by_id:
            return _Target(self.by_id[holding.id], day, None)
        later = [p for p in self.open if p.start_date > day]
        if not later:
            return None
        first = min(later, key=lambda p: p.start_date)
        why = (
            f"bank date {day:%d.%m.%Y}: period '{holding.name}' is {holding.status}"
            if holding is not None
            else f"bank date {day:%d.%m.%Y}: no period holds it"
        )
        return _Target(first, first.start_date, why)


def _comment(line: StatementLine | BankImportLine) -> str:
    number = f" №{line.doc_number}" if line.doc_number else ""
    who = line.payer_name if line.direction == CREDIT else line.payee_name
    text_ = f"{line.date:%d.%m.%Y}{number} {who or ''}: {line.purpose or ''}".strip()
    return text_[:COMMENT_MAX]


def _directory(ctx: Ctx, lines: list[StatementLine]) -> matching.Directory:
    d = matching.Directory()
    cid = ctx.community_id
    for direction, account, inn, owner_pk, payment_type in ctx.session.execute(
        queries.RULES, {"community_id": cid}
    ):
        if direction == CREDIT and owner_pk is not None:
            if account:
                d.owner_by_account[account] = owner_pk
            if inn:
                d.owner_by_inn[inn] = owner_pk
        elif payment_type is not None:
            if account:
                d.type_by_account[account] = payment_type
            if inn:
                d.type_by_inn[inn] = payment_type
    for pk, name in ctx.session.execute(queries.OWNER_NAMES, {"community_id": cid}):
        d.add_owner_name(pk, name)
    numbers = {n for ln in lines for n in matching.invoice_numbers(ln.purpose)}
    if numbers:
        for inv_id, owner_pk in ctx.session.execute(
            select(Invoice.id, Invoice.owner_pk).where(
                Invoice.community_id == cid, Invoice.id.in_(numbers)
            )
        ):
            d.invoice_owner[inv_id] = owner_pk
    d.plot_owners.update(plot_owners(ctx))
    return d


def plot_owners(ctx: Ctx) -> dict[str, frozenset[int]]:
    """Each active plot's number (as ``matching.plot_key`` writes it) → its owners."""
    out: dict[str, set[int]] = {}
    for number, owner_pk in ctx.session.execute(
        queries.PLOT_OWNERS, {"community_id": ctx.community_id}
    ):
        out.setdefault(matching.plot_key(number), set()).add(owner_pk)
    return {k: frozenset(v) for k, v in out.items()}


def _progress(import_id: int, progress: dict[str, Any]) -> None:
    """Progress is written outside the job's transaction (autocommit), so a client polling
    GET /imports/{id} sees it while the job works."""
    with get_engine().connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
        conn.execute(queries.SET_PROGRESS, {"import_id": import_id, "stage": progress})


def import_job(ctx: Ctx, payload: dict[str, Any]) -> dict[str, Any]:
    """The job: match every line, store the lines (each identity once: the new ones with what
    becomes of them and the id of the document booked for them, the rest as DUPLICATE), book the
    new matched ones in one statement per document kind; the counts as the result."""
    import_id = int(payload["import_id"])
    imp = ctx.session.scalar(
        queries.IMPORT, {"import_id": import_id, "community_id": ctx.community_id}
    )
    if imp is None:
        raise NotFound(f"Import {import_id} not found")
    exponent = currency_exponent(ctx.currency)
    parsed = parsers.parse(
        imp.content,
        fmt=imp.format,
        exponent=exponent,
        currency=ctx.currency,
        mapping=imp.mapping,
        own_account=imp.statement_account,
    )
    lines = parsed.lines
    total = len(lines)
    _progress(import_id, {"stage": "matching", "lines": total, "done": 0})
    ids = parsers.identities(lines)
    directory = _directory(ctx, lines)
    periods = _Periods(ctx)
    plans = [_plan(line, matching.match(line, directory), periods) for line in lines]
    _progress(import_id, {"stage": "booking", "lines": total, "done": 0})
    claimed = _store(ctx, import_id, lines, ids, plans)
    contributions: list[bulk.ContributionRow] = []
    expenses: list[bulk.ExpenseRow] = []
    for identity, (_, doc) in zip(ids, plans, strict=True):
        got = claimed.get(identity)
        if got is None or doc is None:
            continue
        line_id, doc_id = got
        if isinstance(doc, bulk.ContributionRow):
            contributions.append(replace(doc, bank_line_id=line_id, id=doc_id))
        else:
            expenses.append(replace(doc, bank_line_id=line_id, id=doc_id))
    record_contributions(ctx, contributions)
    bulk.record_fund_expenses(ctx, expenses)
    counts = _counts(ctx, import_id)
    imp.counts = counts
    imp.progress = {"stage": "done", "lines": total, "done": total}
    imp.finished_at = func.now()
    return {"import_id": import_id, **counts}


def _store(
    ctx: Ctx,
    import_id: int,
    lines: list[StatementLine],
    ids: list[str],
    plans: list[tuple[_Outcome, bulk.ContributionRow | bulk.ExpenseRow | None]],
) -> dict[str, tuple[int, int | None]]:
    """Insert the lines; identity → (line id, the id of the document to book for it) of those
    that are new to the community (stored with their outcome, naming that document); the others
    are stored as DUPLICATE. The rows travel as one JSON document (jsonb_to_recordset): far
    cheaper to send than 20 arrays."""
    rows = []
    for line, identity, (o, doc) in zip(lines, ids, plans, strict=True):
        book = (
            None if doc is None
            else queries.CONTRIBUTION if isinstance(doc, bulk.ContributionRow)
            else queries.EXPENSE
        )  # fmt: skip
        rows.append(
            {
                "line_no": line.line_no, "identity": identity, "direction": line.direction,
                "amount_minor": line.amount_minor, "date": line.date.isoformat(),
                "doc_date": line.doc_date.isoformat() if line.doc_date else None,
                "doc_number": line.doc_number, "payer_name": line.payer_name,
                "payer_account": line.payer_account, "payer_inn": line.payer_inn,
                "payee_name": line.payee_name, "payee_account": line.payee_account,
                "payee_inn": line.payee_inn, "purpose": line.purpose, "status": o.status,
                "owner_pk": o.owner_pk, "matched_by": o.matched_by, "period_id": o.period_id,
                "payment_type": o.payment_type, "note": o.note, "book": book,
            }
        )  # fmt: skip
    params = {"community_id": ctx.community_id, "import_id": import_id}
    claimed = {
        identity: (line_id, contribution_id or expense_id)
        for line_id, identity, contribution_id, expense_id in ctx.session.execute(
            queries.CLAIM_LINES, {**params, "rows": json.dumps(rows)}
        )
    }
    if len(claimed) < len(lines):
        rest = [r for r in rows if r["identity"] not in claimed]
        ctx.session.execute(queries.DUPLICATE_LINES, {**params, "rows": json.dumps(rest)})
    return claimed


@dataclass
class _Outcome:
    status: str
    owner_pk: int | None = None
    matched_by: str | None = None
    period_id: int | None = None
    contribution_id: int | None = None
    expense_id: int | None = None
    payment_type: str | None = None
    note: str | None = None


def _plan(
    line: StatementLine, m: matching.Match, periods: _Periods
) -> tuple[_Outcome, bulk.ContributionRow | bulk.ExpenseRow | None]:
    """What becomes of a line, and the document to book for it (its ``bank_line_id`` still 0)."""
    if line.direction == CREDIT:
        if m.owner_pk is None:
            return _Outcome(UNMATCHED, note=m.note), None
        target = periods.target(line.date)
        if target is None:
            note = f"no OPEN period on or after {line.date:%d.%m.%Y}"
            return _Outcome(WAITING, m.owner_pk, m.by, note=note), None
        outcome = _Outcome(BOOKED, m.owner_pk, m.by, target.period.id, note=target.moved_from)
        return outcome, bulk.ContributionRow(
            period_id=target.period.id,
            owner_pk=m.owner_pk,
            amount_minor=line.amount_minor,
            date=target.day,
            comment=_comment(line),
            bank_line_id=0,
        )
    payment_type = m.note if m.by else None
    if payment_type is None:
        return _Outcome(WAITING, note="no rule names a payment_type for this recipient"), None
    target = periods.target(line.date)
    if target is None:
        note = f"no OPEN period on or after {line.date:%d.%m.%Y}"
        return _Outcome(WAITING, matched_by=m.by, payment_type=payment_type, note=note), None
    outcome = _Outcome(
        BOOKED, None, m.by, target.period.id, payment_type=payment_type, note=target.moved_from
    )
    return outcome, bulk.ExpenseRow(
        period_id=target.period.id,
        amount_minor=line.amount_minor,
        payment_type=payment_type,
        vendor=(line.payee_name or "")[:200] or None,
        description=_comment(line),
        date=target.day,
        bank_line_id=0,
    )


def _book(
    ctx: Ctx,
    line_id: int,
    line: StatementLine,
    periods: _Periods,
    owner_pk: int | None,
    payment_type: str | None,
) -> _Outcome:
    """Book one line the treasurer assigned (the same plan and booking as the job's)."""
    outcome, doc = _plan(line, matching.Match(owner_pk, matching.ASSIGNED, payment_type), periods)
    if isinstance(doc, bulk.ContributionRow):
        made = record_contributions(ctx, [replace(doc, bank_line_id=line_id)])
        outcome.contribution_id = made.get(line_id)
    elif isinstance(doc, bulk.ExpenseRow):
        made = bulk.record_fund_expenses(ctx, [replace(doc, bank_line_id=line_id)])
        outcome.expense_id = made.get(line_id)
    _settle(ctx, line_id, outcome)
    return outcome


def _settle(ctx: Ctx, line_id: int, outcome: _Outcome) -> None:
    values = {f"new_{c}": getattr(outcome, c) for c in queries.SETTLED}
    ctx.session.execute(queries.SETTLE_LINE, {"line_id": line_id, **values})


def _counts(ctx: Ctx, import_id: int) -> dict[str, Any]:
    row = ctx.session.execute(queries.COUNT_LINES, {"import_id": import_id}).one()
    out: dict[str, Any] = {k: int(v) for k, v in row._mapping.items() if k != "booked_minor"}
    out["booked_amount"] = format_minor(int(row.booked_minor), ctx.currency)
    return out


# ---------------------------------------------------------------- reading


def get_import(ctx: Ctx, import_id: int) -> BankImport:
    ctx.require_admin()
    imp = ctx.session.scalar(
        queries.IMPORT, {"import_id": import_id, "community_id": ctx.community_id}
    )
    if imp is None:
        raise NotFound(f"Import {import_id} not found")
    return imp


def import_out(ctx: Ctx, imp: BankImport) -> s.ImportOut:
    job = ctx.session.get(Job, imp.job_id) if imp.job_id else None
    counts = imp.counts or (_counts(ctx, imp.id) if job is None else s.ImportCounts().model_dump())
    return s.ImportOut(
        id=imp.id,
        file_name=imp.file_name,
        file_size=imp.file_size,
        file_sha256=imp.file_sha256,
        format=imp.format,
        encoding=imp.encoding,
        statement_account=imp.statement_account,
        created_by=imp.created_by,
        created_at=imp.created_at,
        status=job.status if job is not None else "SUCCEEDED",
        job=job_out(job) if job is not None else None,
        progress=imp.progress,
        error=job.error if job is not None else None,
        **{k: counts.get(k, 0) for k in s.ImportCounts.model_fields if k != "booked_amount"},
        booked_amount=counts.get("booked_amount", format_minor(0, ctx.currency)),
    )


def list_imports(ctx: Ctx, *, after: int | None, limit: int) -> list[BankImport]:
    ctx.require_admin()
    q = select(BankImport).where(BankImport.community_id == ctx.community_id)
    if after is not None:
        q = q.where(BankImport.id < after)
    return list(ctx.session.scalars(q.order_by(BankImport.id.desc()).limit(limit + 1)))


def list_lines(
    ctx: Ctx, import_id: int, *, status: str | None, after: int | None, limit: int
) -> list[tuple[BankImportLine, int | None, str | None]]:
    get_import(ctx, import_id)
    q = (
        select(BankImportLine, Owner.owner_id, Owner.name)
        .outerjoin(Owner, Owner.id == BankImportLine.owner_pk)
        .where(BankImportLine.import_id == import_id)
    )
    if status is not None:
        wanted = status.strip().upper()
        if wanted not in STATUSES:
            raise ValidationFailed(f"status: one of {', '.join(STATUSES)}")
        q = q.where(BankImportLine.status == wanted)
    if after is not None:
        q = q.where(BankImportLine.id > after)
    rows = ctx.session.execute(q.order_by(BankImportLine.id).limit(limit + 1)).all()
    return [(r[0], r[1], r[2]) for r in rows]


def line_out(
    ctx: Ctx, line: BankImportLine, owner_id: int | None, owner_name: str | None
) -> s.ImportLineOut:
    return s.ImportLineOut(
        id=line.id,
        import_id=line.import_id,
        line_no=line.line_no,
        status=line.status,
        direction=line.direction,
        amount=format_minor(line.amount_minor, ctx.currency),
        date=line.date,
        doc_number=line.doc_number,
        doc_date=line.doc_date,
        payer_name=line.payer_name,
        payer_account=line.payer_account,
        payer_inn=line.payer_inn,
        payee_name=line.payee_name,
        payee_account=line.payee_account,
        payee_inn=line.payee_inn,
        purpose=line.purpose,
        owner_id=owner_id,
        owner_name=owner_name,
        matched_by=line.matched_by,
        payment_type=line.payment_type,
        period_id=line.period_id,
        contribution_id=line.contribution_id,
        expense_id=line.expense_id,
        note=line.note,
    )


# ---------------------------------------------------------------- the treasurer's side


def _as_statement_line(line: BankImportLine) -> StatementLine:
    return StatementLine(
        line_no=line.line_no, direction=line.direction, amount_minor=line.amount_minor,
        date=line.date, doc_number=line.doc_number, doc_date=line.doc_date,
        payer_name=line.payer_name, payer_account=line.payer_account, payer_inn=line.payer_inn,
        payee_name=line.payee_name, payee_account=line.payee_account, payee_inn=line.payee_inn,
        purpose=line.purpose,
    )  # fmt: skip


def _owner(ctx: Ctx, owner_id: int) -> Owner:
    owner = ctx.session.scalar(
        select(Owner).where(Owner.community_id == ctx.community_id, Owner.owner_id == owner_id)
    )
    if owner is None:
        raise ValidationFailed(f"owner_id: owner {owner_id} is not a member of this community")
    return owner


def assign_line(ctx: Ctx, import_id: int, line_id: int, data: s.AssignLine) -> s.AssignOut:
    """Book an UNMATCHED credit to an owner (or a WAITING debit as a fund expense of a type) and,
    with ``remember``, teach the rule. Assigning a line booked to the same owner again answers
    the line (idempotent); to someone else is 409."""
    ctx.require_admin()
    get_import(ctx, import_id)
    # Lock order: periods (shared), then the line.
    periods = _Periods(ctx)
    line = ctx.session.scalar(
        queries.LINE_FOR_UPDATE,
        {"line_id": line_id, "import_id": import_id, "community_id": ctx.community_id},
    )
    if line is None:
        raise NotFound(f"Line {line_id} of import {import_id} not found")
    owner = _owner(ctx, data.owner_id) if data.owner_id is not None else None
    if line.direction == CREDIT and owner is None:
        raise ValidationFailed("owner_id: a credit line is booked to an owner")
    if line.direction != CREDIT and data.payment_type is None:
        raise ValidationFailed("payment_type: a debit line is booked as a fund expense of a type")
    payment_type = data.payment_type.strip() if data.payment_type else None
    if line.status == DUPLICATE:
        raise Conflict(f"Line {line_id} is a duplicate ({line.note}); nothing to book")
    if line.status == BOOKED:
        same = (owner is not None and line.owner_pk == owner.id) or (
            payment_type is not None and (line.payment_type or "").lower() == payment_type.lower()
        )
        if not same:
            raise Conflict(f"Line {line_id} is already booked ({line.matched_by})")
    else:
        before = {"status": line.status, "owner_pk": line.owner_pk}
        outcome = _book(
            ctx,
            line.id,
            _as_statement_line(line),
            periods,
            owner.id if owner else None,
            payment_type,
        )
        if outcome.status != BOOKED:
            raise Conflict(f"Line {line_id} cannot be booked: {outcome.note}")
        line.updated_at = func.now()
        line.updated_by = ctx.actor.label
        ctx.session.flush()
        ctx.session.refresh(line)
        record(
            ctx, "bank_import_line.assign", "bank_import_line", line.id, before=before,
            after={"status": line.status, "owner_pk": line.owner_pk,
                   "payment_type": line.payment_type, "contribution_id": line.contribution_id,
                   "expense_id": line.expense_id},
        )  # fmt: skip
    rule_id = None
    if data.remember:
        rule_id = _remember(ctx, line, owner, payment_type)
    out = line_out(ctx, line, owner.owner_id if owner else None, owner.name if owner else None)
    return s.AssignOut(**out.model_dump(), rule_id=rule_id)


def _remember(
    ctx: Ctx, line: BankImportLine, owner: Owner | None, payment_type: str | None
) -> int | None:
    statement_line = _as_statement_line(line)
    account, inn = statement_line.counterparty_account, statement_line.counterparty_inn
    if not account and not inn:
        return None
    key = {"account": account, "inn": None} if account else {"account": None, "inn": inn}
    return _upsert_rule(ctx, line.direction, key, owner.id if owner else None, payment_type)


def _upsert_rule(
    ctx: Ctx,
    direction: str,
    key: dict[str, str | None],
    owner_pk: int | None,
    payment_type: str | None,
) -> int:
    column = "account" if key["account"] else "inn"
    stmt = pg_insert(BankPayerRule).values(
        community_id=ctx.community_id, direction=direction, owner_pk=owner_pk,
        payment_type=payment_type, created_by=ctx.actor.label, **key,
    )  # fmt: skip
    upsert = stmt.on_conflict_do_update(
        index_elements=["community_id", "direction", column],
        index_where=text(f"{column} IS NOT NULL"),
        set_={"owner_pk": owner_pk, "payment_type": payment_type, "updated_at": func.now()},
    ).returning(BankPayerRule.id)
    rule_id = int(ctx.session.execute(upsert).scalar_one())
    record(
        ctx, "bank_payer_rule.upsert", "bank_payer_rule", rule_id,
        after={"direction": direction, **key, "owner_pk": owner_pk, "payment_type": payment_type},
    )  # fmt: skip
    return rule_id


def ignore_line(ctx: Ctx, import_id: int, line_id: int) -> BankImportLine:
    """An UNMATCHED or WAITING line the treasurer decided is not the fund's business."""
    ctx.require_admin()
    get_import(ctx, import_id)
    line = ctx.session.scalar(
        queries.LINE_FOR_UPDATE,
        {"line_id": line_id, "import_id": import_id, "community_id": ctx.community_id},
    )
    if line is None:
        raise NotFound(f"Line {line_id} of import {import_id} not found")
    if line.status == IGNORED:
        return line
    if line.status not in (UNMATCHED, WAITING):
        raise Conflict(
            f"Line {line_id} is {line.status}; only UNMATCHED or WAITING lines are ignored"
        )
    before = {"status": line.status}
    line.status = IGNORED
    line.updated_at = func.now()
    line.updated_by = ctx.actor.label
    ctx.session.flush()
    ctx.session.refresh(line)
    record(
        ctx,
        "bank_import_line.ignore",
        "bank_import_line",
        line.id,
        before=before,
        after={"status": IGNORED},
    )
    return line


def rule_out(ctx: Ctx, rule: BankPayerRule, owner_id: int | None) -> s.RuleOut:
    return s.RuleOut(
        id=rule.id, direction=rule.direction, account=rule.account, inn=rule.inn,
        owner_id=owner_id, payment_type=rule.payment_type, created_by=rule.created_by,
        created_at=rule.created_at,
    )  # fmt: skip


def create_rule(ctx: Ctx, data: s.RuleCreate) -> s.RuleOut:
    ctx.require_admin()
    owner = _owner(ctx, data.owner_id) if data.owner_id is not None else None
    direction = CREDIT if owner is not None else "DEBIT"
    account = parsers.common.digits(data.account)
    rule_id = _upsert_rule(
        ctx, direction, {"account": account, "inn": data.inn}, owner.id if owner else None,
        data.payment_type.strip() if data.payment_type else None,
    )  # fmt: skip
    rule = ctx.session.get(BankPayerRule, rule_id, populate_existing=True)
    assert rule is not None
    return rule_out(ctx, rule, owner.owner_id if owner else None)


def list_rules(ctx: Ctx) -> list[s.RuleOut]:
    ctx.require_admin()
    rows = ctx.session.execute(
        select(BankPayerRule, Owner.owner_id)
        .outerjoin(Owner, Owner.id == BankPayerRule.owner_pk)
        .where(BankPayerRule.community_id == ctx.community_id)
        .order_by(BankPayerRule.id)
    ).all()
    return [rule_out(ctx, r, oid) for r, oid in rows]


def is_admin_actor(ctx: Ctx) -> bool:
    return ctx.actor.role in (Role.ADMIN, Role.SYSTEM)


def max_upload_bytes() -> int:
    return get_settings().max_import_bytes
