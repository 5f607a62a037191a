"""Reads (issue 18): one owner's balance and the balance sheet, before and after, side by side.

The same data, the same client, back to back in one run: the API of the code before issue 18
(commit ``BASE_COMMIT`` of main, extracted with ``git archive`` and put first on PYTHONPATH; it
reads the same schema, the totals' tables are simply unused) and the API of this checkout.

* one owner's balance, ``GET /periods/{id}/balances/{owner}`` of a random owner, closed model,
  32 connections, 2 API processes: the 200-owner set (``peer``, the issue's side-by-side);
* one owner's balance and the whole sheet, one request at a time (1 API process), p50, on
  1,000 owners / 100,000 rows and 10,000 owners / 1,000,000 rows;
* ``--tenancy``: a 50-owner community's sheet and owner balance in a database that holds only it,
  and in a copy that also holds ``--others`` communities with ``--other-rows`` rows each.

``python -m bench.reads [--runs 7] [--repeat 2] [--fresh] [--tenancy --others 1000 --other-rows 10000]``
"""

from __future__ import annotations

import argparse
import random
import subprocess
import time
from pathlib import Path
from typing import Any

import httpx

from bench import common, datagen
from bench.recording import run_loadgen, summarize

NAME = "reads"
BASE_COMMIT = "68fc872"  # main just before issue 18 landed
GOALS = {
    "owner_rate_factor": 3.0,
    "owner_large_p50_ms": 30.0,
    "sheet_large_p50_ms": 300.0,
    "sheet_small_p50_ms": 50.0,
    "tenancy_factor": 1.2,
}


def base_src() -> Path:
    """The source of the code before issue 18 (shared + api packages), extracted once."""
    dest = common.OUT / f"base_src_{BASE_COMMIT}"
    if not (dest / "shared" / "src" / "kopilka").exists():
        dest.mkdir(parents=True, exist_ok=True)
        archive = subprocess.run(
            ["git", "archive", BASE_COMMIT, "shared/src", "services/api/src"],
            cwd=common.ROOT,
            check=True,
            capture_output=True,
        ).stdout
        subprocess.run(["tar", "-x", "-C", str(dest)], input=archive, check=True)
    return dest


def env_of(url: str, code: str) -> dict[str, str]:
    if code == "after":
        return common.child_env(url)
    src = base_src()
    return common.child_env(
        url, PYTHONPATH=f"{src / 'shared' / 'src'}:{src / 'services' / 'api' / 'src'}"
    )


def sequential(api_url: str, key: str, paths: list[str], runs: int) -> dict[str, Any]:
    """p50 of one request at a time (after one warm-up), cycling through ``paths``."""
    times: list[float] = []
    with httpx.Client(base_url=api_url, headers={"X-API-Key": key}, timeout=120) as c:
        c.get(paths[0]).raise_for_status()
        for i in range(runs):
            t0 = time.perf_counter()
            c.get(paths[i % len(paths)]).raise_for_status()
            times.append(time.perf_counter() - t0)
    return {
        "p50_ms": common.ms(common.percentile(times, 50)),
        "p90_ms": common.ms(common.percentile(times, 90)),
        "min_ms": common.ms(min(times)),
        "max_ms": common.ms(max(times)),
        "runs": len(times),
    }


def owner_paths(ds: datagen.Dataset, n: int, seed: int = 5) -> list[str]:
    rnd = random.Random(seed)
    return [
        f"/api/payments/periods/{ds.period_id}/balances/{1001 + rnd.randrange(ds.owners)}"
        for _ in range(n)
    ]


def owner_rate(api_url: str, ds: datagen.Dataset, seconds: float) -> dict[str, Any]:
    gen = run_loadgen(
        [
            "--url", api_url,
            "--path", f"/api/payments/periods/{ds.period_id}/balances/{{owner}}",
            "--method", "GET",
            "--api-key", ds.api_key,
            "--concurrency", "32",
            "--stagger-ms", "20",
            "--duration", str(seconds),
            "--owners", f"1001:{1000 + ds.owners}",
            "--warm-connections", "32",
        ]
    )  # fmt: skip
    return summarize(gen)


