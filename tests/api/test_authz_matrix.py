"""Who may see and do what (SPEC §6, §7): every route of the app times every role.

The routes come from the app itself (``app.routes``), and every one needs a rule in ``RULES``:
a new route without a rule fails ``test_route`` for it, and a rule whose route is gone fails
``test_every_rule_names_a_route``. A rule gives the expected status for each role:

- ``operator``: the deployment's key: communities only, no community's money (403);
- ``admin``: an API key of community A (the treasurer): everything in A;
- ``other_admin``: an API key of community B: A's ids are unknown to it (404); collection
  routes act in B itself;
- ``owner``: a Telegram user (``Authorization: tma``) who is owner O1 of A: their own
  balances, statement and the period's totals, their own contributions; 403 for the rest;
- ``other_owner``: owner O2 of A, on the same URLs, which name O1's objects: 404 for O1's
  statement and balance, 403 for recording O1's money; lists show O2's own rows;
- ``anonymous``, ``forged`` (a bad hash), ``stale`` (auth_date two hours ago): 401.

Where the SPEC is silent, the choices (each a treasurer's or an owner's expectation):
- owners read the period list and the periods, the balance sheet (their own line and the
  period's totals), the budget items (plan against actual: period totals, nothing personal),
  and their own contributions, charges, meter readings and settlements (lists filtered to them);
- owners do not read the expense list (who paid what, vendors), the suggested settlements and
  the opening transactions (every owner's balance), the period statement (every owner's line),
  the jobs, the recurring-charge templates, the community's settings and keys;
- ``GET /api/payments/me`` answers any authenticated caller, the operator included;
- the operator gets 404 for a community's API keys and jobs (not theirs), 403 for its money.

Each request is sent in the order of ``ROLES``, the admin last: the admin's writes succeed and
may change state (a close, a delete), so they must not change what another role is answered.
Routes that destroy or move state (close, reopen, carry-forward, DELETE) aim at objects of
their own.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from fastapi.routing import APIRoute, iter_route_contexts

from kopilka.auth.telegram import make_init_data
from tests.api._support import PAYMENTS, make_period, post, set_period_status, sql
from tests.conftest import OPERATOR, new_community, unique_id
from tests.support.jobs import run_job

BOT_TOKEN = "123456:TEST-TOKEN"
ROLES = (
    "anonymous",
    "forged",
    "stale",
    "operator",
    "other_admin",
    "other_owner",
    "owner",
    "admin",
)
UNAUTHENTICATED = ("anonymous", "forged", "stale")


def rule(
    admin: int,
    *,
    operator: int = 403,
    other_admin: int = 404,
    owner: int = 403,
    other_owner: int | None = None,
) -> dict[str, int]:
    """Expected statuses of an authenticated route; the unauthenticated always get 401."""
    return {
        "anonymous": 401,
        "forged": 401,
        "stale": 401,
        "operator": operator,
        "other_admin": other_admin,
        "other_owner": owner if other_owner is None else other_owner,
        "owner": owner,
        "admin": admin,
    }


def owners_too(admin: int, *, other_owner: int | None = None) -> dict[str, int]:
    """A route owners may use as well (answers filtered to them)."""
    return rule(admin, owner=admin, other_owner=other_owner)


PUBLIC = dict.fromkeys(ROLES, 200)
P = PAYMENTS
PP = f"{P}/periods/{{period_id}}"

RULES: dict[tuple[str, str], dict[str, int]] = {
    # process and Mini App page: no authentication
    ("GET", "/health"): PUBLIC,
    ("GET", "/ready"): PUBLIC,
    ("GET", "/metrics"): PUBLIC,
    # the API's docs, served offline by the app (fastapi-offline)
    ("GET", "/docs"): PUBLIC,
    ("GET", "/docs/oauth2-redirect"): PUBLIC,
    ("GET", "/redoc"): PUBLIC,
    ("GET", "/app"): PUBLIC,
    ("GET", "/app/app.js"): PUBLIC,
    ("GET", "/app/app.css"): PUBLIC,
    ("GET", f"{P}/me"): rule(200, operator=200, other_admin=200, owner=200),
    # communities: the operator; admins read their own and keep its keys
    ("POST", "/api/communities"): rule(403, operator=201, other_admin=403),
    ("GET", "/api/communities"): rule(403, operator=200, other_admin=403),
    ("GET", "/api/communities/{community_id}"): rule(200, operator=200),
    ("PATCH", "/api/communities/{community_id}"): rule(
        403, operator=200
    ),  # admins: own settings only
    ("POST", "/api/communities/{community_id}/api-keys"): rule(201, operator=404),
    ("GET", "/api/communities/{community_id}/api-keys"): rule(200, operator=404),
    ("DELETE", "/api/communities/{community_id}/api-keys/{key_id}"): rule(204, operator=404),
    # periods
    ("POST", f"{P}/periods"): rule(201, other_admin=201),
    ("GET", f"{P}/periods"): rule(200, other_admin=200, owner=200),
    ("GET", PP): owners_too(200),
    ("PATCH", PP): rule(200),
    ("POST", f"{PP}/close"): rule(202),
    ("POST", f"{PP}/reopen"): rule(200),
    ("POST", f"{P}/periods/carry-forward"): rule(202),
    ("GET", f"{PP}/opening-transactions"): rule(200),
    ("GET", f"{PP}/statement"): rule(200),
    # contributions: an owner records their own (O2 naming O1 is refused)
    ("POST", f"{PP}/contributions"): rule(201, owner=201, other_owner=403),
    ("GET", f"{PP}/contributions"): owners_too(200),
    ("PATCH", f"{P}/contributions/{{doc_id}}"): rule(200),
    ("DELETE", f"{P}/contributions/{{doc_id}}"): rule(204),
    ("POST", f"{PP}/expenses"): rule(201),
    ("GET", f"{PP}/expenses"): rule(200),
    ("PATCH", f"{P}/expenses/{{doc_id}}"): rule(200),
    ("DELETE", f"{P}/expenses/{{doc_id}}"): rule(204),
    ("POST", f"{PP}/charges"): rule(201),
    ("GET", f"{PP}/charges"): owners_too(200),
    ("PATCH", f"{P}/charges/{{doc_id}}"): rule(200),
    ("DELETE", f"{P}/charges/{{doc_id}}"): rule(204),
    ("POST", f"{PP}/meter-readings"): rule(201),
    ("GET", f"{PP}/meter-readings"): owners_too(200),
    ("PATCH", f"{P}/meter-readings/{{doc_id}}"): rule(200),
    ("DELETE", f"{P}/meter-readings/{{doc_id}}"): rule(204),
    ("POST", f"{PP}/budget-items"): rule(201),
    ("GET", f"{PP}/budget-items"): owners_too(200),
    ("PATCH", f"{P}/budget-items/{{doc_id}}"): rule(200),
    ("DELETE", f"{P}/budget-items/{{doc_id}}"): rule(204),
    # balances and settlements
    ("GET", f"{PP}/balance-sheet"): owners_too(200),
    ("GET", f"{PP}/balances/{{owner_id}}"): owners_too(200, other_owner=404),
    ("GET", f"{PP}/owner-balance/{{owner_id}}"): owners_too(200, other_owner=404),
    ("GET", f"{PP}/settlements/suggested"): rule(200),
    ("POST", f"{PP}/settlements"): rule(201),
    ("GET", f"{PP}/settlements"): owners_too(200),
    # owners and their statements
    ("POST", f"{P}/owners"): rule(201, other_admin=201),
    ("GET", f"{P}/owners"): rule(200, other_admin=200, owner=200),
    ("GET", f"{P}/owners/{{owner_id}}"): owners_too(200, other_owner=404),
    ("PATCH", f"{P}/owners/{{owner_id}}"): rule(200),
    ("POST", f"{P}/owners/{{owner_id}}/link-token"): rule(201),
    ("GET", f"{P}/owners/{{owner_id}}/statement"): owners_too(200, other_owner=404),
    ("POST", f"{P}/owners/{{owner_id}}/statement/send"): rule(202),
    ("GET", f"{P}/owners/{{owner_id}}/invoices"): owners_too(200, other_owner=404),
    # recurring charges: the treasurer's templates
    ("POST", f"{P}/recurring-charges"): rule(201, other_admin=201),
    ("GET", f"{P}/recurring-charges"): rule(200, other_admin=200),
    ("GET", f"{P}/recurring-charges/{{template_id}}"): rule(200),
    ("PATCH", f"{P}/recurring-charges/{{template_id}}"): rule(200),
    ("DELETE", f"{P}/recurring-charges/{{template_id}}"): rule(204),
    # plots, meters, readings (SPEC §3a): an owner reads their own plots and meters and sends
    # their meters' readings; the other owner's are 404
    ("POST", f"{P}/plots"): rule(201, other_admin=201),
    ("GET", f"{P}/plots"): rule(200, other_admin=200, owner=200),
    ("GET", f"{P}/plots/{{plot_id}}"): owners_too(200, other_owner=404),
    ("PATCH", f"{P}/plots/{{plot_id}}"): rule(200),
    ("DELETE", f"{P}/plots/{{plot_id}}"): rule(204),
    ("POST", f"{P}/plots/{{plot_id}}/meters"): rule(201),
    ("GET", f"{P}/plots/{{plot_id}}/meters"): owners_too(200, other_owner=404),
    ("GET", f"{P}/meters/{{meter_id}}"): owners_too(200, other_owner=404),
    ("PATCH", f"{P}/meters/{{meter_id}}"): rule(200),
    ("POST", f"{P}/meters/{{meter_id}}/readings"): rule(201, owner=201, other_owner=404),
    ("GET", f"{P}/meters/{{meter_id}}/readings"): owners_too(200, other_owner=404),
    ("GET", f"{PP}/consumption"): owners_too(200),
    # recurring expenses: the treasurer's templates
    ("POST", f"{P}/recurring-expenses"): rule(201, other_admin=201),
    ("GET", f"{P}/recurring-expenses"): rule(200, other_admin=200),
    ("GET", f"{P}/recurring-expenses/{{template_id}}"): rule(200),
    ("PATCH", f"{P}/recurring-expenses/{{template_id}}"): rule(200),
    ("DELETE", f"{P}/recurring-expenses/{{template_id}}"): rule(204),
    # group purchases: admins open and finalize lists, owners order their own items
    ("POST", f"{PP}/purchases"): rule(201),
    ("GET", f"{PP}/purchases"): owners_too(200),
    ("GET", f"{P}/purchases/{{purchase_id}}"): owners_too(200),
    ("PATCH", f"{P}/purchases/{{purchase_id}}"): rule(200),
    ("POST", f"{P}/purchases/{{purchase_id}}/items"): rule(201, owner=201),
    ("GET", f"{P}/purchases/{{purchase_id}}/items"): owners_too(200),
    # O1's item: O2 gets 404; the spare one deleted is an item for everyone: 404 to owners
    ("PATCH", f"{P}/purchase-items/{{item_id}}"): rule(200, owner=200, other_owner=404),
    ("DELETE", f"{P}/purchase-items/{{item_id}}"): rule(204, owner=404),
    ("POST", f"{P}/purchases/{{purchase_id}}/finalize"): rule(200),
    # one expense with its shares, and settling O1's share of a bill O2 paid: the treasurer's
    ("GET", f"{P}/expenses/{{expense_id}}"): rule(200),
    ("POST", f"{P}/expenses/{{expense_id}}/shares/{{owner_id}}/settle"): rule(201),
    # bank import: the treasurer's (the matrix sends JSON, not a multipart file, so the admin's
    # upload is past authorization and answered 400 "file: ... required")
    ("POST", f"{P}/imports"): rule(400, other_admin=400),
    ("GET", f"{P}/imports"): rule(200, other_admin=200),
    ("GET", f"{P}/imports/{{import_id}}"): rule(200),
    ("GET", f"{P}/imports/{{import_id}}/lines"): rule(200),
    ("POST", f"{P}/imports/{{import_id}}/lines/{{line_id}}/assign"): rule(200),
    ("POST", f"{P}/imports/{{import_id}}/lines/{{line_id}}/ignore"): rule(200),
    ("GET", f"{P}/imports/rules"): rule(200, other_admin=200),
    ("GET", f"{P}/owners/{{owner_id}}/invoices/{{invoice_id}}/payment-qr.{{kind}}"): owners_too(
        200, other_owner=404
    ),
    ("POST", f"{P}/imports/rules"): rule(201, other_admin=201),
    # jobs
    ("GET", "/api/jobs"): rule(200, other_admin=200),
    ("GET", f"{P}/audit"): rule(200, other_admin=200),
    ("PATCH", f"{P}/settlements/{{doc_id}}"): rule(200),
    ("DELETE", f"{P}/settlements/{{doc_id}}"): rule(204),
    ("GET", "/api/jobs/{job_id}"): rule(200, operator=404),
}


def _route_table() -> list[tuple[str, str]]:
    from kopilka_api.app import create_app

    table: set[tuple[str, str]] = set()
    for rc in iter_route_contexts(create_app().routes):
        if not isinstance(rc.original_route, APIRoute):
            continue
        for method in rc.methods or ():
            if method not in ("HEAD", "OPTIONS"):
                table.add((method, str(rc.path)))
    return sorted(table, key=lambda mp: (mp[1], mp[0]))


ROUTES = _route_table()


# ---------------------------------------------------------------- the world


def _doc(client: Any, h: dict[str, str], path: str, body: dict[str, Any]) -> int:
    return int(post(client, h, path, body)["id"])


@pytest.fixture(scope="module")
def mclient(app: Any) -> Iterator[Any]:
    from fastapi.testclient import TestClient

    with TestClient(app) as c:
        yield c


@pytest.fixture(scope="module")
def world(mclient: Any) -> dict[str, Any]:
    """Community A with one of everything (and spare objects for the destructive routes),
    community B with its own admin key, and the callers' headers."""
    client = mclient
    a = new_community(client)
    b = new_community(client)
    h = a["headers"]
    o1, o2 = unique_id(), unique_id()
    t1, t2 = unique_id(), unique_id()
    post(client, h, "/owners", {"owner_id": o1, "name": "Anna", "telegram_id": t1})
    post(client, h, "/owners", {"owner_id": o2, "name": "Boris", "telegram_id": t2})

    period = make_period(client, h, "November 2025", "2025-11-01", "2025-11-30")["id"]
    to_close = make_period(client, h, "December 2025", "2025-12-01", "2025-12-31")["id"]
    to_reopen = make_period(client, h, "September 2025", "2025-09-01", "2025-09-30")["id"]
    source = make_period(client, h, "October 2025", "2025-10-01", "2025-10-31")["id"]
    for_job = make_period(client, h, "August 2025", "2025-08-01", "2025-08-31")["id"]
    set_period_status(to_reopen, "CLOSED")
    set_period_status(source, "CLOSED")
    # an invoice of O1 to pay (the close job run here), with the community's bank details
    post(client, h, f"/periods/{for_job}/charges", {"owner_id": o1, "amount": "50000"})
    bank = {"recipient": "SNT", "account": "4" * 20, "bank_name": "Bank", "bic": "0" * 9,
            "corr_account": "3" * 20}  # fmt: skip
    assert (
        client.patch(f"/api/communities/{a['id']}", json={"bank": bank}, headers=h).status_code
        == 200
    )
    job = client.post(f"{P}/periods/{for_job}/close", headers=h)
    assert job.status_code in (200, 202), job.text
    assert run_job(job.json()["id"]) == "SUCCEEDED"
    invoice = client.get(f"{P}/owners/{o1}/invoices", headers=h).json()[0]["id"]

    pp = f"/periods/{period}"
    docs = {
        "contributions": [
            _doc(client, h, f"{pp}/contributions", {"owner_id": o1, "amount": "500.00"})
            for _ in range(2)
        ],
        "expenses": [
            _doc(
                client,
                h,
                f"{pp}/expenses",
                {"paid_by_owner_id": o1, "amount": "200", "payment_type": "SECURITY"},
            )
            for _ in range(2)
        ],
        "charges": [
            _doc(client, h, f"{pp}/charges", {"owner_id": o1, "amount": "50"}) for _ in range(2)
        ],
        "meter-readings": [
            _doc(
                client,
                h,
                f"{pp}/meter-readings",
                {"owner_id": o1, "meter_type": meter, "start_reading": 1, "end_reading": 5},
            )
            for meter in ("WATER", "GAS")
        ],
        "budget-items": [
            _doc(client, h, f"{pp}/budget-items", {"payment_type": kind, "budgeted_amount": "300"})
            for kind in ("SECURITY", "ROADS")
        ],
    }
    docs["settlements"] = [
        _doc(
            client, h, f"{pp}/settlements", {"from_owner_id": o1, "to_owner_id": o2, "amount": "10"}
        )
        for _ in range(2)
    ]
    templates = []
    for text in ("Guard", "Snow"):
        r = client.post(
            f"{P}/recurring-charges", json={"description": text, "amount": "100"}, headers=h
        )
        assert r.status_code == 201, r.text
        templates.append(r.json()["id"])
    # plots of O1 (one spare to deactivate), a meter, and a period covering today for the
    # owner's own reading (an owner sends today's)
    plots = [
        int(
            post(client, h, "/plots", {"number": n, "area": "100", "owners": [{"owner_id": o1}]})[
                "id"
            ]
        )
        for n in ("1", "2")
    ]
    meter = int(
        post(client, h, f"/plots/{plots[0]}/meters", {"meter_type": "ELECTRICITY", "serial": "E1"})[
            "id"
        ]
    )
    today = datetime.now(UTC).date()
    make_period(client, h, "Now", str(today - timedelta(days=10)), str(today + timedelta(days=10)))
    purchases = [
        _doc(client, h, f"{pp}/purchases", {"title": title, "deadline": "2099-12-31"})
        for title in ("Firewood", "Seedlings")
    ]
    items = [
        _doc(client, h, f"/purchases/{purchases[0]}/items", {"price": "10", "owner_id": o1}),
        _doc(client, h, f"/purchases/{purchases[0]}/items", {"price": "5"}),
    ]
    _doc(client, h, f"/purchases/{purchases[1]}/items", {"price": "10", "owner_id": o1})
    expense_templates = [
        _doc(client, h, "/recurring-expenses", {"amount": "100", "payment_type": kind})
        for kind in ("Guard", "Internet")
    ]
    shared_bill = _doc(
        client,
        h,
        f"{pp}/expenses",
        {
            "paid_by_owner_id": o2,
            "amount": "200",
            "payment_type": "GATE",
            "split": {"strategy": "EQUAL"},
        },
    )
    key = client.post(f"/api/communities/{a['id']}/api-keys", json={"name": "spare"}, headers=h)
    assert key.status_code == 201, key.text
    statement = "Дата;Сумма;Плательщик;Назначение\n01.11.2025;10,00;Кто-то;взнос\n02.11.2025;20,00;Никто;взнос\n"
    r = client.post(
        f"{P}/imports",
        files={"file": ("s.csv", statement.encode())},
        data={
            "mapping": '{"date": "Дата", "amount": "Сумма", "payer": "Плательщик", "purpose": "Назначение"}'
        },
        headers=h,
    )
    assert r.status_code == 202, r.text
    assert run_job(r.json()["id"]) == "SUCCEEDED"
    import_id = int(r.headers["Content-Location"].rsplit("/", 1)[1])
    lines = client.get(f"{P}/imports/{import_id}/lines", headers=h).json()

    fresh = datetime.now(UTC)
    headers = {
        "anonymous": {},
        "forged": {"Authorization": "tma " + make_init_data(t1, "654321:NOT-THE-TOKEN")},
        "stale": {
            "Authorization": "tma "
            + make_init_data(t1, BOT_TOKEN, auth_date=fresh - timedelta(hours=2))
        },
        "operator": OPERATOR,
        "other_admin": b["headers"],
        "other_owner": {"Authorization": "tma " + make_init_data(t2, BOT_TOKEN)},
        "owner": {"Authorization": "tma " + make_init_data(t1, BOT_TOKEN)},
        "admin": h,
    }
    return {
        "a": a,
        "b": b,
        "o1": o1,
        "o2": o2,
        "t1": t1,
        "period": period,
        "to_close": to_close,
        "to_reopen": to_reopen,
        "source": source,
        "job": job.json()["id"],
        "docs": docs,
        "templates": templates,
        "plots": plots,
        "meter": meter,
        "purchases": purchases,
        "items": items,
        "shared_bill": shared_bill,
        "expense_templates": expense_templates,
        "key": key.json()["id"],
        "import_id": import_id,
        "lines": [line["id"] for line in lines],
        "invoice": invoice,
        "headers": headers,
    }


