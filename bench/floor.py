"""The floor on the same machine: what the disk, PostgreSQL and the web stack give with no Kopilka
code at all, to see how far the figures of the other benchmarks are from the limit.

* ``pg_test_fsync``: sync writes per second of the disk PostgreSQL's WAL is on (the ceiling of
  one session's commits with synchronous_commit on);
* ``pgbench`` (scale 10) on a database of its own: TPC-B-like (5 statements per transaction, about
  what one recorded contribution does), a one-row INSERT per transaction with 1 and 8 clients
  (the bare commit rate), and select-only;
* a no-op FastAPI app under uvicorn (``bench/noop_app.py``), 1 and 2 workers: the maximum request
  rate (closed model, 32 connections), and the latency at 300 requests/s (open model) of a
  ``POST`` that validates a contribution-like body in the thread pool, as the money POSTs do;
  plus Kopilka's own ``GET /health`` (its middleware and request logging, no database).

``python -m bench.floor [--seconds 10] [--quick]``
"""

from __future__ import annotations

import argparse
import glob
import re
import shutil
import subprocess
import tempfile
from pathlib import Path
from typing import Any

from sqlalchemy.engine import make_url

from bench import common
from bench.recording import run_loadgen, summarize

NAME = "floor"


def _pg_bin(name: str) -> str | None:
    found = sorted(glob.glob(f"/usr/lib/postgresql/*/bin/{name}"))
    return found[-1] if found else shutil.which(name)


def pg_test_fsync(seconds: int) -> dict[str, Any]:
    exe = _pg_bin("pg_test_fsync")
    if exe is None:
        return {"skipped": "pg_test_fsync not found"}
    # The test file goes on the file system of PostgreSQL's data directory when we can write
    # there, else into bench/out.
    target_dir = Path("/var/lib/postgresql")
    if not (target_dir.is_dir() and _writable(target_dir)):
        target_dir = common.OUT
    target = target_dir / "kopilka_bench_fsync.tmp"
    proc = subprocess.run(
        [exe, "-s", str(seconds), "-f", str(target)],
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )
    target.unlink(missing_ok=True)
    (common.OUT / "floor_pg_test_fsync.txt").write_text(proc.stdout + proc.stderr)
    one_write: dict[str, float] = {}
    section = ""
    for line in proc.stdout.splitlines():
        if line.startswith("Compare file sync methods using one"):
            section = "one"
        elif line.startswith("Compare") or line.startswith("Test") or line.startswith("Non-"):
            section = ""
        m = re.match(r"\s+(\S+)\s+([\d.]+) ops/sec", line)
        if section == "one" and m:
            one_write[m.group(1)] = float(m.group(2))
    return {
        "file": str(target),
        "one_8kB_write_ops_per_sec": one_write,
        "output": "bench/out/floor_pg_test_fsync.txt",
    }


def _writable(path: Path) -> bool:
    try:
        with tempfile.NamedTemporaryFile(dir=path):
            return True
    except OSError:
        return False


def _pgbench_args(url: str) -> list[str]:
    u = make_url(url)
    args = ["-h", u.host or "127.0.0.1", "-p", str(u.port or 5432), "-U", u.username or "postgres"]
    return args


def _pgbench_env(url: str) -> dict[str, str]:
    import os

    env = dict(os.environ)
    pw = make_url(url).password
    if pw:
        env["PGPASSWORD"] = str(pw)
    return env


def _parse_pgbench(text: str) -> dict[str, Any]:
    tps = re.search(r"tps = ([\d.]+) \(without initial connection time\)", text)
    lat = re.search(r"latency average = ([\d.]+) ms", text)
    return {
        "tps": round(float(tps.group(1)), 1) if tps else None,
        "latency_avg_ms": float(lat.group(1)) if lat else None,
    }


