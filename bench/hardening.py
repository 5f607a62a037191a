"""Issue 13's two benchmarks.

1. **Admission under an anonymous burst** (SPEC §7): an admin reads a balance sheet (100 owners,
   500 rows) over and over, first on a quiet server, then while 300 anonymous requests with
   garbage keys and ``Prefer: wait=1`` arrive at once (three bursts). Goal: the admin's p50
   during the bursts is within 2x of the quiet p50. The API runs as ``make run`` starts it
   (2 uvicorn workers, the default admission limit).
2. **Fewest settlements** (SPEC §6): ``suggest_settlements`` on 16 owners with non-zero balances
   (random, many ties), 200 runs in-process. Goal: p99 < 200 ms.

``python -m bench.hardening [--bursts 3]``
"""

from __future__ import annotations

import argparse
import asyncio
import multiprocessing
import random
import statistics
import time
from typing import Any

import httpx

from bench import common


def _setup(url: str) -> tuple[dict[str, str], str]:
    with httpx.Client(base_url=url, timeout=60) as c:
        r = c.post(
            "/api/communities",
            json={"name": "Bench burst", "currency": "RUB", "timezone": "Europe/Moscow"},
            headers={"X-API-Key": common.OPERATOR_KEY},
        )
        r.raise_for_status()
        admin = {"X-API-Key": r.json()["admin_api_key"]}
        r = c.post(
            "/api/payments/periods",
            json={"name": "November 2025", "start_date": "2025-11-01", "end_date": "2025-11-30"},
            headers=admin,
        )
        r.raise_for_status()
        pid = r.json()["id"]
        base = f"/api/payments/periods/{pid}"
        for i in range(400):
            c.post(
                f"{base}/contributions",
                json={"owner_id": 1000 + i % 100, "amount": f"{100 + i}.00"},
                headers=admin,
            ).raise_for_status()
        for i in range(100):
            c.post(
                f"{base}/expenses",
                json={"amount": f"{50 + i}.00", "payment_type": f"T{i % 5}"},
                headers=admin,
            ).raise_for_status()
    return admin, f"{base}/balance-sheet"


def _anonymous_burst(url: str, path: str, started: Any, results: Any) -> None:
    """In a process of its own (so that the generator's CPU does not delay the admin's
    client): 300 anonymous requests at once, garbage keys, ``Prefer: wait=1``."""

    async def run() -> dict[str, Any]:
        limits = httpx.Limits(max_connections=400, max_keepalive_connections=400)
        async with httpx.AsyncClient(base_url=url, timeout=120, limits=limits) as anon:

            async def one(i: int) -> int:
                r = await anon.get(
                    path,
                    headers={"X-API-Key": f"garbage-{i}-{random.random()}", "Prefer": "wait=1"},
                )
                return r.status_code

            started.set()
            t0 = time.perf_counter()
            codes = await asyncio.gather(*(one(i) for i in range(300)))
            statuses: dict[str, int] = {}
            for code in codes:
                statuses[str(code)] = statuses.get(str(code), 0) + 1
            return {"burst_seconds": round(time.perf_counter() - t0, 2), "statuses": statuses}

    results.put(asyncio.run(run()))


def _burst(url: str, path: str, admin: dict[str, str]) -> dict[str, Any]:
    ctx = multiprocessing.get_context("spawn")
    started, results = ctx.Event(), ctx.Queue()
    proc = ctx.Process(target=_anonymous_burst, args=(url, path, started, results))
    proc.start()
    started.wait(60)
    during: list[float] = []
    with httpx.Client(base_url=url, timeout=120) as c:
        while proc.is_alive() and results.empty():
            t0 = time.perf_counter()
            c.get(path, headers=admin).raise_for_status()
            during.append(time.perf_counter() - t0)
    out = results.get(timeout=120)
    proc.join(30)
    return {
        "burst_seconds": out["burst_seconds"],
        "anonymous_statuses": out["statuses"],
        "admin_requests": len(during),
        "admin_p50_ms": common.ms(statistics.median(during)),
        "admin_max_ms": common.ms(max(during)),
    }


def admission(bursts: int) -> dict[str, Any]:
    db = common.bench_url("burst")
    common.drop_db(db)
    common.create_migrated_db(db)
    env = common.child_env(db, KOPILKA_LOG_LEVEL="WARNING")
    env.pop("KOPILKA_WRITE_RATE_LIMIT", None)  # the per-role defaults: an admin 6,000 a minute
    proc, url = common.start_api(env, workers=2)
    try:
        admin, path = _setup(url)
        with httpx.Client(base_url=url, timeout=60) as c:
            for _ in range(20):  # both workers have seen the admin's key
                c.get(path, headers=admin).raise_for_status()
            quiet = []
            for _ in range(60):
                t0 = time.perf_counter()
                c.get(path, headers=admin).raise_for_status()
                quiet.append(time.perf_counter() - t0)
        quiet_p50 = common.ms(statistics.median(quiet))
        runs = [_burst(url, path, admin) for _ in range(bursts)]
        for run in runs:
            run["ratio"] = round(run["admin_p50_ms"] / quiet_p50, 2)
            common.log(f"burst: admin p50 {run['admin_p50_ms']} ms vs quiet {quiet_p50} ms: {run}")
    finally:
        proc.stop()
        common.drop_db(db)
    return {
        "quiet_p50_ms": quiet_p50,
        "quiet_p99_ms": common.ms(common.percentile(quiet, 99)),
        "bursts": runs,
        "goal": "admin p50 during a 300-request anonymous Prefer: wait burst <= 2x quiet p50",
        "goal_met": all(r["ratio"] <= 2.0 for r in runs),
    }


def settlements(runs: int = 200) -> dict[str, Any]:
    from kopilka.settlements.fewest import suggest_settlements

    rng = random.Random(13)
    times = []
    counts = []
    for _ in range(runs):
        values = [rng.choice([-1, 1]) * rng.randint(1, 8) * 100 for _ in range(15)]
        values.append(-sum(values) or 100)
        balances = dict(enumerate(values, start=1))
        t0 = time.perf_counter()
        transfers = suggest_settlements(balances)
        times.append(time.perf_counter() - t0)
        counts.append(len(transfers))
    return {
        "owners": 16,
        "runs": runs,
        "p50_ms": common.ms(statistics.median(times)),
        "p99_ms": common.ms(common.percentile(times, 99)),
        "max_ms": common.ms(max(times)),
        "mean_transfers": round(statistics.mean(counts), 2),
        "goal": "p99 < 200 ms with 16 non-zero balances",
        "goal_met": common.percentile(times, 99) < 0.2,
    }


def main(argv: list[str] | None = None) -> dict[str, Any]:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--bursts", type=int, default=3)
    a = p.parse_args(argv)
    data = {
        **common.result_head("bench.hardening", argv),
        "admission": admission(a.bursts),
        "settlements": settlements(),
    }
    common.finish("hardening", data)
    return data


if __name__ == "__main__":
    main()
