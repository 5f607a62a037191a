"""Balance sheet: the live sheet of an OPEN period, in-process and over HTTP.

Goal (issue 8): 1,000 owners with 100,000 rows under 200 ms; 10,000 owners with 1,000,000 rows
under 2 s. For each data set of the benchmark database (see ``bench.datagen``):

* in-process, ``kopilka.balances.sheet.live_sheet`` (the SQL and the allocation), then
  ``sheet_out`` (the response model) and its JSON, timed separately, p50 of ``--runs`` runs after
  one warm-up;
* over HTTP, ``GET /api/payments/periods/{id}/balance-sheet`` against uvicorn (1 worker),
  p50 of ``--runs`` after one warm-up;
* the plan of the ledger aggregation (EXPLAIN ANALYZE) and a pyinstrument profile of the large
  sheet, written to ``bench/out/``.

``python -m bench.balance_sheet [--runs 7] [--fresh]``
"""

from __future__ import annotations

import argparse
import time
from typing import Any

import httpx

from bench import common, datagen

NAME = "balance_sheet"
GOALS_MS = {"small": 200.0, "large": 2000.0}


def in_process(url: str, ds: datagen.Dataset, runs: int) -> dict[str, Any]:
    from sqlalchemy.orm import Session

    from kopilka.balances.allocations import compute_allocations
    from kopilka.balances.output import sheet_out
    from kopilka.balances.rows import ledger_sums
    from kopilka.balances.sheet import live_sheet
    from kopilka.db import make_engine
    from kopilka.models import Community, Period

    engine = make_engine(url, pool_size=1, max_overflow=0)
    times: dict[str, list[float]] = {
        k: [] for k in ("live_sheet", "ledger_sums", "allocations", "sheet_out", "json", "total")
    }
    size = 0
    try:
        for i in range(runs + 1):
            with Session(engine) as s:
                community = s.get(Community, ds.community_id)
                period = s.get(Period, ds.period_id)
                assert community is not None and period is not None
                t0 = time.perf_counter()
                sheet = live_sheet(s, community, period)
                t1 = time.perf_counter()
                out = sheet_out(sheet)
                t2 = time.perf_counter()
                body = out.model_dump_json()
                t3 = time.perf_counter()
                ledger_sums(s, period.id)
                t4 = time.perf_counter()
                compute_allocations(s, community, period)
                t5 = time.perf_counter()
            if i == 0:
                size = len(body)
                continue  # warm-up
            times["live_sheet"].append(t1 - t0)
            times["sheet_out"].append(t2 - t1)
            times["json"].append(t3 - t2)
            times["total"].append(t3 - t0)
            times["ledger_sums"].append(t4 - t3)
            times["allocations"].append(t5 - t4)
    finally:
        engine.dispose()
    out_ms = {f"{k}_p50_ms": common.ms(common.percentile(v, 50)) for k, v in times.items()}
    out_ms["total_runs_ms"] = [common.ms(v) for v in times["total"]]
    out_ms["json_bytes"] = size
    return out_ms


PIVOT = """
    SELECT owner_pk,
      coalesce(sum(amount_minor) FILTER (WHERE kind = 'CONTRIBUTION'), 0)::bigint,
      coalesce(sum(amount_minor) FILTER (WHERE kind = 'OPENING_CREDIT'), 0)::bigint,
      coalesce(sum(amount_minor) FILTER (WHERE kind = 'EXPENSE_PAID'), 0)::bigint,
      coalesce(sum(amount_minor) FILTER (WHERE kind = 'SERVICE_CHARGE'), 0)::bigint,
      coalesce(sum(amount_minor) FILTER (WHERE kind = 'OPENING_DEBT'), 0)::bigint,
      coalesce(sum(amount_minor) FILTER (WHERE kind = 'SETTLEMENT_PAID'), 0)::bigint,
      coalesce(sum(amount_minor) FILTER (WHERE kind = 'SETTLEMENT_RECEIVED'), 0)::bigint
    FROM ledger_entries WHERE period_id = :p GROUP BY owner_pk
"""


