"""What the maintained totals cost the write path (issue 18): recording with and without them.

One database (1,000 owners, 100,000 rows), the same code, the same client; the only difference
is whether the triggers of migration 0007 run (``ALTER TABLE ... DISABLE TRIGGER`` for the
"without" runs: the write path as it was before issue 18, whose Python code is unchanged). Per
configuration and round: the capacity (closed model, 16 clients; API CPU per contribution) and
the goal rate (open model, 300/s) with every count and sum checked in PostgreSQL. Rounds
alternate the configurations, so the machine's drift falls on both.

``python -m bench.writes [--rounds 3] [--duration 10]``
"""

from __future__ import annotations

import argparse
from typing import Any

from bench import common, datagen
from bench.recording import CAPACITY_CLIENTS, GOAL_RATE, Periods, _line, closed, step

NAME = "writes"
TRIGGERS = {
    "ledger_entries": ["ledger_entries_totals_ins", "ledger_entries_totals_upd",
                       "ledger_entries_totals_del"],
    "expenses": ["expenses_totals_ins", "expenses_totals_upd", "expenses_totals_del",
                 "expenses_allocation_insert", "expenses_allocation_update",
                 "expenses_allocation_delete"],
}  # fmt: skip


def set_triggers(db: str, enabled: bool) -> None:
    verb = "ENABLE" if enabled else "DISABLE"
    with common.pg_connect(common.libpq(db), autocommit=True) as c:
        for table, names in TRIGGERS.items():
            for name in names:
                c.execute(f"ALTER TABLE {table} {verb} TRIGGER {name}")


def main(argv: list[str] | None = None) -> dict[str, Any]:
    p = argparse.ArgumentParser(description="Recording with and without the maintained totals")
    p.add_argument("--rounds", type=int, default=3)
    p.add_argument("--duration", type=float, default=10.0)
    a = p.parse_args(argv)
    db = common.bench_url("writes")
    common.log("writes: preparing the database (1,000 owners, 100,000 rows)")
    common.create_migrated_db(db)
    ds = datagen.build_dataset(db, "writes", 1_000, 100_000)
    datagen.vacuum_analyze(db)
    result: dict[str, Any] = {
        **common.result_head("bench.writes", argv, db),
        "rounds": [],
    }
    period = Periods(ds.api_key).new
    try:
        for r in range(a.rounds):
            round_: dict[str, Any] = {}
            for label, enabled in (("without_totals", False), ("with_totals", True)):
                set_triggers(db, enabled)
                api, api_url = common.start_api(
                    common.child_env(db), workers=2, name=f"api-wr-{label}"
                )
                try:
                    pid = period(api_url, f"warm {r} {label}")
                    closed(db, api_url, api.pid, ds.api_key, pid, 4, 3, f"wu{r}{label}")
                    common.wait_quiet(max_wait=15)
                    pid = period(api_url, f"cap {r} {label}")
                    cap = closed(
                        db, api_url, api.pid, ds.api_key, pid, CAPACITY_CLIENTS, a.duration,
                        f"cap{r}{label}",
                    )  # fmt: skip
                    common.wait_quiet(max_wait=15)
                    pid = period(api_url, f"goal {r} {label}")
                    goal = step(
                        db, api_url, api.pid, ds.api_key, pid, GOAL_RATE, a.duration,
                        f"goal{r}{label}",
                    )  # fmt: skip
                finally:
                    api.stop()
                round_[label] = {"capacity": cap, "goal": goal}
                common.log(f"  round {r + 1} {label}: capacity {_line(cap)}")
                common.log(f"  round {r + 1} {label}: {GOAL_RATE:g}/s {_line(goal)}")
            result["rounds"].append(round_)
    finally:
        set_triggers(db, True)
    common.finish(NAME, result)
    return result


if __name__ == "__main__":
    main()
