"""Who is calling: the operator key, an admin API key, or a Telegram Mini App user (initData)."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import BigInteger, any_, bindparam, literal, select
from sqlalchemy.orm import Session

from kopilka.auth.keys import hash_key, same_secret
from kopilka.auth.telegram import verify_init_data
from kopilka.config import Settings
from kopilka.context import PINNED_COMMUNITY, Actor, CommunityFacts, Role
from kopilka.db import Compiled
from kopilka.errors import NotFound, Unauthenticated, ValidationFailed
from kopilka.i18n import supported
from kopilka.models import ApiKey, Community, Owner

# The key and what every request needs of its community, in one statement, compiled once
# (``db.Compiled``: no ORM objects on the hot path).
_KEY = Compiled(
    select(ApiKey.id, ApiKey.community_id, Community.currency, Community.timezone)
    .join(Community, Community.id == ApiKey.community_id)
    .where(ApiKey.key_hash == bindparam("key_hash"), ApiKey.revoked_at.is_(None))
)


def authenticate(
    session: Session,
    settings: Settings,
    *,
    api_key: str | None,
    authorization: str | None,
    community_header: str | None,
) -> Actor:
    if api_key:
        if settings.operator_key and same_secret(api_key, settings.operator_key):
            return Actor(Role.OPERATOR, "operator")
        # The community's currency and time zone are pinned in ``session.info`` (see
        # ``Ctx.facts``): the request's later look-ups of them cost no query.
        row = _KEY.run(session, {"key_hash": hash_key(api_key)}).fetchone()
        if row is None:
            raise Unauthenticated("The X-API-Key is unknown or revoked")
        session.info[PINNED_COMMUNITY] = CommunityFacts(
            row.community_id, row.currency, row.timezone
        )
        return Actor(Role.ADMIN, f"api_key:{row.id}", community_id=row.community_id)
    if authorization:
        scheme, _, value = authorization.partition(" ")
        if scheme.lower() == "tma" and value.strip():
            return _telegram_actor(session, settings, value.strip(), community_header)
        raise Unauthenticated("Use X-API-Key, or Authorization: tma <initData> from the Mini App")
    raise Unauthenticated("Authentication required: X-API-Key, or Authorization: tma <initData>")


def _telegram_actor(
    session: Session, settings: Settings, init_data: str, community_header: str | None
) -> Actor:

    if not settings.telegram_bot_token:
        raise Unauthenticated("Telegram sign-in is not configured on this server")
    data = verify_init_data(
        init_data,
        settings.telegram_bot_token,
        max_age=timedelta(seconds=settings.init_data_max_age_seconds),
    )
    tg = data.user.id
    wanted: int | None = None
    if community_header:
        try:
            wanted = int(community_header)
        except ValueError:
            raise ValidationFailed("X-Community-Id must be a community id (an integer)") from None
    owners = {
        o.community_id: o
        for o in session.scalars(
            select(Owner).where(Owner.telegram_id == tg, Owner.is_active.is_(True))
        )
    }
    admin_of = set(
        session.scalars(
            # :tg = ANY(admin_telegram_ids): the community lists this Telegram user as an admin
            select(Community.id).where(
                literal(tg, BigInteger) == any_(Community.admin_telegram_ids)
            )
        )
    )
    communities = set(owners) | admin_of
    if wanted is None:
        if not communities:
            raise NotFound("This Telegram user is not an owner in any community")
        if len(communities) > 1:
            raise ValidationFailed(
                "This Telegram user belongs to several communities: name one with X-Community-Id"
            )
        wanted = next(iter(communities))
    if wanted not in communities:
        raise NotFound(f"Community {wanted} not found")
    if wanted in admin_of:
        owner = owners.get(wanted)
        return Actor(
            Role.ADMIN,
            f"telegram:{tg}",
            community_id=wanted,
            owner_pk=owner.id if owner else None,
            telegram_id=tg,
            language=supported(data.user.language_code),
        )
    owner = owners[wanted]
    return Actor(
        Role.OWNER,
        f"telegram:{tg}",
        community_id=wanted,
        owner_pk=owner.id,
        telegram_id=tg,
        language=supported(data.user.language_code),
    )