def _url(method: str, path: str, w: dict[str, Any]) -> str:
    """The route's path with its parameters aimed at A's objects (the spare one for DELETE)."""
    spare = 1 if method == "DELETE" else 0
    period = w["period"]
    if path.endswith("/close"):
        period = w["to_close"]
    elif path.endswith("/reopen"):
        period = w["to_reopen"]
    kind = next((k for k in w["docs"] if f"/{k}/" in path), None)
    values = {
        "community_id": w["a"]["id"],
        "key_id": w["key"],
        "period_id": period,
        "owner_id": w["o1"],
        "job_id": w["job"],
        "template_id": w["expense_templates" if "/recurring-expenses/" in path else "templates"][
            spare
        ],
        "plot_id": w["plots"][spare],
        "meter_id": w["meter"],
        "purchase_id": w["purchases"][1 if path.endswith("/finalize") else 0],
        "item_id": w["items"][spare],
        "expense_id": w["shared_bill"],
        "doc_id": w["docs"][kind][spare] if kind else None,
        "import_id": w["import_id"],
        "invoice_id": w["invoice"],
        "kind": "png",
        "line_id": w["lines"][1 if path.endswith("/ignore") else 0],
    }
    return path.format(**values)


def _body(method: str, path: str, w: dict[str, Any]) -> dict[str, Any] | None:
    """A valid body for the route (so that a refusal is about who asks, not what)."""
    o1, o2 = w["o1"], w["o2"]
    if method == "PATCH":
        patches = {
            "/api/communities/": {"name": w["a"]["name"]},
            "/contributions/": {"comment": "checked"},
            "/expenses/": {"vendor": "Guards Ltd"},
            "/charges/": {"description": "checked"},
            "/meter-readings/": {"end_reading": 6},
            "/budget-items/": {"description": "checked"},
            "/owners/": {"name": "Anna"},
            "/recurring-charges/": {"description": "Guard (checked)"},
            "/periods/": {"description": "checked"},
            "/plots/": {"area": "120"},
            "/meters/": {"serial": "E1-checked"},
            "/purchases/": {"description": "checked"},
            "/recurring-expenses/": {"vendor": "checked"},
            "/purchase-items/": {"quantity": 2},
            "/settlements/": {"comment": "checked"},
        }
        return next(v for k, v in patches.items() if k in path)
    if method != "POST":
        return None
    if path.endswith("/contributions"):
        return {"owner_id": o1, "amount": "100.00", "comment": "matrix"}
    if path.endswith("/assign"):
        return {"owner_id": o1, "remember": True}
    bodies: dict[str, dict[str, Any]] = {
        "/api/communities": {"name": "Matrix village", "currency": "RUB", "timezone": "UTC"},
        "/api-keys": {"name": "matrix"},
        "/periods": {"name": "March 2026", "start_date": "2026-03-01", "end_date": "2026-03-31"},
        "/carry-forward": {"from_period_id": w["source"], "to_period_id": w["period"]},
        "/expenses": {"amount": "30", "payment_type": "ROADS"},
        "/charges": {"owner_id": o1, "amount": "5"},
        "/meter-readings": {
            "owner_id": o1,
            "meter_type": "ELECTRICITY",
            "start_reading": 10,
            "end_reading": 20,
        },
        "/budget-items": {"payment_type": "LIGHTS", "budgeted_amount": "100"},
        "/settlements": {"from_owner_id": o2, "to_owner_id": o1, "amount": "1"},
        "/owners": {"owner_id": unique_id(), "name": "Vera"},
        "/recurring-charges": {"description": "Fence", "amount": "10"},
        "/plots": {"number": f"m-{unique_id()}", "area": "50"},
        "/meters": {"meter_type": "WATER", "serial": "W1"},
        "/readings": {"values": {"T1": "10"}},
        "/purchases": {"title": "Gravel", "deadline": "2099-12-31"},
        "/items": {"price": "100", "quantity": 1},
        "/finalize": {"amount": "500"},
        "/recurring-expenses": {"amount": "10", "payment_type": "Guard"},
        "/settle": {"amount": "1"},
        "/imports/rules": {"inn": "7736520080", "payment_type": "ELECTRICITY"},
    }
    for suffix, body in bodies.items():
        if path.endswith(suffix):
            return body
    return {}  # close, reopen, link-token: no body


