"""Communities (the operator's) and their admin API keys (the admins')."""

from __future__ import annotations

from functools import cache
from typing import Any
from zoneinfo import ZoneInfo, available_timezones

from sqlalchemy import func, select

from kopilka.allocation.strategies import parse_strategy
from kopilka.audit.service import record, snapshot
from kopilka.auth.keys import hash_key, new_api_key
from kopilka.communities.schemas import (
    ApiKeyCreate,
    ApiKeyCreated,
    ApiKeyOut,
    CommunityCreate,
    CommunityCreated,
    CommunityOut,
    CommunityPatch,
)
from kopilka.context import Ctx, Role
from kopilka.errors import Forbidden, NotFound, ValidationFailed
from kopilka.models import ApiKey, Community
from kopilka.money import check_currency, format_minor, to_minor
from kopilka.outputs import from_row
from kopilka.plots.window import check_window

DEFAULT_STRATEGIES = {"PROPORTIONAL", "FIXED_FEE", "NONE"}


def community_out(c: Community) -> CommunityOut:
    return from_row(
        CommunityOut,
        c,
        admin_telegram_ids=list(c.admin_telegram_ids or []),
        debt_reminder_threshold=(
            format_minor(c.debt_reminder_threshold_minor, c.currency)
            if c.debt_reminder_threshold_minor is not None
            else None
        ),
    )


@cache
def _timezones() -> frozenset[str]:
    # available_timezones() walks the tz database on disk at every call: read it once.
    return frozenset(available_timezones())


def _check_tz(tz: str) -> str:
    if tz not in _timezones():
        raise ValidationFailed(f"timezone: {tz!r} is not an IANA time zone such as Europe/Moscow")
    ZoneInfo(tz)
    return tz


def _check_default_strategy(text: str) -> str:
    s = parse_strategy(text).value
    if s not in DEFAULT_STRATEGIES:
        raise ValidationFailed(
            f"default_strategy: {s} needs per-expense data; use one of "
            + ", ".join(sorted(DEFAULT_STRATEGIES))
        )
    return s


def _require_operator(ctx: Ctx) -> None:
    if ctx.actor.role != Role.OPERATOR:
        raise Forbidden("Only the operator manages communities")


def create_community(ctx: Ctx, data: CommunityCreate) -> CommunityCreated:
    _require_operator(ctx)
    currency = check_currency(data.currency)
    c = Community(
        name=data.name.strip(),
        currency=currency,
        timezone=_check_tz(data.timezone),
        rollover=data.rollover.upper(),
        default_strategy=_check_default_strategy(data.default_strategy),
        auto_create_owners=data.auto_create_owners,
        admin_telegram_ids=sorted(set(data.admin_telegram_ids)),
        debt_reminder_threshold_minor=(
            to_minor(data.debt_reminder_threshold, currency, "debt_reminder_threshold")
            if data.debt_reminder_threshold is not None
            else None
        ),
        reading_window=check_window(data.reading_window),
        language=data.language or ("ru" if currency == "RUB" else "en"),
    )
    if not c.name:
        raise ValidationFailed("name: must not be blank")
    ctx.session.add(c)
    ctx.session.flush()
    record(ctx, "community.create", "community", c.id, after=snapshot(c), community_id=c.id)
    key, _ = _issue_key(ctx, c.id, "admin")
    return CommunityCreated(**community_out(c).model_dump(), admin_api_key=key)


def get_community(ctx: Ctx, community_id: int) -> Community:
    if ctx.actor.role != Role.OPERATOR and ctx.actor.community_id != community_id:
        raise NotFound(f"Community {community_id} not found")
    if ctx.actor.role not in (Role.OPERATOR, Role.ADMIN):
        raise Forbidden("Only the operator and the community's admins read its settings")
    c = ctx.session.get(Community, community_id)
    if c is None:
        raise NotFound(f"Community {community_id} not found")
    return c


def list_communities(ctx: Ctx, *, after: int | None, limit: int) -> list[Community]:
    _require_operator(ctx)
    q = select(Community)
    if after is not None:
        q = q.where(Community.id > after)
    return list(ctx.session.scalars(q.order_by(Community.id).limit(limit + 1)))


# What a community's own admins may change (SPEC §6); the operator may change everything.
ADMIN_SETTINGS = frozenset(
    {"language", "debt_reminder_threshold", "admin_telegram_ids", "reading_window", "bank"}
)


