"""Telegram Mini App authentication: check the ``initData`` string the Mini App sends.

Owners call the API with ``Authorization: tma <initData>`` (SPEC §7). The check is exactly
Telegram's (https://core.telegram.org/bots/webapps#validating-data-received-via-the-mini-app):

- parse the query string; take ``hash`` out;
- data-check-string = every other field (``signature`` included), sorted by key, as ``key=value``
  lines joined by ``"\\n"``;
- secret_key = HMAC-SHA256(key=b"WebAppData", msg=bot_token);
- the hash must equal hex(HMAC-SHA256(key=secret_key, msg=data_check_string)), compared in
  constant time;

and then ``auth_date`` must be fresh (an hour by default), since a signature never expires.

Why not ``aiogram.utils.web_app.check_webapp_signature``: its HMAC is the same and its comparison
is constant-time, but it parses with ``dict(parse_qsl(init_data, strict_parsing=True))``, which
(a) silently keeps the last of duplicated keys, so what it verifies and what a second parse reads
can differ, and (b) drops fields with a blank value, so a genuine initData carrying an empty field
fails. It also returns a bare bool (no reason) and does no freshness check. Our version parses
once (blank values kept, duplicates refused, bounded in size), verifies, and hands back the very
fields it verified, with errors of our own type (401) whose detail never echoes the initData or
its hash (both are credentials for as long as they are fresh).
"""

from __future__ import annotations

import hashlib
import hmac
import json
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import parse_qsl, quote, urlencode

from kopilka.errors import Unauthenticated

# Real initData is well under 4 KiB; anything far bigger is not from Telegram.
MAX_INIT_DATA_LENGTH = 16 * 1024
MAX_FIELDS = 64
# A client clock slightly ahead of ours is tolerated; more than this is refused.
FUTURE_TOLERANCE = timedelta(minutes=1)
DEFAULT_MAX_AGE = timedelta(hours=1)


@dataclass(frozen=True)
class TelegramUser:
    id: int
    first_name: str
    last_name: str | None
    username: str | None
    language_code: str | None


@dataclass(frozen=True)
class WebAppInitData:
    user: TelegramUser
    auth_date: datetime  # UTC, timezone-aware
    query_id: str | None
    start_param: str | None
    # Every verified field except ``hash`` (values as sent, JSON fields undecoded).
    raw_fields: dict[str, str]


def _secret_key(bot_token: str) -> bytes:
    if not bot_token:
        # A configuration bug, not a client error: an empty key would accept forged data.
        raise ValueError("bot token is not configured")
    return hmac.new(b"WebAppData", bot_token.encode(), hashlib.sha256).digest()


def _data_check_string(fields: Mapping[str, str]) -> str:
    return "\n".join(f"{key}={fields[key]}" for key in sorted(fields))


def _signature(fields: Mapping[str, str], bot_token: str) -> str:
    return hmac.new(
        _secret_key(bot_token), _data_check_string(fields).encode(), hashlib.sha256
    ).hexdigest()


def _parse_fields(init_data: str) -> dict[str, str]:
    if not init_data or len(init_data) > MAX_INIT_DATA_LENGTH:
        raise Unauthenticated("malformed initData")
    try:
        pairs = parse_qsl(
            init_data,
            keep_blank_values=True,
            strict_parsing=True,
            errors="strict",
            max_num_fields=MAX_FIELDS,
        )
    except ValueError:  # includes UnicodeDecodeError
        raise Unauthenticated("malformed initData") from None
    fields: dict[str, str] = {}
    for key, value in pairs:
        if key in fields:
            raise Unauthenticated(f"malformed initData: field {key[:32]!r} appears twice")
        fields[key] = value
    return fields


def _optional_str(data: Mapping[str, Any], key: str) -> str | None:
    value = data.get(key)
    if value is None or value == "":
        return None
    if not isinstance(value, str):
        raise Unauthenticated(f"malformed initData: user.{key} is not a string")
    return value


