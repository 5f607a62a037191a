"""Plots, meters, readings and consumption (SPEC §3a), through the API on a real database."""

from __future__ import annotations

from datetime import date
from typing import Any

import pytest

from kopilka.auth.telegram import make_init_data
from tests.api._support import PAYMENTS, counts, scalar, sql
from tests.conftest import OPERATOR, unique_id

P = PAYMENTS
BOT_TOKEN = "123456:TEST-TOKEN"


def _post(
    client: Any, h: dict[str, str], path: str, body: dict[str, Any], status: int = 201
) -> Any:
    r = client.post(P + path, json=body, headers=h)
    assert r.status_code == status, r.text
    return r.json()


def _plot(client: Any, h: dict[str, str], number: str, area: str, owners: list[Any]) -> Any:
    return _post(client, h, "/plots", {"number": number, "area": area, "owners": owners})


def _meter(client: Any, h: dict[str, str], plot_id: int, **body: Any) -> Any:
    body = {"meter_type": "ELECTRICITY", "serial": f"S-{unique_id()}", **body}
    return _post(client, h, f"/plots/{plot_id}/meters", body)


def _owner(client: Any, h: dict[str, str], name: str = "X", **kw: Any) -> int:
    oid = unique_id()
    _post(client, h, "/owners", {"owner_id": oid, "name": name, **kw})
    return oid


# ---------------------------------------------------------------- plots


def test_plot_crud_number_unique_area_and_default_weight(
    client: Any, admin: dict[str, str]
) -> None:
    a = _owner(client, admin)
    plot = _plot(client, admin, "17а", "600.5", [{"owner_id": a}])
    assert plot["number"] == "17а"
    assert plot["area"] == "600.5" and plot["weight"] == "600.5"  # weight defaults to the area
    assert plot["owners"] == [{"owner_id": a, "name": "X", "fraction": "1"}]
    assert plot["active"] is True
    r = client.post(f"{P}/plots", json={"number": "17а", "area": "10"}, headers=admin)
    assert r.status_code == 409 and "17а" in r.json()["detail"]
    for bad in (
        {"number": "18", "area": "0"},
        {"number": "18", "area": "-1"},
        {"number": "18", "area": "10", "weight": "0"},
        {"number": " ", "area": "1"},
    ):
        r = client.post(f"{P}/plots", json=bad, headers=admin)
        assert r.status_code == 400, (bad, r.text)
        assert r.headers["content-type"].startswith("application/problem+json")
    got = client.get(f"{P}/plots/{plot['id']}", headers=admin)
    assert got.status_code == 200 and got.headers["ETag"] == '"1"'
    r = client.patch(f"{P}/plots/{plot['id']}", json={"area": "700"}, headers=admin)
    assert r.status_code == 200 and r.json()["weight"] == "700"  # the weight followed the area
    r = client.patch(f"{P}/plots/{plot['id']}", json={"weight": "1"}, headers=admin)
    assert r.json()["weight"] == "1" and r.json()["area"] == "700"
    r = client.patch(f"{P}/plots/{plot['id']}", json={"area": "800"}, headers=admin)
    assert r.json()["weight"] == "1"  # an explicit weight stays
    r = client.patch(
        f"{P}/plots/{plot['id']}", json={"area": "1"}, headers={**admin, "If-Match": '"1"'}
    )
    assert r.status_code == 412
    assert client.delete(f"{P}/plots/{plot['id']}", headers=admin).status_code == 204
    assert client.get(f"{P}/plots/{plot['id']}", headers=admin).json()["active"] is False
    listed = client.get(f"{P}/plots?active=false", headers=admin).json()
    assert [p["id"] for p in listed] == [plot["id"]]
    actions = [
        r[0]
        for r in sql(
            "SELECT action FROM audit_log WHERE entity = 'plot' AND entity_id = :i ORDER BY id",
            i=str(plot["id"]),
        )
    ]
    assert actions == ["plot.create"] + ["plot.update"] * 4


