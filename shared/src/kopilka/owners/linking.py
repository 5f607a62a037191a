"""Linking an owner's Telegram chat: one-time ``/start`` tokens issued by an admin.

The admin asks for a token for an owner and passes the deep link
(``https://t.me/<bot>?start=<token>``) to them; opening it sends ``/start <token>`` to the bot,
which calls :func:`link_telegram`. Only the token's SHA-256 is stored; a token links once and
expires after :data:`TOKEN_TTL`.
"""

from __future__ import annotations

import hashlib
import secrets
from datetime import UTC, datetime, timedelta

from pydantic import BaseModel
from sqlalchemy import select, update
from sqlalchemy.orm import Session

from kopilka.audit.service import record
from kopilka.config import get_settings
from kopilka.context import Actor, Ctx, Role
from kopilka.models import LinkToken, Owner
from kopilka.owners.service import get_owner

TOKEN_TTL = timedelta(days=7)
LANGUAGES = ("en", "ru")


class LinkTokenOut(BaseModel):
    owner_id: int
    token: str
    deep_link: str
    expires_at: datetime


def token_hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def deep_link(token: str, bot_username: str | None = None) -> str:
    username = (bot_username or get_settings().telegram_bot_username).lstrip("@")
    return f"https://t.me/{username}?start={token}"


def issue_link_token(ctx: Ctx, owner_id: int) -> tuple[str, str, datetime]:
    """A new one-time token for the owner: (token, deep link, expiry). Admins only; the token
    itself is shown once and never stored."""
    ctx.require_admin()
    owner = get_owner(ctx, owner_id)
    token = secrets.token_urlsafe(24)
    expires_at = datetime.now(UTC) + TOKEN_TTL
    row = LinkToken(
        community_id=ctx.community_id,
        owner_pk=owner.id,
        token_hash=token_hash(token),
        expires_at=expires_at,
    )
    ctx.session.add(row)
    ctx.session.flush()
    record(
        ctx,
        "owner.link_token_issue",
        "owner",
        owner.owner_id,
        after={"link_token_id": row.id, "expires_at": expires_at.isoformat()},
    )
    return token, deep_link(token), expires_at


def link_token_out(ctx: Ctx, owner_id: int) -> LinkTokenOut:
    token, link, expires_at = issue_link_token(ctx, owner_id)
    return LinkTokenOut(owner_id=owner_id, token=token, deep_link=link, expires_at=expires_at)


def link_telegram(
    session: Session, token: str, telegram_user_id: int, language: str | None
) -> Owner | None:
    """Use a token: the owner's chat becomes ``telegram_user_id``; None when the token is unknown,
    used or expired. The token is spent atomically, so two ``/start`` with it link once. The
    owner's language becomes ``language`` when it is one we speak; a block is forgotten (the user
    is talking to the bot again)."""
    token = token.strip()
    if not token or len(token) > 128:
        return None
    owner_pk = session.execute(
        update(LinkToken)
        .where(
            LinkToken.token_hash == token_hash(token),
            LinkToken.used_at.is_(None),
            LinkToken.expires_at > datetime.now(UTC),
        )
        .values(used_at=datetime.now(UTC))
        .returning(LinkToken.owner_pk)
    ).scalar()
    if owner_pk is None:
        return None
    owner = session.scalar(
        select(Owner)
        .where(Owner.id == owner_pk)
        .with_for_update()
        .execution_options(populate_existing=True)
    )
    assert owner is not None
    before = {
        "telegram_id": owner.telegram_id,
        "language": owner.language,
        "telegram_blocked_at": _iso(owner.telegram_blocked_at),
    }
    owner.telegram_id = telegram_user_id
    owner.telegram_blocked_at = None
    lang = spoken_language(language)
    if lang is not None:
        owner.language = lang
    owner.version += 1
    session.flush()
    ctx = Ctx(
        session=session,
        actor=Actor(
            Role.OWNER,
            f"telegram:{telegram_user_id}",
            community_id=owner.community_id,
            owner_pk=owner.id,
            telegram_id=telegram_user_id,
        ),
    )
    record(
        ctx,
        "owner.telegram_link",
        "owner",
        owner.owner_id,
        before=before,
        after={
            "telegram_id": owner.telegram_id,
            "language": owner.language,
            "telegram_blocked_at": None,
        },
    )
    return owner


def spoken_language(code: str | None) -> str | None:
    """One of ``LANGUAGES`` for a Telegram ``language_code`` ("ru-RU" -> "ru"), else None."""
    if not code:
        return None
    base = code.strip().lower().replace("_", "-").split("-", 1)[0]
    return base if base in LANGUAGES else None


def _iso(value: datetime | None) -> str | None:
    return value.isoformat() if value is not None else None