def measure(url: str, meta: dict[str, Any], code: str, runs: int, seconds: float) -> dict[str, Any]:
    out: dict[str, Any] = {}
    peer = datagen.dataset(meta, "peer")
    common.wait_quiet(max_wait=10)
    api, api_url = common.start_api(env_of(url, code), workers=2, name=f"api-reads-{code}")
    try:
        out["peer_owner_rate"] = owner_rate(api_url, peer, seconds)
    finally:
        api.stop()
    common.log(
        f"  {code}: 200 owners, one owner's balance: {out['peer_owner_rate']['achieved_rate']}/s, "
        f"p50 {out['peer_owner_rate']['p50_ms']} ms"
    )
    api, api_url = common.start_api(env_of(url, code), workers=1, name=f"api-reads1-{code}")
    try:
        for name in ("small", "large"):
            ds = datagen.dataset(meta, name)
            slow = code == "before" and name == "large"
            common.wait_quiet(max_wait=10)
            out[f"{name}_owner"] = sequential(
                api_url, ds.api_key, owner_paths(ds, 60), runs if slow else 5 * runs
            )
            out[f"{name}_sheet"] = sequential(
                api_url,
                ds.api_key,
                [f"/api/payments/periods/{ds.period_id}/balance-sheet"],
                runs,
            )
            common.log(
                f"  {code} {name}: owner p50 {out[f'{name}_owner']['p50_ms']} ms, "
                f"sheet p50 {out[f'{name}_sheet']['p50_ms']} ms"
            )
    finally:
        api.stop()
    return out


# ---------------------------------------------------------------- tenancy


def _load_other(conn: Any, n: int, owners: int, rows: int) -> int:
    """``n`` communities of ``owners`` owners and ``rows`` rows each, by COPY (their API keys are
    never used)."""
    total = 0
    for i in range(n):
        cid = conn.execute(
            "INSERT INTO communities (name, currency, timezone, default_strategy, "
            "auto_create_owners, version) VALUES (%s, 'RUB', 'Europe/Moscow', 'PROPORTIONAL', "
            "true, 1) RETURNING id",
            (f"Other {i}",),
        ).fetchone()[0]
        pid = datagen.create_period(conn, cid, "2025", datagen.PERIOD_START, datagen.PERIOD_END)
        owner_rows = datagen.load_owners(
            conn,
            cid,
            owners,
            first_owner_id=1001,
            telegram_base=7_000_000_000 + i * 10_000,
            seed=i,
        )
        counts = datagen.load_documents(conn, cid, pid, owner_rows, rows, seed=i + 1)
        datagen.fill_totals(conn, pid)
        total += counts["documents"]
        if i % 50 == 49:
            conn.commit()
            common.log(f"  {i + 1} other communities, {total:,} rows")
    conn.commit()
    return total


def tenancy(runs: int, others: int, other_rows: int, fresh: bool) -> dict[str, Any]:
    empty_url, full_url = common.bench_url("tenant_empty"), common.bench_url("tenant_full")
    meta_path = common.OUT / "reads_tenancy_meta.json"
    import json

    meta: dict[str, Any] = {}
    if (
        not fresh
        and meta_path.exists()
        and common.db_exists(empty_url)
        and common.db_exists(full_url)
    ):
        meta = json.loads(meta_path.read_text())
    if meta.get("others") != others or meta.get("other_rows") != other_rows:
        common.log("tenancy: building the empty database (one 50-owner community)")
        common.drop_db(empty_url)
        common.drop_db(full_url)

        common.create_migrated_db(empty_url)
        ds = datagen.build_dataset(empty_url, "tenant", 50, 5_000)
        datagen.vacuum_analyze(empty_url)
        common.log(f"tenancy: copying it and adding {others:,} communities x {other_rows:,} rows")
        common.create_db(full_url, template=empty_url)
        t0 = time.perf_counter()
        with common.pg_connect(common.libpq(full_url)) as conn:
            conn.execute("SET session_replication_role = replica")
            loaded = _load_other(conn, others, 10, other_rows)
            conn.execute("SET session_replication_role = DEFAULT")
            conn.commit()
        datagen.vacuum_analyze(full_url)
        with common.pg_connect(common.libpq(full_url)) as conn:
            size = conn.execute("SELECT pg_size_pretty(pg_database_size(current_database()))")
            db_size = size.fetchone()[0]
            ledger = conn.execute("SELECT count(*) FROM ledger_entries").fetchone()[0]
        meta = {
            "others": others,
            "other_rows": other_rows,
            "dataset": ds.__dict__,
            "other_documents": loaded,
            "ledger_entries_total": ledger,
            "full_db_size": db_size,
            "load_seconds": round(time.perf_counter() - t0, 1),
        }
        meta_path.write_text(json.dumps(meta))
    ds = datagen.Dataset(**meta["dataset"])
    out: dict[str, Any] = {"meta": meta}
    sheet = [f"/api/payments/periods/{ds.period_id}/balance-sheet"]
    for label, url in (("empty", empty_url), ("full", full_url)):
        for code in ("before", "after"):
            common.wait_quiet(max_wait=10)
            api, api_url = common.start_api(env_of(url, code), workers=1, name=f"api-ten-{label}")
            try:
                out[f"{code}_{label}_sheet"] = sequential(api_url, ds.api_key, sheet, 5 * runs)
                out[f"{code}_{label}_owner"] = sequential(
                    api_url, ds.api_key, owner_paths(ds, 50), 10 * runs
                )
            finally:
                api.stop()
            common.log(
                f"  tenancy {code} {label}: sheet {out[f'{code}_{label}_sheet']['p50_ms']} ms, "
                f"owner {out[f'{code}_{label}_owner']['p50_ms']} ms"
            )
    for code in ("before", "after"):
        for what in ("sheet", "owner"):
            e, f = out[f"{code}_empty_{what}"]["p50_ms"], out[f"{code}_full_{what}"]["p50_ms"]
            out[f"{code}_{what}_factor"] = round(f / e, 2) if e else None
    return out