def test_fractions_are_exact_and_sum_to_one(
    client: Any, admin: dict[str, str], community: dict[str, Any]
) -> None:
    a, b, c = (_owner(client, admin) for _ in range(3))
    plot = _plot(
        client,
        admin,
        "1",
        "300",
        [{"owner_id": a, "fraction": "1/3"}, {"owner_id": b, "fraction": "1/3"}, {"owner_id": c}],
    )
    assert [o["fraction"] for o in plot["owners"]] == ["1/3", "1/3", "1/3"]
    plot2 = _plot(
        client,
        admin,
        "2",
        "100",
        [{"owner_id": a, "fraction": 0.25}, {"owner_id": b, "fraction": "0.75"}],
    )
    assert {o["owner_id"]: o["fraction"] for o in plot2["owners"]} == {a: "0.25", b: "0.75"}
    before = counts(community["id"])
    n_plots = scalar("SELECT count(*) FROM plots WHERE community_id = :c", c=community["id"])
    bad_sets = [
        [{"owner_id": a, "fraction": "0.5"}, {"owner_id": b, "fraction": "0.4"}],  # 0.9
        [{"owner_id": a, "fraction": "0.6"}, {"owner_id": b, "fraction": "0.6"}],  # 1.2
        [{"owner_id": a}, {"owner_id": b}],  # two omitted
        [{"owner_id": a, "fraction": "0"}, {"owner_id": b}],
        [{"owner_id": a, "fraction": "1"}, {"owner_id": b}],  # nothing left
        [{"owner_id": a, "fraction": "abc"}],
        [{"owner_id": a, "fraction": "1/0"}],
        [{"owner_id": a, "fraction": True}],
        [{"owner_id": a, "fraction": "0.5"}, {"owner_id": a, "fraction": "0.5"}],
        [{"owner_id": a, "fraction": "0.3333333333"}, {"owner_id": b, "fraction": "0.6666666666"}],
    ]
    for owners in bad_sets:
        r = client.post(
            f"{P}/plots", json={"number": "3", "area": "10", "owners": owners}, headers=admin
        )
        assert r.status_code == 400, (owners, r.text)
        assert "owner" in r.json()["detail"]
    assert counts(community["id"]) == before
    assert (
        scalar("SELECT count(*) FROM plots WHERE community_id = :c", c=community["id"]) == n_plots
    )


def test_share_weight_is_derived_exactly_and_patch_is_409(
    client: Any, admin: dict[str, str]
) -> None:
    from fractions import Fraction

    from kopilka.db import session_factory
    from kopilka.plots.consumption import derived_weights

    a, b, loner = _owner(client, admin), _owner(client, admin), _owner(client, admin)
    _plot(client, admin, "1", "601", [{"owner_id": a, "fraction": "1/3"}, {"owner_id": b}])
    _plot(client, admin, "2", "400", [{"owner_id": a}])
    pk = {oid: scalar("SELECT id FROM owners WHERE owner_id = :o", o=oid) for oid in (a, b, loner)}
    cid = scalar("SELECT community_id FROM owners WHERE id = :p", p=pk[a])
    with session_factory()() as s:
        w = derived_weights(s, cid)
    assert w[pk[a]] == Fraction(601, 3) + 400  # exact: no rounding
    assert w[pk[b]] == Fraction(1202, 3)
    assert pk[loner] not in w
    r = client.patch(f"{P}/owners/{a}", json={"share_weight": "2"}, headers=admin)
    assert r.status_code == 409 and "plots" in r.json()["detail"]
    r = client.patch(f"{P}/owners/{loner}", json={"share_weight": "2"}, headers=admin)
    assert (
        r.status_code == 200 and r.json()["share_weight"] == "2"
    )  # owners without plots: as before
    assert client.patch(f"{P}/owners/{a}", json={"name": "A"}, headers=admin).status_code == 200
    # the owner as the API shows it carries the weight the allocation uses: 601/3 + 400 = 600.333333
    one = client.get(f"{P}/owners/{a}", headers=admin).json()
    assert one["share_weight"] == "600.333333" and one["share_weight_from_plots"] is True
    listed = {o["owner_id"]: o for o in client.get(f"{P}/owners", headers=admin).json()}
    assert listed[b]["share_weight"] == "400.666667" and listed[b]["share_weight_from_plots"]
    assert (
        listed[loner]["share_weight"] == "2" and listed[loner]["share_weight_from_plots"] is False
    )