def patch_community(ctx: Ctx, community_id: int, data: CommunityPatch) -> Community:
    changes: dict[str, Any] = data.model_dump(exclude_unset=True)
    if ctx.actor.role != Role.OPERATOR:
        c = get_community(ctx, community_id)  # 404 for another community, 403 for an owner
        refused = sorted(set(changes) - ADMIN_SETTINGS)
        if refused:
            raise Forbidden(
                f"Only the operator changes {', '.join(refused)}; admins change "
                + ", ".join(sorted(ADMIN_SETTINGS))
            )
    c = get_community(ctx, community_id)
    ctx.session.refresh(c, with_for_update=True)
    before = snapshot(c)
    for key in (
        "name",
        "timezone",
        "rollover",
        "default_strategy",
        "auto_create_owners",
        "language",
    ):
        if key in changes and changes[key] is None:
            raise ValidationFailed(f"{key}: may not be null")
    if "name" in changes:
        c.name = changes["name"].strip()
    if "timezone" in changes:
        c.timezone = _check_tz(changes["timezone"])
    if "rollover" in changes:
        c.rollover = changes["rollover"].upper()
    if "default_strategy" in changes:
        c.default_strategy = _check_default_strategy(changes["default_strategy"])
    if "auto_create_owners" in changes:
        c.auto_create_owners = changes["auto_create_owners"]
    if "language" in changes:
        c.language = changes["language"]
    if "admin_telegram_ids" in changes:
        c.admin_telegram_ids = sorted(set(changes["admin_telegram_ids"] or []))
    if "debt_reminder_threshold" in changes:
        t = changes["debt_reminder_threshold"]
        c.debt_reminder_threshold_minor = (
            None if t is None else to_minor(t, c.currency, "debt_reminder_threshold")
        )
    if "reading_window" in changes:
        c.reading_window = check_window(changes["reading_window"])
    if "bank" in changes:
        c.bank = data.bank.model_dump() if data.bank is not None else None
    c.version += 1
    ctx.session.flush()
    record(
        ctx,
        "community.update",
        "community",
        c.id,
        before=before,
        after=snapshot(c),
        community_id=c.id,
    )
    return c


# ---------------------------------------------------------------- API keys


def api_key_out(k: ApiKey) -> ApiKeyOut:
    return from_row(ApiKeyOut, k)


def _issue_key(ctx: Ctx, community_id: int, name: str) -> tuple[str, ApiKey]:
    key = new_api_key()
    row = ApiKey(
        community_id=community_id,
        name=name,
        key_hash=hash_key(key),
        prefix=key[:10],
        created_by=ctx.actor.label,
    )
    ctx.session.add(row)
    ctx.session.flush()
    record(
        ctx,
        "api_key.issue",
        "api_key",
        row.id,
        after={"name": name, "prefix": row.prefix},
        community_id=community_id,
    )
    return key, row


def _admin_of(ctx: Ctx, community_id: int) -> None:
    if ctx.actor.community_id != community_id or ctx.actor.role == Role.OPERATOR:
        raise NotFound(f"Community {community_id} not found")
    ctx.require_admin()


def issue_api_key(ctx: Ctx, community_id: int, data: ApiKeyCreate) -> ApiKeyCreated:
    _admin_of(ctx, community_id)
    key, row = _issue_key(ctx, community_id, data.name)
    return ApiKeyCreated(**api_key_out(row).model_dump(), api_key=key)


def list_api_keys(ctx: Ctx, community_id: int) -> list[ApiKey]:
    _admin_of(ctx, community_id)
    return list(
        ctx.session.scalars(
            select(ApiKey).where(ApiKey.community_id == community_id).order_by(ApiKey.id)
        )
    )


def revoke_api_key(ctx: Ctx, community_id: int, key_id: int) -> None:
    _admin_of(ctx, community_id)
    row = ctx.session.scalar(
        select(ApiKey)
        .where(ApiKey.id == key_id, ApiKey.community_id == community_id)
        .with_for_update()
    )
    if row is None:
        raise NotFound(f"API key {key_id} not found")
    if row.revoked_at is None:
        row.revoked_at = func.now()
        record(ctx, "api_key.revoke", "api_key", row.id, before={"prefix": row.prefix})