def _parse_user(raw: str | None) -> TelegramUser:
    if raw is None or raw == "":
        raise Unauthenticated("Telegram initData has no user")
    try:
        data = json.loads(raw)
    except ValueError:
        raise Unauthenticated("malformed initData: user is not valid JSON") from None
    if not isinstance(data, dict):
        raise Unauthenticated("malformed initData: user is not a JSON object")
    user_id = data.get("id")
    if not isinstance(user_id, int) or isinstance(user_id, bool) or user_id <= 0:
        raise Unauthenticated("malformed initData: user.id is not a positive integer")
    first_name = data.get("first_name")
    if not isinstance(first_name, str):
        raise Unauthenticated("malformed initData: user.first_name is missing")
    return TelegramUser(
        id=user_id,
        first_name=first_name,
        last_name=_optional_str(data, "last_name"),
        username=_optional_str(data, "username"),
        language_code=_optional_str(data, "language_code"),
    )


def _parse_auth_date(raw: str | None) -> datetime:
    if raw is None or not raw.isascii() or not raw.isdigit() or len(raw) > 12:
        raise Unauthenticated("malformed initData: auth_date is missing or not a Unix time")
    try:
        return datetime.fromtimestamp(int(raw), tz=UTC)
    except (OverflowError, OSError, ValueError):
        raise Unauthenticated("malformed initData: auth_date is out of range") from None


def verify_init_data(
    init_data: str,
    bot_token: str,
    *,
    max_age: timedelta = DEFAULT_MAX_AGE,
    now: datetime | None = None,
) -> WebAppInitData:
    """The verified content of a Mini App ``initData``, or ``Unauthenticated`` (401).

    ``now`` (timezone-aware) is for tests; it defaults to the current time.
    """
    if now is None:
        now = datetime.now(UTC)
    elif now.tzinfo is None:
        raise ValueError("now must be timezone-aware")

    fields = _parse_fields(init_data)
    received = fields.pop("hash", None)
    if not received:
        raise Unauthenticated("Telegram initData has no hash")
    expected = _signature(fields, bot_token)
    # Compare bytes: compare_digest refuses non-ASCII str, and the hash is attacker-controlled.
    if not hmac.compare_digest(expected.encode(), received.encode()):
        raise Unauthenticated("Telegram initData signature is invalid")

    # Only now is the content trusted enough to be read.
    auth_date = _parse_auth_date(fields.get("auth_date"))
    if now - auth_date > max_age:
        raise Unauthenticated(
            f"Telegram initData is stale (auth_date older than "
            f"{int(max_age.total_seconds())} s); reopen the Mini App"
        )
    if auth_date - now > FUTURE_TOLERANCE:
        raise Unauthenticated("Telegram initData is invalid (auth_date is in the future)")

    return WebAppInitData(
        user=_parse_user(fields.get("user")),
        auth_date=auth_date,
        query_id=fields.get("query_id") or None,
        start_param=fields.get("start_param") or None,
        raw_fields=fields,
    )


def sign_init_data(fields: Mapping[str, str], bot_token: str) -> str:
    """A valid signed initData query string for ``fields`` (tests, the dev page, benchmarks)."""
    if "hash" in fields:
        raise ValueError("fields must not contain 'hash': it is computed here")
    digest = _signature(fields, bot_token)
    return urlencode([*fields.items(), ("hash", digest)], quote_via=quote)


def make_init_data(
    user_id: int,
    bot_token: str,
    *,
    first_name: str = "Test",
    language_code: str | None = "en",
    auth_date: datetime | None = None,
    username: str | None = None,
    last_name: str | None = None,
    query_id: str | None = None,
) -> str:
    """Signed initData for a user, shaped like the one Telegram's clients send."""
    user: dict[str, Any] = {"id": user_id, "first_name": first_name}
    if last_name is not None:
        user["last_name"] = last_name
    if username is not None:
        user["username"] = username
    if language_code is not None:
        user["language_code"] = language_code
    user["allows_write_to_pm"] = True
    when = auth_date if auth_date is not None else datetime.now(UTC)
    fields: dict[str, str] = {}
    if query_id is not None:
        fields["query_id"] = query_id
    fields["user"] = json.dumps(user, ensure_ascii=False, separators=(",", ":"))
    fields["auth_date"] = str(int(when.timestamp()))
    return sign_init_data(fields, bot_token)
