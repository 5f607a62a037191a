"""Close: 10,000 owners with 1,000,000 rows, by a real worker; its time and peak memory.

Goal (issue 8): under 10 s and under 300 MiB. On a copy of the benchmark database (the ``large``
data set, see ``bench.datagen``) the real processes run: the API (uvicorn), the outbox relay and
a Celery worker with one pool process. ``POST /periods/{id}/close`` answers 202 with the job; the
job's ``created_at -> finished_at`` (and ``started_at -> finished_at``, the run alone) come from
its row, the worker's peak memory from ``VmHWM`` of the pool process that ran it
(``/proc/PID/status``). The stored result is then checked (``check_stored``: every stored balance
equals its recomputation from the rows) and the stored (CLOSED) sheet is read over HTTP.

Then, on a fresh copy, the same job runs in a dedicated subprocess calling
``kopilka.jobs.service.run`` with the project's handlers under pyinstrument (1 ms sampling): the
profile goes to ``bench/out/close_profile.txt``, with the process's peak RSS (VmHWM) and the
slowest SQL statements.

``python -m bench.close [--fresh] [--no-profile]``
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from typing import Any

import httpx

from bench import common, datagen

NAME = "close"
GOAL_SECONDS, GOAL_MIB = 10.0, 300.0


def pool_children(worker_pid: int) -> list[int]:
    return [p for p in common.tree_pids(worker_pid) if p != worker_pid]


def wait_job(api_url: str, key: str, job_id: int, timeout: float = 900) -> dict[str, Any]:
    deadline = time.monotonic() + timeout
    with httpx.Client(base_url=api_url, headers={"X-API-Key": key}, timeout=90) as c:
        while time.monotonic() < deadline:
            r = c.get(f"/api/jobs/{job_id}", headers={"Prefer": "wait=30"})
            r.raise_for_status()
            job: dict[str, Any] = r.json()
            if job["status"] in ("SUCCEEDED", "FAILED"):
                return job
    raise TimeoutError(f"job {job_id} did not finish in {timeout}s")


def poll_job(db: str, job_id: int, timeout: float = 900) -> float:
    """Wall-clock time at which the job row is first seen finished (50 ms polls)."""
    deadline = time.monotonic() + timeout
    with common.pg_connect(common.libpq(db), autocommit=True) as c:
        while time.monotonic() < deadline:
            row = c.execute("SELECT status FROM jobs WHERE id = %s", (job_id,)).fetchone()
            if row and row[0] in ("SUCCEEDED", "FAILED"):
                return time.time()
            time.sleep(0.05)
    raise TimeoutError(f"job {job_id} did not finish in {timeout}s")


def worker_log_time(output: str, job_id: int) -> float | None:
    """When the worker logged the job's end (after its commit), as a Unix time."""
    import datetime as dt

    for line in output.splitlines():
        if '"job_succeeded"' in line or '"job_failed"' in line:
            try:
                rec = json.loads(line[line.index("{") :])
            except ValueError:
                continue
            if rec.get("job_id") == job_id and "timestamp" in rec:
                ts = rec["timestamp"].replace("Z", "+00:00")
                return dt.datetime.fromisoformat(ts).timestamp()
    return None


def verify(db: str, period_id: int) -> dict[str, Any]:
    from sqlalchemy.orm import Session

    from kopilka.db import make_engine
    from kopilka.models import Period
    from kopilka.periods.closing import check_stored

    engine = make_engine(db, pool_size=1, max_overflow=0)
    try:
        with Session(engine) as s:
            period = s.get(Period, period_id)
            assert period is not None
            problems = check_stored(s, period)
            status = period.status
    finally:
        engine.dispose()
    with common.pg_connect(common.libpq(db)) as c:
        counts = c.execute(
            """
            SELECT (SELECT count(*) FROM period_balances WHERE period_id = %(p)s),
                   (SELECT count(*) FROM allocations WHERE period_id = %(p)s),
                   (SELECT count(*) FROM invoices WHERE period_id = %(p)s AND voided_at IS NULL),
                   (SELECT count(*) FROM notifications WHERE kind = 'period_closed'),
                   (SELECT count(DISTINCT owner_pk) FROM notifications
                     WHERE kind = 'period_closed')
            """,
            {"p": period_id},
        ).fetchone()
    assert counts is not None
    return {
        "period_status": status,
        "check_stored_problems": len(problems),
        "period_balances": counts[0],
        "allocations": counts[1],
        "invoices": counts[2],
        "notifications": counts[3],
        "notified_owners": counts[4],
    }


