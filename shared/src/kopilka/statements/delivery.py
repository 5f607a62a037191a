"""Sending an owner their statement as a PDF in Telegram (issue 16: the treasurer "sends an owner
their PDF statement" from the Mini App).

An admin's request queues a ``statement_pdf`` notification for the owner (the outbox's one
writer, in the request's transaction, audited); the bot, when it sends that row, asks
``statement_document`` for the file — rendered at send time in the owner's language, so the
owner gets their statement as it is when it reaches them — and sends it as a document.
"""

from __future__ import annotations

import uuid
from datetime import datetime
from zoneinfo import ZoneInfo

from pydantic import BaseModel

from kopilka.audit.service import record
from kopilka.context import Actor, Ctx
from kopilka.db import session_factory
from kopilka.errors import Conflict
from kopilka.i18n import resolve
from kopilka.models import Community, Owner
from kopilka.notifications.service import enqueue, reachable
from kopilka.owners.service import get_owner
from kopilka.statements.export import export_filename, render_owner_statement
from kopilka.statements.service import owner_statement

STATEMENT_PDF = "statement_pdf"


class StatementSentOut(BaseModel):
    owner_id: int
    queued: bool
    message: str


def send_owner_statement(ctx: Ctx, owner_id: int) -> StatementSentOut:
    """Queue the owner's PDF statement to their Telegram chat (admins only)."""
    ctx.require_admin()
    owner = get_owner(ctx, owner_id)
    if not reachable(owner):
        raise Conflict(
            f"Owner {owner_id} cannot be reached in Telegram (not linked, or they blocked the "
            "bot): give them their /start link first"
        )
    key = f"statement:{owner.id}:{uuid.uuid4().hex}"
    payload = {
        "community_id": owner.community_id,
        "owner_id": owner.owner_id,
        "on": str(ctx.today()),
    }
    enqueue(ctx.session, owner, STATEMENT_PDF, key, payload)
    record(ctx, "statement.send", "owner", owner.owner_id, after={"dedupe_key": key})
    return StatementSentOut(
        owner_id=owner.owner_id,
        queued=True,
        message="The statement will reach the owner's Telegram chat in a moment",
    )


def statement_document(
    community_id: int, owner_id: int, engine: object = None
) -> tuple[str, bytes]:
    """The owner's statement as a PDF (file name, bytes), in their language, as of now."""
    factory = session_factory(engine)  # type: ignore[arg-type]
    with factory() as session, session.begin():
        ctx = Ctx(session=session, actor=Actor.system("bot", community_id))
        community: Community = ctx.community
        statement = owner_statement(ctx, owner_id)
        owner: Owner = get_owner(ctx, owner_id)
        lang = resolve(None, owner.language, community.language)
        today = datetime.now(ZoneInfo(community.timezone)).date()
        name = export_filename("owner", community.name, str(owner_id), "pdf", on=today)
        return name, render_owner_statement(statement, "pdf", lang)