def test_proportional_uses_the_derived_weights(
    client: Any, admin: dict[str, str], period: dict[str, Any]
) -> None:
    a, b, c = _owner(client, admin), _owner(client, admin), _owner(client, admin)
    # a: 1/3 of 600 + all of 300 = 500; b: 2/3 of 600 = 400; c: no plot, weight 1 (its own)
    _plot(client, admin, "10", "600", [{"owner_id": a, "fraction": "1/3"}, {"owner_id": b}])
    _plot(client, admin, "11", "300", [{"owner_id": a}])
    pid = period["id"]
    _post(client, admin, f"/periods/{pid}/expenses", {"amount": "1802.00", "payment_type": "ROADS"})
    sheet = client.get(f"{P}/periods/{pid}/balance-sheet", headers=admin).json()
    alloc = {e["owner_id"]: e["total_allocated"] for e in sheet["entries"]}
    assert alloc[a] == "1000.00" and alloc[b] == "800.00" and alloc[c] == "2.00"


# ---------------------------------------------------------------- meters and readings


def test_meters_zones_initial_and_replacement(client: Any, admin: dict[str, str]) -> None:
    plot = _plot(client, admin, "5", "100", [{"owner_id": _owner(client, admin)}])
    m = _meter(client, admin, plot["id"], zones=2, initial_readings={"T1": "1200", "t2": 800.5})
    assert m["zones"] == 2 and m["zone_names"] == ["T1", "T2"]
    assert m["initial_readings"] == {"T1": "1200", "T2": "800.5"}
    assert m["meter_type"] == "ELECTRICITY" and m["plot_number"] == "5"
    for bad in (
        {"zones": 0},
        {"zones": 4},
        {"zones": 1, "initial_readings": {"T2": 1}},
        {"initial_readings": {"T1": -1}},
        {"initial_readings": {"T1": "1.00001"}},
        {"meter_type": " "},
    ):
        r = client.post(
            f"{P}/plots/{plot['id']}/meters",
            json={"meter_type": "WATER", "serial": "W1", **bad},
            headers=admin,
        )
        assert r.status_code == 400, (bad, r.text)
    # a replacement: the old meter is deactivated, a new one added
    r = client.patch(f"{P}/meters/{m['id']}", json={"active": False}, headers=admin)
    assert r.status_code == 200 and r.json()["active"] is False
    new = _meter(client, admin, plot["id"], zones=2, initial_readings={"T1": "0", "T2": "0"})
    listed = client.get(f"{P}/plots/{plot['id']}/meters", headers=admin).json()
    assert [(x["id"], x["active"]) for x in listed] == [(m["id"], False), (new["id"], True)]
    assert client.get(f"{P}/plots/999999999/meters", headers=admin).status_code == 404


