"""Telegram Mini App initData check (SPEC §7): Telegram's algorithm, freshness, safe errors."""

from __future__ import annotations

import hashlib
import hmac
import json
from datetime import UTC, datetime, timedelta
from urllib.parse import parse_qsl, quote, urlencode

import pytest

from kopilka.auth.telegram import (
    TelegramUser,
    make_init_data,
    sign_init_data,
    verify_init_data,
)
from kopilka.errors import Unauthenticated

TOKEN = "7012345678:AAHdqTcvCH1vGWJxfSeofSAs0K5PALDsaw"
NOW = datetime(2026, 11, 22, 12, 0, 0, tzinfo=UTC)
HOUR = timedelta(hours=1)


def verify(init_data: str, token: str = TOKEN, now: datetime = NOW) -> object:
    return verify_init_data(init_data, token, max_age=HOUR, now=now)


def reencode(fields: list[tuple[str, str]]) -> str:
    return urlencode(fields, quote_via=quote)


def fields_of(init_data: str) -> list[tuple[str, str]]:
    return parse_qsl(init_data, keep_blank_values=True, strict_parsing=True)


def test_round_trip() -> None:
    init = make_init_data(
        123456789,
        TOKEN,
        first_name="Иван",
        last_name="Петров",
        username="ivan",
        language_code="ru",
        auth_date=NOW - timedelta(minutes=5),
        query_id="AAHdF6IQAAAAAN0XohDhrOrc",
    )
    data = verify_init_data(init, TOKEN, max_age=HOUR, now=NOW)
    assert data.user == TelegramUser(123456789, "Иван", "Петров", "ivan", "ru")
    assert data.auth_date == NOW - timedelta(minutes=5)
    assert data.auth_date.tzinfo is not None
    assert data.query_id == "AAHdF6IQAAAAAN0XohDhrOrc"
    assert data.start_param is None
    assert "hash" not in data.raw_fields
    assert set(data.raw_fields) == {"query_id", "user", "auth_date"}
    # the user field is compact JSON with the Cyrillic kept as is, like Telegram's
    assert data.raw_fields["user"].startswith('{"id":123456789,"first_name":"Иван",')


def test_default_now_accepts_fresh_data() -> None:
    data = verify_init_data(make_init_data(42, TOKEN), TOKEN, max_age=HOUR)
    assert data.user.id == 42
    assert data.user.first_name == "Test"
    assert data.user.language_code == "en"


def test_independent_vector_with_signature_and_blank_field() -> None:
    """A Telegram-shaped initData signed by hand here, not with the module's own helpers."""
    user = (
        '{"id":279058397,"first_name":"Vladislav","last_name":"Kibenko",'
        '"username":"vdkfrost","language_code":"ru","is_premium":true,"allows_write_to_pm":true,'
        '"photo_url":"https:\\/\\/t.me\\/i\\/userpic\\/320\\/abc.svg"}'
    )
    fields = {
        "query_id": "AAHdF6IQAAAAAN0XohDhrOrc",
        "user": user,
        "auth_date": str(int((NOW - timedelta(seconds=30)).timestamp())),
        "start_param": "",  # blank values take part in the check string
        "signature": "6fbdaab833d39f54518bd5c3eb3f511d035e68cb",  # included, per Telegram
        "chat_instance": "-9019845325466839452",
    }
    check_string = "\n".join(f"{k}={fields[k]}" for k in sorted(fields))
    assert check_string.startswith("auth_date=")
    secret = hmac.new(b"WebAppData", TOKEN.encode(), hashlib.sha256).digest()
    digest = hmac.new(secret, check_string.encode(), hashlib.sha256).hexdigest()
    # Telegram puts hash before signature; order in the query string does not matter.
    items = [*fields.items()]
    items.insert(4, ("hash", digest))
    init = reencode(items)

    data = verify_init_data(init, TOKEN, max_age=HOUR, now=NOW)
    assert data.user == TelegramUser(279058397, "Vladislav", "Kibenko", "vdkfrost", "ru")
    assert data.start_param is None
    assert data.raw_fields == fields

    # and sign_init_data produces exactly this hash
    assert dict(fields_of(sign_init_data(fields, TOKEN)))["hash"] == digest


def test_signature_field_is_covered_by_the_hash() -> None:
    init = sign_init_data(
        {
            "user": json.dumps({"id": 5, "first_name": "A"}),
            "auth_date": str(int(NOW.timestamp())),
            "signature": "abc",
        },
        TOKEN,
    )
    verify(init)
    tampered = reencode([(k, "abd" if k == "signature" else v) for k, v in fields_of(init)])
    with pytest.raises(Unauthenticated, match="signature is invalid"):
        verify(tampered)
    dropped = reencode([(k, v) for k, v in fields_of(init) if k != "signature"])
    with pytest.raises(Unauthenticated, match="signature is invalid"):
        verify(dropped)


def assert_safe(exc: Unauthenticated, init: str) -> None:
    digest = dict(fields_of(init)).get("hash", "")
    assert exc.status == 401
    assert init not in exc.detail
    if digest:
        assert digest not in exc.detail
        assert digest[:16] not in exc.detail
    assert TOKEN not in exc.detail


def test_tampered_field() -> None:
    init = make_init_data(1001, TOKEN, auth_date=NOW)
    forged_user = json.dumps({"id": 1002, "first_name": "Test"}, separators=(",", ":"))
    tampered = reencode([(k, forged_user if k == "user" else v) for k, v in fields_of(init)])
    with pytest.raises(Unauthenticated, match="signature is invalid") as info:
        verify(tampered)
    assert_safe(info.value, tampered)