# ---------------------------------------------------------------- the tests


def test_every_rule_names_a_route() -> None:
    gone = sorted(set(RULES) - set(ROUTES))
    assert not gone, f"rules for routes the app no longer has: {gone}"


@pytest.mark.parametrize(("method", "path"), ROUTES, ids=[f"{m} {p}" for m, p in ROUTES])
def test_route(mclient: Any, world: dict[str, Any], method: str, path: str) -> None:
    expected = RULES.get((method, path))
    assert expected is not None, (
        f"{method} {path} has no authorization rule: add one to RULES in {__name__} "
        "(the expected status for every role)"
    )
    assert set(expected) == set(ROLES)
    url = _url(method, path, world)
    body = _body(method, path, world)
    wrong = []
    for role in ROLES:
        r = mclient.request(method, url, json=body, headers=world["headers"][role])
        if r.status_code != expected[role]:
            wrong.append(f"{role}: expected {expected[role]}, got {r.status_code} {r.text[:200]}")
        elif r.status_code >= 400:
            assert r.headers["content-type"].startswith("application/problem+json"), r.headers
            assert r.json()["detail"], r.text
    assert not wrong, f"{method} {url}\n" + "\n".join(wrong)


# ---------------------------------------------------------------- what the owners see


def _tma(telegram_id: int, **kw: Any) -> dict[str, str]:
    return {"Authorization": "tma " + make_init_data(telegram_id, BOT_TOKEN, **kw)}