def test_readings_previous_replacement_and_one_per_period(
    client: Any, admin: dict[str, str]
) -> None:
    h = admin
    oct_ = _post(
        client, h, "/periods", {"name": "Oct", "start_date": "2025-10-01", "end_date": "2025-10-31"}
    )
    nov = _post(
        client, h, "/periods", {"name": "Nov", "start_date": "2025-11-01", "end_date": "2025-11-30"}
    )
    plot = _plot(client, h, "7", "100", [{"owner_id": _owner(client, h)}])
    m = _meter(client, h, plot["id"], zones=2, initial_readings={"T1": "100", "T2": "50"})
    mid = m["id"]
    r1 = _post(
        client,
        h,
        f"/meters/{mid}/readings",
        {"reading_date": "2025-10-25", "values": {"T1": "150", "T2": "70"}},
    )
    assert r1["period_id"] == oct_["id"]
    assert r1["previous"] == {"T1": "100", "T2": "50"} and r1["consumption"] == {
        "T1": "50",
        "T2": "20",
    }
    # below the previous reading: 400 naming it, nothing stored
    r = client.post(
        f"{P}/meters/{mid}/readings",
        json={"reading_date": "2025-11-25", "values": {"T1": "140", "T2": "80"}},
        headers=h,
    )
    assert r.status_code == 400
    problem = r.json()
    assert "140 is below 150" in problem["detail"] and "2025-10-25" in problem["detail"]
    assert (
        problem["previous"] == {"T1": "150", "T2": "70"}
        and problem["previous_reading_id"] == r1["id"]
    )
    assert scalar("SELECT count(*) FROM readings WHERE meter_id = :m", m=mid) == 1
    # missing zone, unknown zone, no period covering the date
    for body in (
        {"reading_date": "2025-11-25", "values": {"T1": "160"}},
        {"reading_date": "2025-11-25", "values": {"T1": "160", "T2": "80", "T3": "1"}},
        {"reading_date": "2024-01-01", "values": {"T1": "160", "T2": "80"}},
    ):
        assert client.post(f"{P}/meters/{mid}/readings", json=body, headers=h).status_code == 400, (
            body
        )
    # the admin marks a replacement: accepted, counted from zero
    rr = _post(
        client,
        h,
        f"/meters/{mid}/readings",
        {"reading_date": "2025-11-25", "values": {"T1": "5", "T2": "3"}, "replacement": True},
    )
    assert rr["replacement"] is True and rr["consumption"] == {"T1": "5", "T2": "3"}
    # a second reading in the same OPEN period replaces the first, audited
    r2 = _post(
        client,
        h,
        f"/meters/{mid}/readings",
        {"reading_date": "2025-11-26", "values": {"T1": "210", "T2": "95"}},
    )
    assert r2["id"] == rr["id"] and r2["version"] == 2 and r2["replacement"] is False
    assert r2["consumption"] == {"T1": "60", "T2": "25"}
    assert (
        scalar(
            "SELECT count(*) FROM readings WHERE meter_id = :m AND period_id = :p",
            m=mid,
            p=nov["id"],
        )
        == 1
    )
    audit = sql(
        "SELECT action, before->>'value_t1', after->>'value_t1' FROM audit_log WHERE entity = 'reading' AND entity_id = :i ORDER BY id",
        i=str(rr["id"]),
    )
    assert [tuple(a) for a in audit] == [
        ("reading.create", None, "5.0000"),
        ("reading.replace", "5.0000", "210"),
    ] or [a[0] for a in audit] == ["reading.create", "reading.replace"]
    listed = client.get(f"{P}/meters/{mid}/readings", headers=h).json()
    assert [x["id"] for x in listed] == [r1["id"], rr["id"]]
    # a CLOSED period takes no reading
    sql("UPDATE periods SET status = 'CLOSED' WHERE id = :p", p=oct_["id"])
    r = client.post(
        f"{P}/meters/{mid}/readings",
        json={"reading_date": "2025-10-26", "values": {"T1": "150", "T2": "70"}},
        headers=h,
    )
    assert r.status_code == 409