def what_if(url: str, ds: datagen.Dataset, runs: int) -> dict[str, Any]:
    """Not the project's code: the alternatives the findings recommend, timed on the same data.
    (1) the ledger sums as one row per owner with bigint sums (no numeric -> Decimal
    conversions); (2) the owners of the sheet without a 10,000-element IN list."""
    from sqlalchemy import select, text
    from sqlalchemy.orm import Session

    from kopilka.balances.rows import ledger_sums
    from kopilka.db import make_engine
    from kopilka.models import Owner

    engine = make_engine(url, pool_size=1, max_overflow=0)
    t: dict[str, list[float]] = {"ledger_sums": [], "pivot_bigint": [], "owners_in_list": []}
    t["owners_plain"] = []
    try:
        with Session(engine) as s:
            involved = set(ledger_sums(s, ds.period_id))
            for i in range(runs + 1):
                t0 = time.perf_counter()
                ledger_sums(s, ds.period_id)
                t1 = time.perf_counter()
                rows = s.execute(text(PIVOT), {"p": ds.period_id}).all()
                t2 = time.perf_counter()
                s.execute(
                    select(Owner.id, Owner.owner_id, Owner.name)
                    .where(Owner.community_id == ds.community_id)
                    .where(Owner.is_active.is_(True) | Owner.id.in_(involved))
                    .order_by(Owner.owner_id)
                ).all()
                t3 = time.perf_counter()
                s.execute(
                    select(Owner.id, Owner.owner_id, Owner.name, Owner.is_active)
                    .where(Owner.community_id == ds.community_id)
                    .order_by(Owner.owner_id)
                ).all()
                t4 = time.perf_counter()
                if i:
                    t["ledger_sums"].append(t1 - t0)
                    t["pivot_bigint"].append(t2 - t1)
                    t["owners_in_list"].append(t3 - t2)
                    t["owners_plain"].append(t4 - t3)
            assert len(rows) == len(involved)
    finally:
        engine.dispose()
    return {f"{k}_p50_ms": common.ms(common.percentile(v, 50)) for k, v in t.items()}


def profile(url: str, ds: datagen.Dataset) -> str:
    from pyinstrument import Profiler
    from sqlalchemy.orm import Session

    from kopilka.balances.output import sheet_out
    from kopilka.balances.sheet import live_sheet
    from kopilka.db import make_engine
    from kopilka.models import Community, Period

    engine = make_engine(url, pool_size=1, max_overflow=0)
    try:
        with Session(engine) as s:
            community = s.get(Community, ds.community_id)
            period = s.get(Period, ds.period_id)
            assert community is not None and period is not None
            profiler = Profiler(interval=0.001)
            profiler.start()
            sheet_out(live_sheet(s, community, period)).model_dump_json()
            profiler.stop()
    finally:
        engine.dispose()
    text: str = profiler.output_text(unicode=False, color=False)
    path = common.OUT / f"balance_sheet_profile_{ds.name}.txt"
    path.write_text(text)
    return str(path.relative_to(common.OUT.parent.parent))


def explain(url: str, ds: datagen.Dataset) -> dict[str, Any]:
    """The plan of the ledger aggregation the live sheet starts with."""
    with common.pg_connect(common.libpq(url)) as c:
        rows = c.execute(
            "EXPLAIN (ANALYZE, BUFFERS) SELECT owner_pk, kind, sum(amount_minor) "
            "FROM ledger_entries WHERE period_id = %s GROUP BY owner_pk, kind",
            (ds.period_id,),
        ).fetchall()
    plan = "\n".join(r[0] for r in rows)
    (common.OUT / f"balance_sheet_plan_{ds.name}.txt").write_text(plan + "\n")
    execution = next((r[0] for r in rows if r[0].startswith("Execution Time")), "")
    node = rows[0][0].split("  (")[0].strip() if rows else ""
    scan = next((r[0].strip() for r in rows if "Scan" in r[0]), "")
    return {
        "top_node": node,
        "scan": scan.split("  (")[0].replace("->", "").strip(),
        "execution": execution,
    }