def test_owner_lists_hold_only_their_own_rows(mclient: Any, world: dict[str, Any]) -> None:
    pid, o1 = world["period"], world["o1"]
    owner, other = world["headers"]["owner"], world["headers"]["other_owner"]
    for kind in ("contributions", "charges", "meter-readings"):
        mine = mclient.get(f"{P}/periods/{pid}/{kind}", headers=owner).json()
        assert mine and {row["owner_id"] for row in mine} == {o1}, (kind, mine)
        assert mclient.get(f"{P}/periods/{pid}/{kind}", headers=other).json() == [], kind
    sheet = mclient.get(f"{P}/periods/{pid}/balance-sheet", headers=owner).json()
    assert [e["owner_id"] for e in sheet["entries"]] == [o1]
    full = mclient.get(f"{P}/periods/{pid}/balance-sheet", headers=world["headers"]["admin"])
    assert len(full.json()["entries"]) >= 2
    # the period's totals are the whole community's, not the owner's line
    assert sheet["total_period_balance"] == full.json()["total_period_balance"]
    assert sheet["total_contributions"] == full.json()["total_contributions"]
    settlements = mclient.get(f"{P}/periods/{pid}/settlements", headers=owner).json()
    assert settlements and all(o1 in (s["from_owner_id"], s["to_owner_id"]) for s in settlements)
    owners = mclient.get(f"{P}/owners", headers=owner).json()
    assert [o["owner_id"] for o in owners] == [o1]