def test_consumption_per_meter_and_owner_with_missing(
    client: Any, admin: dict[str, str], period: dict[str, Any]
) -> None:
    h, pid = admin, period["id"]
    a, b = _owner(client, h, "Anna"), _owner(client, h, "Boris")
    p1 = _plot(client, h, "1", "100", [{"owner_id": a, "fraction": "0.5"}, {"owner_id": b}])
    p2 = _plot(client, h, "2", "100", [{"owner_id": a}])
    m1 = _meter(
        client, h, p1["id"], zones=2, serial="E-1", initial_readings={"T1": "1000", "T2": "500"}
    )
    m2 = _meter(client, h, p2["id"], serial="E-2", initial_readings={"T1": "10"})
    w = _meter(client, h, p2["id"], meter_type="water", serial="W-2")
    _post(
        client,
        h,
        f"/meters/{m1['id']}/readings",
        {"reading_date": "2025-11-20", "values": {"T1": "1101", "T2": "533"}},
    )
    _post(
        client,
        h,
        f"/meters/{w['id']}/readings",
        {"reading_date": "2025-11-20", "values": {"T1": "7.5"}},
    )
    out = client.get(f"{P}/periods/{pid}/consumption", headers=h).json()
    by_meter = {m["serial"]: m for m in out["meters"]}
    assert (
        by_meter["E-1"]["consumption"] == {"T1": "101", "T2": "33"}
        and by_meter["E-1"]["total"] == "134"
    )
    assert by_meter["E-2"]["missing"] is True and by_meter["E-2"]["consumption"] is None
    assert [m["serial"] for m in out["missing"]] == ["E-2"]
    assert (
        out["missing"][0]["plot_number"] == "2" and out["missing"][0]["owners"][0]["owner_id"] == a
    )
    owners = {o["owner_id"]: o for o in out["owners"]}
    assert owners[a]["by_type"]["ELECTRICITY"] == {
        "zones": {"T1": "50.5", "T2": "16.5"},
        "total": "67",
    }
    assert owners[b]["by_type"]["ELECTRICITY"] == {
        "zones": {"T1": "50.5", "T2": "16.5"},
        "total": "67",
    }
    assert owners[a]["by_type"]["WATER"]["total"] == "7.5"
    assert owners[a]["missing_meter_ids"] == [m2["id"]] and owners[b]["missing_meter_ids"] == []
    only = client.get(f"{P}/periods/{pid}/consumption?meter_type=water", headers=h).json()
    assert [m["serial"] for m in only["meters"]] == ["W-2"]