def main(argv: list[str] | None = None) -> dict[str, Any]:
    p = argparse.ArgumentParser(description="Reads before and after issue 18")
    p.add_argument("--runs", type=int, default=7)
    p.add_argument("--seconds", type=float, default=10.0)
    p.add_argument("--repeat", type=int, default=2, help="rounds of before/after")
    p.add_argument("--fresh", action="store_true")
    p.add_argument("--tenancy", action="store_true")
    p.add_argument("--others", type=int, default=1000)
    # the scale: 1,000 other communities, 10,000,000 rows (about 3 minutes of COPY)
    p.add_argument("--other-rows", type=int, default=10_000)
    p.add_argument("--tenancy-only", action="store_true", help="add tenancy to the last reads.json")
    a = p.parse_args(argv)
    if a.tenancy_only:
        import json

        last = json.loads((common.OUT / f"{NAME}.json").read_text())
        last["tenancy"] = tenancy(a.runs, a.others, a.other_rows, a.fresh)
        last["tenancy_command"] = common.command_line("bench.reads", argv)
        common.finish(NAME, last)
        return last
    meta = datagen.ensure_data_db(fresh=a.fresh, sets=("peer", "small", "large"))
    url = common.bench_url()
    result: dict[str, Any] = {
        **common.result_head("bench.reads", argv, url),
        "base_commit": BASE_COMMIT,
        "rounds": [],
    }
    for r in range(a.repeat):
        round_: dict[str, Any] = {}
        for code in ("before", "after"):
            common.log(f"reads round {r + 1}: {code}")
            round_[code] = measure(url, meta, code, a.runs, a.seconds)
        b, f = round_["before"], round_["after"]
        round_["owner_rate_factor"] = round(
            f["peer_owner_rate"]["achieved_rate"] / b["peer_owner_rate"]["achieved_rate"], 2
        )
        result["rounds"].append(round_)
        common.log(
            f"round {r + 1}: one owner's balance at 200 owners x{round_['owner_rate_factor']}"
        )
    if a.tenancy:
        result["tenancy"] = tenancy(a.runs, a.others, a.other_rows, a.fresh)
    rounds = result["rounds"]
    result["goals"] = {
        "owner_rate_factor": [r["owner_rate_factor"] for r in rounds],
        "owner_large_p50_ms": [r["after"]["large_owner"]["p50_ms"] for r in rounds],
        "sheet_large_p50_ms": [r["after"]["large_sheet"]["p50_ms"] for r in rounds],
        "sheet_small_p50_ms": [r["after"]["small_sheet"]["p50_ms"] for r in rounds],
    }
    common.finish(NAME, result)
    return result


if __name__ == "__main__":
    main()