def test_an_owner_records_only_their_own_contribution(mclient: Any, world: dict[str, Any]) -> None:
    pid, o1, o2 = world["period"], world["o1"], world["o2"]
    owner = world["headers"]["owner"]
    url = f"{P}/periods/{pid}/contributions"
    before = sql("SELECT count(*) FROM contributions WHERE period_id = :p", p=pid)[0][0]
    r = mclient.post(url, json={"owner_id": o2, "amount": "1.00"}, headers=owner)
    assert r.status_code == 403, r.text
    # an unknown owner_id is refused as well, and creates no owner
    ghost = unique_id()
    r = mclient.post(url, json={"owner_id": ghost, "amount": "1.00"}, headers=owner)
    assert r.status_code == 403, r.text
    assert not sql("SELECT 1 FROM owners WHERE owner_id = :o", o=ghost)
    assert sql("SELECT count(*) FROM contributions WHERE period_id = :p", p=pid)[0][0] == before
    r = mclient.post(
        url,
        json={"user_id": o1, "amount": "12.34"},
        headers={**owner, "Idempotency-Key": f"mini-{unique_id()}"},
    )
    assert r.status_code == 201, r.text
    assert r.json()["owner_id"] == o1 and r.json()["amount"] == "12.34"
    row = sql("SELECT created_by FROM contributions WHERE id = :i", i=r.json()["id"])[0]
    assert row.created_by == f"telegram:{world['t1']}"
    actors = sql(
        "SELECT actor FROM audit_log WHERE entity = 'contribution' AND entity_id = :i",
        i=str(r.json()["id"]),
    )
    assert [a.actor for a in actors] == [f"telegram:{world['t1']}"]


