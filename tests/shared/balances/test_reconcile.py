"""The reconciliation of the maintained totals: a drift is found, logged, counted, never repaired;
and the triggers keep the totals equal to the rows through every kind of write."""

from __future__ import annotations

from typing import Any

from sqlalchemy import text
from structlog.testing import capture_logs

from kopilka.balances import reconcile
from kopilka.metrics import TOTALS_DRIFTS


def _community_period(s: Any) -> tuple[int, int, int]:
    cid = s.execute(
        text(
            "INSERT INTO communities (name, currency, timezone, default_strategy, "
            "auto_create_owners, version) VALUES ('R', 'RUB', 'UTC', 'PROPORTIONAL', true, 1) "
            "RETURNING id"
        )
    ).scalar_one()
    pid = s.execute(
        text(
            "INSERT INTO periods (community_id, name, start_date, end_date, status, version) "
            "VALUES (:c, 'P', '2025-01-01', '2025-01-31', 'OPEN', 1) RETURNING id"
        ),
        {"c": cid},
    ).scalar_one()
    pk = s.execute(
        text(
            "INSERT INTO owners (community_id, owner_id, share_weight, language, is_active, "
            "version) VALUES (:c, 1, 1, 'en', true, 1) RETURNING id"
        ),
        {"c": cid},
    ).scalar_one()
    return cid, pid, pk


def _entry(s: Any, cid: int, pid: int, pk: int, kind: str, amount: int) -> None:
    s.execute(
        text(
            "INSERT INTO ledger_entries (community_id, period_id, owner_pk, kind, amount_minor, "
            "source_type, source_id) VALUES (:c, :p, :o, :k, :a, 'contribution', 1)"
        ),
        {"c": cid, "p": pid, "o": pk, "k": kind, "a": amount},
    )


def test_triggers_keep_totals_equal_to_rows_through_every_write(db_session):
    s = db_session
    cid, pid, pk = _community_period(s)
    _entry(s, cid, pid, pk, "CONTRIBUTION", 500)
    _entry(s, cid, pid, pk, "CONTRIBUTION", -500)
    _entry(s, cid, pid, pk, "SETTLEMENT_PAID", 70)
    s.execute(
        text(
            "UPDATE ledger_entries SET amount_minor = 90 WHERE kind = 'SETTLEMENT_PAID' "
            "AND period_id = :p"
        ),
        {"p": pid},
    )
    s.execute(
        text("DELETE FROM ledger_entries WHERE amount_minor = -500 AND period_id = :p"), {"p": pid}
    )
    for amount, ptype, split in ((100, "Water", None), (200, "water", None), (50, "Water", "{}")):
        s.execute(
            text(
                "INSERT INTO expenses (community_id, period_id, amount_minor, payment_type, date, "
                "split, created_by, version) VALUES (:c, :p, :a, :t, '2025-01-02', "
                "CAST(:s AS jsonb), 'test', 1)"
            ),
            {"c": cid, "p": pid, "a": amount, "t": ptype, "s": split},
        )
    s.execute(
        text("UPDATE expenses SET deleted_at = now() WHERE amount_minor = 200 AND period_id = :p"),
        {"p": pid},
    )
    s.execute(
        text(
            "UPDATE expenses SET amount_minor = 150, payment_type = 'WATER' "
            "WHERE amount_minor = 100 AND period_id = :p"
        ),
        {"p": pid},
    )
    assert reconcile.check_totals(s, community_id=cid) == []
    row = s.execute(
        text(
            "SELECT contributions, settlements_paid, entries FROM owner_period_totals "
            "WHERE period_id = :p"
        ),
        {"p": pid},
    ).one()
    assert tuple(row) == (500, 90, 2)
    pooled = dict(
        s.execute(
            text(
                "SELECT payment_type || ':' || pooled, amount_minor FROM period_expense_totals "
                "WHERE period_id = :p AND expenses > 0"
            ),
            {"p": pid},
        ).all()
    )
    assert pooled == {"WATER:true": 150, "Water:false": 50}


def test_a_drift_is_reported_logged_and_counted_never_repaired(db_session):
    s = db_session
    cid, pid, pk = _community_period(s)
    _entry(s, cid, pid, pk, "CONTRIBUTION", 500)
    # Someone edits the totals by hand (or a writer bypassed the triggers).
    s.execute(
        text("UPDATE owner_period_totals SET contributions = 400 WHERE period_id = :p"),
        {"p": pid},
    )
    before = reconcile.DRIFTS
    metric = TOTALS_DRIFTS.labels("owner_period_totals")._value.get()
    with capture_logs() as logs:
        drifts = reconcile.check_totals(s, period_id=pid)
    assert [(d.table, d.column, d.rows, d.totals) for d in drifts] == [
        ("owner_period_totals", "contributions", 500, 400)
    ]
    assert before + 1 == reconcile.DRIFTS
    assert TOTALS_DRIFTS.labels("owner_period_totals")._value.get() == metric + 1
    assert [(e["event"], e["log_level"], e["column"]) for e in logs] == [
        ("totals_drift", "error", "contributions")
    ]
    # not repaired: the check found it again
    assert len(reconcile.check_totals(s, period_id=pid)) == 1