def test_owner_sees_only_their_plots_and_meters(
    client: Any,
    community: dict[str, Any],
    admin: dict[str, str],
    period: dict[str, Any],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("TELEGRAM_BOT_TOKEN", BOT_TOKEN)
    from kopilka.config import get_settings

    get_settings.cache_clear()
    try:
        t1, t2 = unique_id(), unique_id()
        a = _owner(client, admin, telegram_id=t1)
        b = _owner(client, admin, telegram_id=t2)
        mine = _plot(client, admin, "1", "10", [{"owner_id": a}])
        theirs = _plot(client, admin, "2", "10", [{"owner_id": b}])
        m_mine = _meter(client, admin, mine["id"])
        m_theirs = _meter(client, admin, theirs["id"])
        tma = {"Authorization": "tma " + make_init_data(t1, BOT_TOKEN)}
        assert [p["id"] for p in client.get(f"{P}/plots", headers=tma).json()] == [mine["id"]]
        assert client.get(f"{P}/plots/{theirs['id']}", headers=tma).status_code == 404
        assert client.get(f"{P}/plots/{theirs['id']}/meters", headers=tma).status_code == 404
        assert client.get(f"{P}/meters/{m_theirs['id']}/readings", headers=tma).status_code == 404
        r = client.post(
            f"{P}/meters/{m_theirs['id']}/readings", json={"values": {"T1": "1"}}, headers=tma
        )
        assert r.status_code == 404
        assert client.get(f"{P}/plots/{mine['id']}/meters", headers=tma).status_code == 200
        assert (
            client.post(f"{P}/plots", json={"number": "9", "area": "1"}, headers=tma).status_code
            == 403
        )
        assert (
            client.patch(
                f"{P}/meters/{m_mine['id']}", json={"active": False}, headers=tma
            ).status_code
            == 403
        )
        out = client.get(f"{P}/periods/{period['id']}/consumption", headers=tma).json()
        assert [m["meter_id"] for m in out["meters"]] == [m_mine["id"]]
        assert [o["owner_id"] for o in out["owners"]] == [a]
    finally:
        get_settings.cache_clear()


def test_reading_window_for_owners_admins_any_time(
    client: Any, community: dict[str, Any], admin: dict[str, str], monkeypatch: pytest.MonkeyPatch
) -> None:
    """Owners send today's reading inside the window (409 outside); admins any day."""
    monkeypatch.setenv("TELEGRAM_BOT_TOKEN", BOT_TOKEN)
    from datetime import datetime
    from zoneinfo import ZoneInfo

    from kopilka.config import get_settings

    get_settings.cache_clear()
    try:
        today = datetime.now(ZoneInfo("Europe/Moscow")).date()
        start = today.replace(day=1)
        end = (
            start.replace(year=start.year + 1, month=1)
            if start.month == 12
            else start.replace(month=start.month + 1)
        )
        from datetime import timedelta

        _post(
            client,
            admin,
            "/periods",
            {"name": "Now", "start_date": str(start), "end_date": str(end - timedelta(days=1))},
        )
        t1 = unique_id()
        a = _owner(client, admin, telegram_id=t1)
        plot = _plot(client, admin, "1", "10", [{"owner_id": a}])
        m = _meter(client, admin, plot["id"], initial_readings={"T1": "100"})
        tma = {"Authorization": "tma " + make_init_data(t1, BOT_TOKEN)}
        outside = {"from_day": today.day % 28 + 1, "to_day": today.day % 28 + 1}
        if outside["from_day"] == today.day:
            outside = {"from_day": (today.day + 1) % 28 + 1, "to_day": (today.day + 1) % 28 + 1}
        r = client.patch(
            f"/api/communities/{community['id']}",
            json={"reading_window": outside},
            headers=OPERATOR,
        )
        assert r.status_code == 200 and r.json()["reading_window"] == outside
        r = client.post(
            f"{P}/meters/{m['id']}/readings", json={"values": {"T1": "120"}}, headers=tma
        )
        assert r.status_code == 409 and f"day {outside['from_day']}" in r.json()["detail"]
        # the admin records any time
        assert (
            client.post(
                f"{P}/meters/{m['id']}/readings", json={"values": {"T1": "110"}}, headers=admin
            ).status_code
            == 201
        )
        inside = {"from_day": today.day, "to_day": today.day}
        client.patch(
            f"/api/communities/{community['id']}", json={"reading_window": inside}, headers=OPERATOR
        )
        r = client.post(
            f"{P}/meters/{m['id']}/readings", json={"values": {"T1": "120"}}, headers=tma
        )
        assert r.status_code == 201, r.text
        assert r.json()["previous"] == {"T1": "100"} and r.json()["consumption"] == {"T1": "20"}
        # owners may not mark estimates or replacements, nor send another day's reading
        for body in (
            {"values": {"T1": "130"}, "estimated": True},
            {"values": {"T1": "1"}, "replacement": True},
        ):
            assert (
                client.post(f"{P}/meters/{m['id']}/readings", json=body, headers=tma).status_code
                == 403
            )
        r = client.post(
            f"{P}/meters/{m['id']}/readings",
            json={
                "values": {"T1": "130"},
                "reading_date": str(start if today != start else end - timedelta(days=1)),
            },
            headers=tma,
        )
        assert r.status_code == 400
        # a bad window is 400
        for bad in ({"from_day": 0, "to_day": 5}, {"from_day": 1}, {"from_day": 1, "to_day": 40}):
            r = client.patch(
                f"/api/communities/{community['id']}",
                json={"reading_window": bad},
                headers=OPERATOR,
            )
            assert r.status_code == 400, bad
    finally:
        get_settings.cache_clear()


def test_in_window_wraps_over_the_month_end() -> None:
    from kopilka.plots.window import in_window

    assert in_window(None, date(2025, 1, 1))
    w = {"from_day": 20, "to_day": 25}
    assert [d for d in range(1, 32) if in_window(w, date(2025, 1, d))] == [20, 21, 22, 23, 24, 25]
    w = {"from_day": 28, "to_day": 3}
    assert [d for d in range(1, 32) if in_window(w, date(2025, 1, d))] == [1, 2, 3, 28, 29, 30, 31]


def test_recurring_charges_per_share_weight_use_the_derived_weight(client: Any) -> None:
    from datetime import UTC, datetime

    from kopilka.db import transaction
    from kopilka.recurring.service import generate_due_charges
    from tests.conftest import new_community

    c = new_community(client)
    h = c["headers"]
    a, b, loner = _owner(client, h), _owner(client, h), _owner(client, h, share_weight="2")
    # a: 1/3 of 601 = 200.333..; b: 2/3 of 601 = 400.666..; loner: own weight 2
    _plot(client, h, "1", "601", [{"owner_id": a, "fraction": "1/3"}, {"owner_id": b}])
    nov = _post(
        client, h, "/periods", {"name": "N", "start_date": "2025-11-01", "end_date": "2025-11-30"}
    )
    _post(
        client,
        h,
        "/recurring-charges",
        {
            "description": "roads",
            "amount": "1.50",
            "basis": "PER_SHARE_WEIGHT",
            "start_date": "2025-11-01",
        },
    )
    with transaction() as s:
        generate_due_charges(s, datetime(2025, 11, 2, 12, tzinfo=UTC))
    got = dict(
        (r[0], r[1])
        for r in sql(
            "SELECT o.owner_id, sc.amount_minor FROM service_charges sc JOIN owners o ON o.id = sc.owner_pk "
            "WHERE sc.period_id = :p",
            p=nov["id"],
        )
    )
    # 150 x 601/3 = 30050 exactly; 150 x 1202/3 = 60100; 150 x 2 = 300
    assert got == {a: 30050, b: 60100, loner: 300}


def test_tariff_budget_items_validate_their_tariffs(
    client: Any, admin: dict[str, str], period: dict[str, Any], community: dict[str, Any]
) -> None:
    pid = period["id"]
    base = {
        "payment_type": "ELECTRICITY",
        "budgeted_amount": "100",
        "allocation_strategy": "TARIFF",
        "meter_type": "electricity",
    }
    before = counts(community["id"])
    for bad in (
        {},  # no tariffs
        {"tariffs": {"T4": "1"}},
        {"tariffs": {"T1": "-1"}},
        {"tariffs": {"T1": "1.0000001"}},
        {"tariffs": {"T1": True}},
        {"tariffs": {"T1": "1"}, "loss_strategy": "EXACT"},
        {"tariffs": {"T1": "1"}, "meter_type": None},
    ):
        r = client.post(f"{P}/periods/{pid}/budget-items", json={**base, **bad}, headers=admin)
        assert r.status_code == 400, (bad, r.text)
    r = client.post(
        f"{P}/periods/{pid}/budget-items",
        json={"payment_type": "ROADS", "budgeted_amount": "1", "tariffs": {"T1": "1"}},
        headers=admin,
    )
    assert r.status_code == 400 and "TARIFF" in r.json()["detail"]
    assert counts(community["id"]) == before
    item = _post(
        client,
        admin,
        f"/periods/{pid}/budget-items",
        {**base, "tariffs": {"t1": "5.12", "T2": 2.48}},
    )
    assert (
        item["tariffs"] == {"T1": "5.12", "T2": "2.48"} and item["loss_strategy"] == "PROPORTIONAL"
    )
    assert item["meter_type"] == "ELECTRICITY"
    r = client.patch(
        f"{P}/budget-items/{item['id']}", json={"loss_strategy": "equal"}, headers=admin
    )
    assert r.status_code == 200 and r.json()["loss_strategy"] == "FIXED_FEE"
    assert r.json()["tariffs"] == {"T1": "5.12", "T2": "2.48"}  # kept
    r = client.patch(
        f"{P}/budget-items/{item['id']}",
        json={"allocation_strategy": "PROPORTIONAL"},
        headers=admin,
    )
    assert (
        r.status_code == 200 and r.json()["tariffs"] is None and r.json()["loss_strategy"] is None
    )