def test_me_tells_the_mini_app_who_is_calling(mclient: Any, world: dict[str, Any]) -> None:
    me = mclient.get(f"{P}/me", headers=world["headers"]["owner"]).json()
    assert me == {
        "role": "owner",
        "community_id": world["a"]["id"],
        "community_name": world["a"]["name"],
        "currency": "RUB",
        "owner_id": world["o1"],
        "name": "Anna",
        "telegram_id": world["t1"],
        "is_admin": False,
        "language": "ru",
        "owner_language": None,
    }
    admin = mclient.get(f"{P}/me", headers=world["headers"]["admin"]).json()
    assert admin["role"] == "admin" and admin["owner_id"] is None
    assert admin["community_id"] == world["a"]["id"]
    operator = mclient.get(f"{P}/me", headers=OPERATOR).json()
    assert operator["role"] == "operator" and operator["community_id"] is None


# ---------------------------------------------------------------- Telegram sign-in


def test_a_telegram_admin_is_an_admin_of_that_community_only(mclient: Any) -> None:
    tg = unique_id()
    a = new_community(mclient, admin_telegram_ids=[tg])
    b = new_community(mclient)
    period = make_period(mclient, a["headers"])["id"]
    headers = _tma(tg)
    me = mclient.get(f"{P}/me", headers=headers).json()
    assert me["role"] == "admin" and me["community_id"] == a["id"] and me["owner_id"] is None
    r = mclient.post(
        f"{P}/periods/{period}/expenses",
        json={"amount": "10", "payment_type": "ROADS"},
        headers=headers,
    )
    assert r.status_code == 201, r.text
    assert r.json()["id"]
    # B exists but is not theirs
    assert mclient.get(f"/api/communities/{b['id']}", headers=headers).status_code == 404
    r = mclient.get(f"{P}/periods", headers={**headers, "X-Community-Id": str(b["id"])})
    assert r.status_code == 404, r.text