def stored_sheet_http(api_url: str, key: str, period_id: int, runs: int = 5) -> dict[str, Any]:
    times = []
    with httpx.Client(base_url=api_url, headers={"X-API-Key": key}, timeout=120) as c:
        for i in range(runs + 1):
            t0 = time.perf_counter()
            r = c.get(f"/api/payments/periods/{period_id}/balance-sheet")
            r.raise_for_status()
            if i:
                times.append(time.perf_counter() - t0)
    return {
        "p50_ms": common.ms(common.percentile(times, 50)),
        "runs_ms": [common.ms(t) for t in times],
    }


def real_worker(meta: dict[str, Any]) -> dict[str, Any]:
    ds = datagen.dataset(meta, "large")
    db = common.bench_url("close")
    common.log("close: copying the benchmark database (template)")
    common.create_db(db, template=common.bench_url())
    env = common.child_env(db)
    relay = common.start_relay(env)
    worker = common.start_worker(env, concurrency=1)
    api, api_url = common.start_api(env, workers=1, name="api-close")
    out: dict[str, Any] = {"owners": ds.owners, "rows": ds.rows, "counts": ds.counts}
    try:
        children = pool_children(worker.pid)
        out["pool_processes"] = len(children)
        out["idle_rss_mib"] = round(
            sum(common.vm_status(p).get("VmRSS", 0) for p in children) / 1024, 1
        )
        out["busy_before_pct"] = common.wait_quiet(max_wait=45)
        meter = common.CpuMeter(
            {"worker": lambda: common.tree_pids(worker.pid), "postgres": common.postgres_pids}
        )
        meter.start()
        common.log("close: POST /close (the real worker runs the job)")
        t_post = time.time()
        r = httpx.post(
            f"{api_url}/api/payments/periods/{ds.period_id}/close",
            headers={"X-API-Key": ds.api_key},
            timeout=60,
        )
        assert r.status_code == 202, r.text
        job_id = int(r.json()["id"])
        t_seen = poll_job(db, job_id)
        out.update(meter.stop())
        peaks = {p: common.vm_status(p) for p in pool_children(worker.pid)}
        out["worker_peak_rss_mib"] = round(max(v.get("VmHWM", 0) for v in peaks.values()) / 1024, 1)
        job = wait_job(api_url, ds.api_key, job_id)
        out["job_status"] = job["status"]
        out["job_error"] = job.get("error")
        out["job_result"] = job.get("result")
        created, started, finished = common.job_epochs(db, job_id)
        committed = worker_log_time(worker.output(), job_id)
        # The end comes from the worker's own "job_succeeded" log line (after the commit);
        # the row's finished_at (clock_timestamp(), just before the commit) is shown beside it.
        out["created_to_finished_s"] = round((committed or t_seen) - created, 2)
        out["run_s"] = round((committed or t_seen) - started, 2)
        out["queue_delay_s"] = round(started - created, 2)
        out["post_to_observed_s"] = round(t_seen - t_post, 2)
        out["row_finished_at_minus_created_at_s"] = round(finished - created, 2)
        out["end_from"] = "worker log (job_succeeded)" if committed else "database poll"
        common.log(
            f"  job {job['status']}: {out['created_to_finished_s']} s created->finished (run "
            f"{out['run_s']} s), worker peak RSS {out['worker_peak_rss_mib']} MiB"
        )
        out["verify"] = verify(db, ds.period_id)
        common.log(f"  verify: {out['verify']}")
        out["stored_sheet_http"] = stored_sheet_http(api_url, ds.api_key, ds.period_id)
        common.log(
            f"  stored (CLOSED) sheet over HTTP: p50 {out['stored_sheet_http']['p50_ms']} ms"
        )
    finally:
        api.stop()
        worker.stop()
        relay.stop()
        common.drop_db(db)
    out["meets_goal"] = bool(
        out.get("job_status") == "SUCCEEDED"
        and out["created_to_finished_s"] < GOAL_SECONDS
        and out["worker_peak_rss_mib"] < GOAL_MIB
        and out["verify"]["check_stored_problems"] == 0
    )
    return out