def test_added_field_breaks_signature() -> None:
    init = make_init_data(1001, TOKEN, auth_date=NOW)
    with pytest.raises(Unauthenticated, match="signature is invalid"):
        verify(init + "&start_param=admin")


def test_tampered_hash() -> None:
    init = make_init_data(1001, TOKEN, auth_date=NOW)
    pairs = fields_of(init)
    for bad in ("0" * 64, dict(pairs)["hash"].upper(), dict(pairs)["hash"][:-1], "é" * 64):
        tampered = reencode([(k, bad if k == "hash" else v) for k, v in pairs])
        with pytest.raises(Unauthenticated, match="signature is invalid") as info:
            verify(tampered)
        assert_safe(info.value, tampered)
        assert bad not in info.value.detail


def test_missing_hash() -> None:
    init = make_init_data(1001, TOKEN, auth_date=NOW)
    stripped = reencode([(k, v) for k, v in fields_of(init) if k != "hash"])
    with pytest.raises(Unauthenticated, match="no hash") as info:
        verify(stripped)
    assert_safe(info.value, stripped)
    with pytest.raises(Unauthenticated, match="no hash"):
        verify(stripped + "&hash=")


def test_stale_auth_date() -> None:
    init = make_init_data(1001, TOKEN, auth_date=NOW - HOUR - timedelta(seconds=1))
    with pytest.raises(Unauthenticated, match=r"stale \(auth_date older than 3600 s\)") as info:
        verify(init)
    assert_safe(info.value, init)
    # exactly at the limit is still fine
    verify(make_init_data(1001, TOKEN, auth_date=NOW - HOUR))
    # a longer max_age accepts it
    data = verify_init_data(init, TOKEN, max_age=timedelta(days=1), now=NOW)
    assert data.user.id == 1001


def test_future_auth_date() -> None:
    verify(make_init_data(1001, TOKEN, auth_date=NOW + timedelta(seconds=50)))
    init = make_init_data(1001, TOKEN, auth_date=NOW + timedelta(minutes=5))
    with pytest.raises(Unauthenticated, match="future") as info:
        verify(init)
    assert_safe(info.value, init)


def test_wrong_token() -> None:
    init = make_init_data(1001, TOKEN, auth_date=NOW)
    with pytest.raises(Unauthenticated, match="signature is invalid") as info:
        verify(init, token="7012345678:AAHdqTcvCH1vGWJxfSeofSAs0K5PALDsab")
    assert_safe(info.value, init)


def test_empty_token_is_a_configuration_error() -> None:
    init = make_init_data(1001, TOKEN, auth_date=NOW)
    with pytest.raises(ValueError, match="not configured"):
        verify(init, token="")


def test_no_user() -> None:
    init = sign_init_data({"auth_date": str(int(NOW.timestamp())), "query_id": "q"}, TOKEN)
    with pytest.raises(Unauthenticated, match="has no user") as info:
        verify(init)
    assert_safe(info.value, init)


@pytest.mark.parametrize(
    "user",
    [
        "not json",
        "[1, 2]",
        '{"first_name": "A"}',
        '{"id": "1", "first_name": "A"}',
        '{"id": true, "first_name": "A"}',
        '{"id": 1}',
        '{"id": 1, "first_name": "A", "username": 5}',
    ],
)
def test_malformed_user(user: str) -> None:
    init = sign_init_data({"auth_date": str(int(NOW.timestamp())), "user": user}, TOKEN)
    with pytest.raises(Unauthenticated, match="malformed initData") as info:
        verify(init)
    assert_safe(info.value, init)


@pytest.mark.parametrize("auth_date", [None, "", "abc", "-5", "1.5", "99999999999999999999"])
def test_malformed_auth_date(auth_date: str | None) -> None:
    fields = {"user": '{"id":1,"first_name":"A"}'}
    if auth_date is not None:
        fields["auth_date"] = auth_date
    with pytest.raises(Unauthenticated, match="malformed initData"):
        verify(sign_init_data(fields, TOKEN))


def test_duplicate_keys_are_malformed() -> None:
    init = make_init_data(1001, TOKEN, auth_date=NOW)
    forged = json.dumps({"id": 1002, "first_name": "Test"}, separators=(",", ":"))
    for dup in (f"{init}&user={quote(forged)}", f"user={quote(forged)}&{init}"):
        with pytest.raises(Unauthenticated, match="malformed initData") as info:
            verify(dup)
        assert_safe(info.value, dup)
    with pytest.raises(Unauthenticated, match="malformed initData"):
        verify(init + "&hash=" + dict(fields_of(init))["hash"])


@pytest.mark.parametrize(
    "garbage",
    ["", "&&", "user", "a=1&&b=2", "%ff%fe=1&hash=2", "x" * 20_000, "&".join(["a=1"] * 100)],
)
def test_garbage_is_malformed(garbage: str) -> None:
    with pytest.raises(Unauthenticated) as info:
        verify(garbage)
    assert info.value.status == 401
    assert garbage not in info.value.detail or garbage == ""
    assert len(info.value.detail) < 200


def test_sign_refuses_hash_field() -> None:
    with pytest.raises(ValueError):
        sign_init_data({"hash": "x"}, TOKEN)