def test_an_owner_in_several_communities_names_one(mclient: Any) -> None:
    tg = unique_id()
    a, b, c = (new_community(mclient) for _ in range(3))
    for community in (a, b):
        post(mclient, community["headers"], "/owners", {"owner_id": tg, "telegram_id": tg})
    make_period(mclient, a["headers"], "A period")
    headers = _tma(tg)
    r = mclient.get(f"{P}/periods", headers=headers)
    assert r.status_code == 400, r.text
    assert "X-Community-Id" in r.json()["detail"]
    for community, names in ((a, ["A period"]), (b, [])):
        r = mclient.get(f"{P}/periods", headers={**headers, "X-Community-Id": str(community["id"])})
        assert r.status_code == 200, r.text
        assert [p["name"] for p in r.json()["periods"]] == names
        me = mclient.get(f"{P}/me", headers={**headers, "X-Community-Id": str(community["id"])})
        assert me.json()["community_id"] == community["id"]
    # a community they are not in, one that does not exist, and garbage
    for value, status in ((str(c["id"]), 404), ("987654321", 404), ("abc", 400)):
        r = mclient.get(f"{P}/periods", headers={**headers, "X-Community-Id": value})
        assert r.status_code == status, (value, r.text)


def test_telegram_users_who_are_not_owners_get_nothing(mclient: Any) -> None:
    tg = unique_id()
    r = mclient.get(f"{P}/periods", headers=_tma(tg))
    assert r.status_code in (403, 404), r.text
    # an owner who was deactivated no longer signs in
    a = new_community(mclient)
    post(mclient, a["headers"], "/owners", {"owner_id": tg, "telegram_id": tg})
    assert mclient.get(f"{P}/me", headers=_tma(tg)).status_code == 200
    r = mclient.patch(f"{P}/owners/{tg}", json={"is_active": False}, headers=a["headers"])
    assert r.status_code == 200, r.text
    assert mclient.get(f"{P}/me", headers=_tma(tg)).status_code in (403, 404)