def over_http(api_url: str, ds: datagen.Dataset, runs: int) -> dict[str, Any]:
    path = f"/api/payments/periods/{ds.period_id}/balance-sheet"
    times: list[float] = []
    size = 0
    entries = 0
    with httpx.Client(base_url=api_url, headers={"X-API-Key": ds.api_key}, timeout=120) as c:
        for i in range(runs + 1):
            t0 = time.perf_counter()
            r = c.get(path)
            dt = time.perf_counter() - t0
            r.raise_for_status()
            if i == 0:
                body = r.json()
                size = len(r.content)
                entries = len(body["entries"])
                continue
            times.append(dt)
    one: list[float] = []
    with httpx.Client(base_url=api_url, headers={"X-API-Key": ds.api_key}, timeout=120) as c:
        for i in range(min(runs, 3) + 1):
            t0 = time.perf_counter()
            c.get(f"/api/payments/periods/{ds.period_id}/balances/{1001 + i}").raise_for_status()
            if i:
                one.append(time.perf_counter() - t0)
    return {
        "one_owner_balance_p50_ms": common.ms(common.percentile(one, 50)),
        "p50_ms": common.ms(common.percentile(times, 50)),
        "min_ms": common.ms(min(times)),
        "max_ms": common.ms(max(times)),
        "runs_ms": [common.ms(t) for t in times],
        "response_bytes": size,
        "entries": entries,
    }


def main(argv: list[str] | None = None) -> dict[str, Any]:
    p = argparse.ArgumentParser(description="Balance sheet latency")
    p.add_argument("--runs", type=int, default=7)
    p.add_argument("--fresh", action="store_true", help="rebuild the data sets first")
    a = p.parse_args(argv)
    meta = datagen.ensure_data_db(fresh=a.fresh)
    url = common.bench_url()
    common.use_env_in_process(url)
    result: dict[str, Any] = {
        **common.result_head("bench.balance_sheet", argv, url),
        "runs": a.runs,
        "datasets": {},
    }
    for name in ("small", "large"):
        ds = datagen.dataset(meta, name)
        load = common.wait_quiet(max_wait=10)
        common.log(f"balance sheet '{name}' ({ds.owners:,} owners, {ds.rows:,} rows): in-process")
        entry: dict[str, Any] = {
            "owners": ds.owners,
            "rows": ds.rows,
            "counts": ds.counts,
            "busy_before_pct": load,
            "goal_ms": GOALS_MS[name],
        }
        entry["in_process"] = in_process(url, ds, a.runs)
        entry["plan"] = explain(url, ds)
        entry["what_if"] = what_if(url, ds, a.runs)
        common.log(f"  what-if: {entry['what_if']}")
        common.log(f"  {entry['in_process']}")
        result["datasets"][name] = entry
    common.log("balance sheet: over HTTP (uvicorn, 1 worker)")
    api, api_url = common.start_api(common.child_env(url), workers=1, name="api-bs")
    try:
        for name in ("small", "large"):
            ds = datagen.dataset(meta, name)
            common.wait_quiet(max_wait=10)
            entry = result["datasets"][name]
            entry["http"] = over_http(api_url, ds, a.runs)
            entry["meets_goal"] = entry["http"]["p50_ms"] < GOALS_MS[name]
            common.log(
                f"  {name}: HTTP p50 {entry['http']['p50_ms']} ms (goal {GOALS_MS[name]:g} ms)"
            )
    finally:
        api.stop()
    common.log("balance sheet: profiling the large sheet")
    result["datasets"]["large"]["profile_file"] = profile(url, datagen.dataset(meta, "large"))
    result["goal_met"] = all(d.get("meets_goal") for d in result["datasets"].values())
    common.finish(NAME, result)
    return result


if __name__ == "__main__":
    main()