def profiled_child(meta: dict[str, Any], profile: bool) -> dict[str, Any]:
    ds = datagen.dataset(meta, "large")
    db = common.bench_url("close")
    common.create_db(db, template=common.bench_url())
    try:
        common.wait_quiet(max_wait=30)
        return common.run_child(
            "bench.close", db, str(ds.community_id), str(ds.period_id), "1" if profile else "0"
        )
    finally:
        common.drop_db(db)


def _time_statements(engine: Any) -> list[tuple[float, int, str]]:
    """Every SQL statement's duration, row count and first words, as the job runs."""
    from sqlalchemy import event

    timings: list[tuple[float, int, str]] = []
    started: list[float] = []

    @event.listens_for(engine, "before_cursor_execute")
    def _before(*_: Any) -> None:
        started.append(time.perf_counter())

    @event.listens_for(engine, "after_cursor_execute")
    def _after(conn: Any, cursor: Any, statement: str, *_: Any) -> None:
        sql = " ".join(statement.split())[:160]
        timings.append((time.perf_counter() - started.pop(), int(cursor.rowcount or 0), sql))

    return timings


def child(db: str, community_id: int, period_id: int, profile: bool) -> None:
    """In a fresh process: queue the close (as the API does), run it as the worker does."""

    common.use_env_in_process(db)
    from kopilka.context import Actor, Ctx, Role
    from kopilka.db import make_engine, session_factory
    from kopilka.jobs.registry import COMPENSATIONS, HANDLERS
    from kopilka.jobs.service import run
    from kopilka.periods.closing import request_close

    engine = make_engine(db)
    statements = _time_statements(engine)
    with session_factory(engine)() as s, s.begin():
        ctx = Ctx(session=s, actor=Actor(Role.ADMIN, "bench", community_id=community_id))
        job_id = request_close(ctx, period_id).id
    statements.clear()
    # VmHWM, not ru_maxrss: Linux carries ru_maxrss across exec from the parent that forked us,
    # so a big parent (run_all) would show up here.
    before = common.vm_status(os.getpid()).get("VmHWM", 0)
    profiler = None
    if profile:
        from pyinstrument import Profiler

        profiler = Profiler(interval=0.001)
        profiler.start()
    t0 = time.perf_counter()
    status = run(job_id, HANDLERS, COMPENSATIONS, engine=engine)
    seconds = time.perf_counter() - t0
    if profiler is not None:
        profiler.stop()
        (common.OUT / "close_profile.txt").write_text(
            profiler.output_text(unicode=False, color=False)
        )
    peak = common.vm_status(os.getpid()).get("VmHWM", 0)
    print(
        json.dumps(
            {
                "status": status,
                "run_seconds": round(seconds, 2),
                "peak_rss_before_run_mib": round(before / 1024, 1),
                "peak_rss_mib": round(peak / 1024, 1),
                "profiled": profile,
                "statements": len(statements),
                "slowest_statements": [
                    {"seconds": round(t, 3), "rows": n, "sql": sql}
                    for t, n, sql in sorted(statements, reverse=True)[:8]
                ],
                "profile_file": "bench/out/close_profile.txt" if profile else None,
            }
        )
    )


def main(argv: list[str] | None = None) -> dict[str, Any]:
    args = sys.argv[1:] if argv is None else argv
    if args and args[0] == "--child":
        child(args[1], int(args[2]), int(args[3]), args[4] == "1")
        return {}
    p = argparse.ArgumentParser(description="Close time and worker memory")
    p.add_argument("--fresh", action="store_true", help="rebuild the data sets first")
    p.add_argument("--no-profile", action="store_true")
    a = p.parse_args(args)
    meta = datagen.ensure_data_db(fresh=a.fresh, sets=("small", "large"))
    result: dict[str, Any] = {
        **common.result_head("bench.close", argv, common.bench_url()),
    }
    result["worker"] = real_worker(meta)
    common.log("close: the same job in a dedicated process (kopilka.jobs.service.run)")
    result["dedicated_process"] = profiled_child(meta, profile=not a.no_profile)
    if not a.no_profile:
        result["profiled_process"] = result["dedicated_process"]
    common.log(f"  {result['dedicated_process']}")
    result["goal_met"] = result["worker"]["meets_goal"]
    common.finish(NAME, result)
    return result


if __name__ == "__main__":
    main()
