"""A village of 2,000 plots with 3,000 meters and 12 months of readings: the consumption of a
period and a close with a TARIFF item (and a USAGE_BASED one), in a dedicated process; its time
and peak memory.

Goal (issue 15): within the close benchmark's goal, under 10 s and under 300 MiB.

The village: 1,900 owners; 2,000 plots (owners 1-100 hold two; 200 plots have two co-owners at
1/2 each); every plot has a two-zone ELECTRICITY meter and plots 1-1,000 a WATER meter (3,000
meters); 12 monthly periods (the first 11 CLOSED), a reading of every meter in every month
(36,000 readings, 1 % of the last month's estimated). The last month has an ELECTRICITY bill
(TARIFF 5.12 / 2.48, the loss shared PROPORTIONAL by the plots' areas) and a WATER bill
(USAGE_BASED). Rows go in through SQLAlchemy Core (the models' defaults apply).

``python -m bench.plots [--runs N]``
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from datetime import date
from decimal import Decimal
from typing import Any

from bench import common

NAME = "plots"
GOAL_SECONDS, GOAL_MIB = 10.0, 300.0
OWNERS, PLOTS, WATER_PLOTS, MONTHS = 1_900, 2_000, 1_000, 12


def build(db: str) -> dict[str, int]:
    """The village, its meters and a year of readings; returns the ids the child needs."""
    common.use_env_in_process(db)
    from sqlalchemy import insert, update

    from kopilka.db import make_engine, transaction
    from kopilka.models import (
        BudgetItem,
        Community,
        Expense,
        Meter,
        Owner,
        Period,
        Plot,
        PlotOwner,
        Reading,
    )

    t0 = time.perf_counter()
    engine = make_engine(db)  # its own engine: a run drops the database the last one used
    with transaction(engine) as s:
        cid = s.execute(
            insert(Community)
            .values(name="Bench village", currency="RUB", timezone="Europe/Moscow")
            .returning(Community.id)
        ).scalar_one()
        owner_pk = dict(
            s.execute(
                insert(Owner).returning(Owner.owner_id, Owner.id),
                [
                    {"community_id": cid, "owner_id": i, "name": f"Owner {i}", "language": "ru"}
                    for i in range(1, OWNERS + 1)
                ],
            ).all()
        )
        plot_ids = dict(
            s.execute(
                insert(Plot).returning(Plot.number, Plot.id),
                [
                    {
                        "community_id": cid,
                        "number": str(p),
                        "area": Decimal(600 + p % 400),
                        "weight": Decimal(600 + p % 400),
                    }
                    for p in range(1, PLOTS + 1)
                ],
            ).all()
        )
        holders = []
        for p in range(1, PLOTS + 1):
            first = (p - 1) % OWNERS + 1
            if p <= 200:
                second = (p + 500) % OWNERS + 1
                holders += [(p, first, 1, 2), (p, second, 1, 2)]
            else:
                holders.append((p, first, 1, 1))
        s.execute(
            insert(PlotOwner),
            [
                {
                    "plot_id": plot_ids[str(p)],
                    "owner_pk": owner_pk[o],
                    "fraction_num": n,
                    "fraction_den": d,
                }
                for p, o, n, d in holders
            ],
        )
        meters = []
        for p in range(1, PLOTS + 1):
            meters.append(
                {
                    "community_id": cid,
                    "plot_id": plot_ids[str(p)],
                    "meter_type": "ELECTRICITY",
                    "serial": f"E-{p}",
                    "zones": 2,
                    "initial_t1": Decimal(1000),
                    "initial_t2": Decimal(500),
                }
            )
            if p <= WATER_PLOTS:
                meters.append(
                    {
                        "community_id": cid,
                        "plot_id": plot_ids[str(p)],
                        "meter_type": "WATER",
                        "serial": f"W-{p}",
                        "zones": 1,
                        "initial_t1": Decimal(10),
                    }
                )
        meter_rows = s.execute(insert(Meter).returning(Meter.id, Meter.zones), meters).all()
        period_ids = []
        for m in range(1, MONTHS + 1):
            start = date(2025, m, 1)
            end = date(2025 + (m == 12), m % 12 + 1, 1).replace(day=1)
            end = date.fromordinal(end.toordinal() - 1)
            period_ids.append(
                s.execute(
                    insert(Period)
                    .values(
                        community_id=cid,
                        name=f"2025-{m:02d}",
                        start_date=start,
                        end_date=end,
                        status="CLOSED" if m < MONTHS else "OPEN",
                    )
                    .returning(Period.id)
                ).scalar_one()
            )
        readings = []
        for m, pid in enumerate(period_ids, start=1):
            for k, (mid, zones) in enumerate(meter_rows):
                readings.append(
                    {
                        "community_id": cid,
                        "meter_id": mid,
                        "period_id": pid,
                        "reading_date": date(2025, m, 25),
                        "value_t1": Decimal(1000 + m * (50 + mid % 37)),
                        "value_t2": Decimal(500 + m * (20 + mid % 11)) if zones == 2 else None,
                        "estimated": m == MONTHS and k % 100 == 0,
                        "created_by": "bench",
                    }
                )
        s.execute(insert(Reading), readings)
        last = period_ids[-1]
        s.execute(
            insert(BudgetItem),
            [
                {
                    "community_id": cid,
                    "period_id": last,
                    "payment_type": "ELECTRICITY",
                    "budgeted_amount_minor": 0,
                    "allocation_strategy": "TARIFF",
                    "meter_type": "ELECTRICITY",
                    "tariffs": {"T1": "5.12", "T2": "2.48"},
                    "loss_strategy": "PROPORTIONAL",
                },
                {
                    "community_id": cid,
                    "period_id": last,
                    "payment_type": "WATER",
                    "budgeted_amount_minor": 0,
                    "allocation_strategy": "USAGE_BASED",
                    "meter_type": "WATER",
                },
            ],
        )
        s.execute(
            insert(Expense),
            [
                {
                    "community_id": cid,
                    "period_id": last,
                    "amount_minor": 123_456_789,
                    "payment_type": "ELECTRICITY",
                    "date": date(2025, 12, 28),
                },
                {
                    "community_id": cid,
                    "period_id": last,
                    "amount_minor": 9_876_543,
                    "payment_type": "WATER",
                    "date": date(2025, 12, 28),
                },
            ],
        )
        s.execute(update(Community).where(Community.id == cid).values(version=1))
    seconds = time.perf_counter() - t0
    common.log(
        f"plots: {PLOTS} plots, {len(meter_rows)} meters, {len(readings)} readings in {seconds:.1f} s"
    )
    return {
        "community_id": cid,
        "period_id": period_ids[-1],
        "meters": len(meter_rows),
        "readings": len(readings),
    }


def child(db: str, community_id: int, period_id: int) -> None:
    """In a fresh process: the period's consumption (as GET /consumption computes it), then the
    close queued as the API does and run as the worker does."""
    common.use_env_in_process(db)
    from kopilka.context import Actor, Ctx, Role
    from kopilka.db import make_engine, session_factory
    from kopilka.jobs.registry import COMPENSATIONS, HANDLERS
    from kopilka.jobs.service import run
    from kopilka.periods.closing import request_close
    from kopilka.plots.readings import consumption

    engine = make_engine(db)
    actor = Actor(Role.ADMIN, "bench", community_id=community_id)
    times = []
    for _ in range(3):
        with session_factory(engine)() as s:
            t0 = time.perf_counter()
            out = consumption(Ctx(session=s, actor=actor), period_id)
            times.append(time.perf_counter() - t0)
    meters, missing, owners = len(out["meters"]), len(out["missing"]), len(out["owners"])
    with session_factory(engine)() as s, s.begin():
        job_id = request_close(Ctx(session=s, actor=actor), period_id).id
    t0 = time.perf_counter()
    status = run(job_id, HANDLERS, COMPENSATIONS, engine=engine)
    seconds = time.perf_counter() - t0
    peak = common.vm_status(os.getpid()).get("VmHWM", 0)
    with session_factory(engine)() as s:
        from sqlalchemy import text

        stored = s.execute(
            text(
                "SELECT count(*), sum(tariff_minor + loss_minor) FROM consumption_charges "
                "WHERE period_id = :p"
            ),
            {"p": period_id},
        ).one()
        from kopilka.models import Period
        from kopilka.periods.closing import check_stored

        period = s.get(Period, period_id)
        assert period is not None
        problems = check_stored(s, period)
        error = s.execute(text("SELECT error FROM jobs WHERE id = :j"), {"j": job_id}).scalar()
    print(
        json.dumps(
            {
                "consumption_seconds": [round(t, 3) for t in times],
                "consumption_meters": meters,
                "consumption_missing": missing,
                "consumption_owners": owners,
                "close_status": status,
                "close_error": error,
                "close_run_seconds": round(seconds, 2),
                "peak_rss_mib": round(peak / 1024, 1),
                "tariff_rows": stored[0],
                "tariff_total_minor": int(stored[1] or 0),
                "check_stored_problems": len(problems),
            }
        )
    )


def main(argv: list[str] | None = None) -> dict[str, Any]:
    args = sys.argv[1:] if argv is None else argv
    if args and args[0] == "--child":
        child(args[1], int(args[2]), int(args[3]))
        return {}
    p = argparse.ArgumentParser(description="Plots, meters and a TARIFF close")
    p.add_argument("--runs", type=int, default=3, help="closes, each on a fresh database")
    a = p.parse_args(args)
    db = common.bench_url("plots")
    runs = []
    for i in range(a.runs):
        common.drop_db(db)
        common.create_migrated_db(db)
        try:
            ids = build(db)
            common.wait_quiet(max_wait=30)
            r = common.run_child("bench.plots", db, str(ids["community_id"]), str(ids["period_id"]))
            r.update(ids)
            runs.append(r)
            common.log(
                f"plots run {i + 1}: consumption {r['consumption_seconds']} s, close "
                f"{r['close_run_seconds']} s ({r['close_status']}), peak {r['peak_rss_mib']} MiB"
            )
        finally:
            common.drop_db(db)
    ok = all(
        str(r["close_status"]).upper() == "SUCCEEDED"
        and r["close_run_seconds"] < GOAL_SECONDS
        and r["peak_rss_mib"] < GOAL_MIB
        and r["check_stored_problems"] == 0
        and max(r["consumption_seconds"]) < GOAL_SECONDS
        for r in runs
    )
    result = {
        **common.result_head("bench.plots", argv, common.bench_url()),
        "plots": PLOTS,
        "owners": OWNERS,
        "months": MONTHS,
        "goal": f"< {GOAL_SECONDS:g} s, < {GOAL_MIB:g} MiB",
        "runs": runs,
        "goal_met": ok,
        "note": "2 shared cores with 7 other helpers at work: a noisy machine",
    }
    common.finish(NAME, result)
    return result


if __name__ == "__main__":
    main()