def pgbench(seconds: int) -> dict[str, Any]:
    exe = _pg_bin("pgbench")
    if exe is None:
        return {"skipped": "pgbench not found"}
    url = common.bench_url("pgbench")
    common.create_db(url)
    name = make_url(url).database
    conn = _pgbench_args(url)
    env = _pgbench_env(url)
    out: dict[str, Any] = {}
    try:
        common.log("floor: pgbench -i -s 10")
        subprocess.run(
            [exe, *conn, "-i", "-s", "10", "-q", name],
            env=env,
            check=True,
            capture_output=True,
            timeout=600,
        )
        script = common.OUT / "floor_insert.sql"
        script.write_text("INSERT INTO bench_commits (v) VALUES (1);\n")
        subprocess.run(
            [
                _pg_bin("psql") or "psql",
                *conn,
                "-d",
                name,
                "-qc",
                "CREATE TABLE bench_commits (id bigserial PRIMARY KEY, v int, "
                "at timestamptz DEFAULT now())",
            ],
            env=env,
            check=True,
            capture_output=True,
        )
        runs = {
            "tpcb_like_8_clients": ["-c", "8", "-j", "2", "-M", "prepared"],
            "insert_commit_1_client": ["-c", "1", "-M", "prepared", "-f", str(script)],
            "insert_commit_8_clients": ["-c", "8", "-j", "2", "-M", "prepared", "-f", str(script)],
            "select_only_8_clients": ["-c", "8", "-j", "2", "-M", "prepared", "-S"],
        }
        for label, extra in runs.items():
            common.wait_quiet(max_wait=20)
            cmd = [exe, *conn, *extra, "-T", str(seconds), name]
            proc = subprocess.run(
                cmd, env=env, capture_output=True, text=True, timeout=seconds + 120, check=False
            )
            res = _parse_pgbench(proc.stdout)
            res["command"] = "pgbench " + " ".join([*extra, "-T", str(seconds)])
            out[label] = res
            common.log(f"  pgbench {label}: {res['tps']} tps, {res['latency_avg_ms']} ms")
    finally:
        common.drop_db(url)
    return out


def start_noop(workers: int) -> tuple[common.Proc, str]:
    return common.start_api(
        common.child_env(common.bench_url()),
        workers=workers,
        name=f"noop-w{workers}",
        app="bench.noop_app:app",
        ready_path="/noop",
    )


def web_case(
    url: str,
    pid: int,
    path: str,
    method: str,
    *,
    concurrency: int = 0,
    rate: float = 0,
    seconds: float,
) -> dict[str, Any]:
    common.wait_quiet(max_wait=15)
    meter = common.CpuMeter({"server": lambda: common.tree_pids(pid)}).start()
    args = ["--url", url, "--path", path, "--method", method, "--duration", str(seconds)]
    if concurrency:
        args += ["--concurrency", str(concurrency)]
    else:
        args += ["--rate", str(rate), "--warm-connections", "8"]
    s = summarize(run_loadgen(args))
    s.update(meter.stop())
    keep = (
        "sent",
        "ok",
        "achieved_rate",
        "p50_ms",
        "p99_ms",
        "generator_cpu_pct",
        "server_cpu_pct",
        "machine_busy_pct",
        "statuses",
    )
    return {k: s[k] for k in keep if k in s}


def web_floor(seconds: float, workers_list: list[int]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for w in workers_list:
        common.log(f"floor: no-op FastAPI, {w} uvicorn worker(s)")
        p, url = start_noop(w)
        try:
            res = {
                "get_noop_max": web_case(
                    url, p.pid, "/noop", "GET", concurrency=32, seconds=seconds
                ),
                "post_sync_max": web_case(
                    url, p.pid, "/noop-sync", "POST", concurrency=32, seconds=seconds
                ),
                "post_sync_at_300": web_case(
                    url, p.pid, "/noop-sync", "POST", rate=300, seconds=seconds
                ),
            }
        finally:
            p.stop()
        for k, v in res.items():
            common.log(f"  {k}: {v['achieved_rate']}/s p50 {v['p50_ms']} ms p99 {v['p99_ms']} ms")
        out[f"noop_w{w}"] = res
        common.log(f"floor: Kopilka GET /health, {w} worker(s)")
        api, api_url = common.start_api(
            common.child_env(common.bench_url()), workers=w, name=f"api-health-w{w}"
        )
        try:
            out[f"kopilka_health_w{w}"] = web_case(
                api_url, api.pid, "/health", "GET", concurrency=32, seconds=seconds
            )
        finally:
            api.stop()
        v = out[f"kopilka_health_w{w}"]
        common.log(f"  kopilka /health: {v['achieved_rate']}/s p50 {v['p50_ms']} ms")
    return out


def main(argv: list[str] | None = None) -> dict[str, Any]:
    p = argparse.ArgumentParser(description="The machine's floor")
    p.add_argument("--seconds", type=int, default=10, help="per pgbench / web case")
    p.add_argument("--quick", action="store_true", help="5 s per case, 2 workers only")
    a = p.parse_args(argv)
    seconds = 5 if a.quick else a.seconds
    workers = [2] if a.quick else [1, 2]
    web_seconds = 5
    result: dict[str, Any] = {
        **common.result_head("bench.floor", argv, common.bench_url()),
    }
    common.log("floor: pg_test_fsync")
    common.wait_quiet(max_wait=20)
    result["pg_test_fsync"] = pg_test_fsync(1 if a.quick else 2)
    common.log(f"  one 8kB write: {result['pg_test_fsync'].get('one_8kB_write_ops_per_sec')}")
    result["pgbench"] = pgbench(seconds)
    result["web"] = web_floor(web_seconds, workers)
    common.finish(NAME, result)
    return result


if __name__ == "__main__":
    main()
