"""The community's default language (issue 16): set by the operator at creation (default: Russian
for a rouble community), changed by the community's own admins; an owner's own language is
optional (unset = the community's); /me tells the Mini App both, and whether the caller is an
admin."""

from __future__ import annotations

from typing import Any

from kopilka.auth.telegram import make_init_data
from tests.conftest import OPERATOR, new_community, unique_id

BOT_TOKEN = "123456:TEST-TOKEN"


def test_default_language_follows_the_currency_and_admins_change_it(client: Any) -> None:
    ru = new_community(client)
    assert ru["language"] == "ru"
    en = new_community(client, currency="EUR")
    assert en["language"] == "en"
    assert new_community(client, currency="RUB", language="en")["language"] == "en"

    cid, admin = ru["id"], ru["headers"]
    r = client.patch(f"/api/communities/{cid}", json={"language": "en"}, headers=admin)
    assert r.status_code == 200, r.text
    assert r.json()["language"] == "en"
    assert client.get(f"/api/communities/{cid}", headers=admin).json()["language"] == "en"
    # admins change only their own settings; the rest stays the operator's
    r = client.patch(f"/api/communities/{cid}", json={"name": "Mine now"}, headers=admin)
    assert r.status_code == 403, r.text
    assert "operator" in r.json()["detail"]
    # another community's admin: not found
    assert (
        client.patch(
            f"/api/communities/{cid}", json={"language": "ru"}, headers=en["headers"]
        ).status_code
        == 404
    )
    # a language we do not speak is refused, nothing stored
    r = client.patch(f"/api/communities/{cid}", json={"language": "de"}, headers=admin)
    assert r.status_code == 400
    assert client.get(f"/api/communities/{cid}", headers=OPERATOR).json()["language"] == "en"


def test_an_owner_without_a_language_follows_the_community(client: Any) -> None:
    c = new_community(client)
    admin = c["headers"]
    oid = unique_id()
    r = client.post("/api/payments/owners", json={"owner_id": oid}, headers=admin)
    assert r.status_code == 201 and r.json()["language"] is None
    r = client.patch(f"/api/payments/owners/{oid}", json={"language": "en"}, headers=admin)
    assert r.json()["language"] == "en"
    r = client.patch(f"/api/payments/owners/{oid}", json={"language": None}, headers=admin)
    assert r.status_code == 200 and r.json()["language"] is None


def test_me_tells_the_mini_app_the_role_and_languages(client: Any) -> None:
    tg_admin, tg_owner = unique_id(), unique_id()
    c = new_community(client, admin_telegram_ids=[tg_admin])
    admin = c["headers"]
    oid = unique_id()
    client.post(
        "/api/payments/owners",
        json={"owner_id": oid, "telegram_id": tg_owner, "language": "en"},
        headers=admin,
    )
    me = client.get(
        "/api/payments/me", headers={"Authorization": "tma " + make_init_data(tg_owner, BOT_TOKEN)}
    ).json()
    assert (me["is_admin"], me["owner_id"], me["language"], me["owner_language"]) == (
        False,
        oid,
        "ru",
        "en",
    )
    me = client.get(
        "/api/payments/me", headers={"Authorization": "tma " + make_init_data(tg_admin, BOT_TOKEN)}
    ).json()
    assert (me["is_admin"], me["owner_id"], me["language"]) == (True, None, "ru")