@pytest.mark.parametrize(
    "authorization",
    [
        "tma ",
        "tma garbage",
        "Bearer abc",
        "tma user=%7B%22id%22%3A1%7D&auth_date=1&hash=00",
        "TMA " + "x" * 20_000,
    ],
)
def test_malformed_authorization_is_401(mclient: Any, authorization: str) -> None:
    r = mclient.get(f"{P}/periods", headers={"Authorization": authorization})
    assert r.status_code == 401, r.text
    assert r.headers["content-type"].startswith("application/problem+json")


def test_freshness_follows_the_setting(mclient: Any, world: dict[str, Any]) -> None:
    """auth_date 59 minutes ago passes, 61 minutes ago fails (KOPILKA_INIT_DATA_MAX_AGE=3600),
    a clock a little ahead passes, far ahead fails."""
    t1 = world["t1"]
    now = datetime.now(UTC)
    for delta, status in (
        (timedelta(minutes=-59), 200),
        (timedelta(minutes=-61), 401),
        (timedelta(seconds=30), 200),
        (timedelta(minutes=10), 401),
    ):
        r = mclient.get(f"{P}/me", headers=_tma(t1, auth_date=now + delta))
        assert r.status_code == status, (delta, r.text)


def test_init_data_is_never_logged(database: str) -> None:
    """A live server at INFO: the initData (and its hash) of accepted and refused requests
    appears nowhere in its output."""
    import httpx

    from tests.support.processes import base_env, start_api

    proc, url = start_api(base_env(KOPILKA_LOG_LEVEL="DEBUG"))
    try:
        client = httpx.Client(base_url=url, timeout=10)
        a = new_community(client)
        tg = unique_id()
        post(client, a["headers"], "/owners", {"owner_id": tg, "telegram_id": tg})
        pid = make_period(client, a["headers"])["id"]
        good = make_init_data(tg, BOT_TOKEN)
        stale = make_init_data(tg, BOT_TOKEN, auth_date=datetime.now(UTC) - timedelta(hours=3))
        forged = make_init_data(tg, "1:WRONG")
        for init_data, status in ((good, 200), (stale, 401), (forged, 401)):
            r = client.get(f"{P}/me", headers={"Authorization": f"tma {init_data}"})
            assert r.status_code == status, r.text
            assert init_data.rsplit("hash=", 1)[1] not in r.text
        r = client.post(
            f"{P}/periods/{pid}/contributions",
            json={"owner_id": tg, "amount": "1"},
            headers={"Authorization": f"tma {good}"},
        )
        assert r.status_code == 201, r.text
        client.close()
    finally:
        proc.stop()
    output = proc.output()
    assert '"event": "request"' in output or '"event":"request"' in output, output[-2000:]
    for init_data in (good, stale, forged):
        assert init_data not in output
        assert init_data.rsplit("hash=", 1)[1] not in output


def test_an_idempotency_key_replays_only_for_the_same_caller(
    mclient: Any, world: dict[str, Any]
) -> None:
    """Another caller sending the same key and body is not handed the first caller's answer
    (that would show O1's contribution to O2, and skip the 403 O2 gets for naming O1)."""
    url = f"{P}/periods/{world['period']}/contributions"
    key = {"Idempotency-Key": f"shared-{unique_id()}"}
    body = {"owner_id": world["o1"], "amount": "3.00"}
    first = mclient.post(url, json=body, headers={**world["headers"]["owner"], **key})
    assert first.status_code == 201, first.text
    again = mclient.post(url, json=body, headers={**world["headers"]["owner"], **key})
    assert again.status_code == 201 and again.json() == first.json()
    for role in ("other_owner", "admin"):
        r = mclient.post(url, json=body, headers={**world["headers"][role], **key})
        assert r.status_code in (403, 409, 422), (role, r.status_code, r.text)
        assert r.headers.get("Idempotent-Replayed") is None, role
