"""What every benchmark shares: its own databases, the environment of the processes it starts,
the processes themselves, CPU accounting from /proc, the machine's description, percentiles, and
the result files.

Databases: ``KOPILKA_BENCH_DATABASE_URL`` names the benchmark database (default: the server of
``DATABASE_URL`` with the database ``kopilka_bench``); scratch copies get a suffix
(``kopilka_bench_rec``, ``kopilka_bench_close`` ...). They are dropped and recreated by the
benchmarks, so never point this at a database you care about.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import json
import os
import platform
import subprocess
import sys
import time
from collections.abc import Callable, Iterable, Sequence
from pathlib import Path
from typing import Any

import httpx
import psycopg
from sqlalchemy.engine import make_url

from tests.support import processes

# The process harness is the tests' (one home); these three are re-exported for the benchmarks.
from tests.support.processes import Proc as Proc
from tests.support.processes import free_port as free_port
from tests.support.processes import wait_until as wait_until

ROOT = Path(__file__).resolve().parents[1]
BENCH = ROOT / "bench"
OUT = BENCH / "out"
LOGS = OUT / "logs"
# A fresh clone has no bench/out (ignored by git): every benchmark writes its files there, and the
# floor wrote pg_test_fsync's output before anything had created it (FileNotFoundError).
LOGS.mkdir(parents=True, exist_ok=True)

OPERATOR_KEY = "bench-operator-key"
BOT_TOKEN = "123456789:BENCH-TOKEN-not-a-real-one"
CLK_TCK = os.sysconf("SC_CLK_TCK")


def log(msg: str) -> None:
    """Progress output: one timestamped line on stderr."""
    sys.stderr.write(f"[bench {time.strftime('%H:%M:%S')}] {msg}\n")
    sys.stderr.flush()


# ---------------------------------------------------------------- databases and environment


def bench_url(suffix: str = "") -> str:
    """The SQLAlchemy URL of the benchmark database, or of a scratch one (``suffix``)."""
    base = os.environ.get("KOPILKA_BENCH_DATABASE_URL")
    if base is None:
        src = os.environ.get("DATABASE_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/kopilka")
        base = make_url(src).set(database="kopilka_bench").render_as_string(hide_password=False)
    url = make_url(base)
    if suffix:
        url = url.set(database=f"{url.database}_{suffix}")
    return url.render_as_string(hide_password=False)


def db_name(url: str) -> str:
    name = make_url(url).database
    assert name, url
    return name


def libpq(url: str, database: str | None = None) -> str:
    """A psycopg (libpq) connection string for a SQLAlchemy URL."""
    u = make_url(url).set(drivername="postgresql")
    if database is not None:
        u = u.set(database=database)
    return u.render_as_string(hide_password=False)


def pg_connect(
    url: str, *, autocommit: bool = False, wait: float = 60.0
) -> psycopg.Connection[Any]:
    """psycopg connection, retried while the server is full ("too many clients": the machine's
    PostgreSQL is shared with test suites that hold many connections)."""
    deadline = time.monotonic() + wait
    while True:
        try:
            return psycopg.connect(url, autocommit=autocommit)
        except psycopg.OperationalError as exc:
            if "too many clients" not in str(exc) or time.monotonic() > deadline:
                raise
            time.sleep(0.5)


def _maintenance(url: str) -> psycopg.Connection[Any]:
    return pg_connect(libpq(url, "postgres"), autocommit=True)


def drop_db(url: str) -> None:
    name = db_name(url)
    assert name.startswith("kopilka_bench"), f"refusing to drop {name}: not a benchmark database"
    with _maintenance(url) as c:
        c.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def db_exists(url: str) -> bool:
    with _maintenance(url) as c:
        row = c.execute("SELECT 1 FROM pg_database WHERE datname = %s", (db_name(url),)).fetchone()
    return row is not None


def create_db(url: str, template: str | None = None) -> None:
    """Drop and create the database; from ``template`` (a database URL) when given: a file copy,
    seconds even for a million rows."""
    drop_db(url)
    name = db_name(url)
    with _maintenance(url) as c:
        if template is None:
            c.execute(f'CREATE DATABASE "{name}"')
        else:
            tname = db_name(template)
            # A template may have no other connections: end ours (benchmark databases only).
            c.execute(
                "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
                "WHERE datname = %s AND pid <> pg_backend_pid()",
                (tname,),
            )
            # FILE_COPY (PostgreSQL 15+) copies the files after a checkpoint: seconds, where the
            # default WAL_LOG strategy writes the whole database through the WAL.
            version = c.execute("SHOW server_version_num").fetchone()
            strategy = " STRATEGY = FILE_COPY" if version and int(version[0]) >= 150000 else ""
            c.execute(f'CREATE DATABASE "{name}" TEMPLATE "{tname}"{strategy}')


def create_migrated_db(url: str) -> None:
    """A fresh database built by the project's own migrations."""
    from kopilka.migrations import upgrade_to_head

    create_db(url)
    upgrade_to_head(url)


def redis_url() -> str:
    if "KOPILKA_BENCH_REDIS_URL" in os.environ:
        return os.environ["KOPILKA_BENCH_REDIS_URL"]
    src = os.environ.get("REDIS_URL", "redis://127.0.0.1:6379/0")
    head, _, _db = src.rpartition("/")
    return f"{head}/14" if head.startswith("redis") else "redis://127.0.0.1:6379/14"


def child_env(db_url: str, **extra: str) -> dict[str, str]:
    """The environment of the Kopilka processes a benchmark starts (api, worker, relay, bot)."""
    env = dict(os.environ)
    env.update(
        {
            "DATABASE_URL": db_url,
            "REDIS_URL": redis_url(),
            "KOPILKA_OPERATOR_KEY": OPERATOR_KEY,
            "TELEGRAM_BOT_TOKEN": BOT_TOKEN,
            "KOPILKA_QUEUE": f"kopilka-bench-{os.getpid()}",
            "KOPILKA_LOG_LEVEL": "INFO",
            "KOPILKA_LOG_JSON": "true",
            "KOPILKA_WRITE_RATE_LIMIT": "1000000/minute",
            "KOPILKA_RELAY_INTERVAL": "0.2",
            "PYTHONUNBUFFERED": "1",
        }
    )
    env.update(extra)
    return env


def use_env_in_process(db_url: str) -> None:
    """Point this process's kopilka settings at a benchmark database (before first use)."""
    os.environ.update(child_env(db_url, KOPILKA_LOG_LEVEL="WARNING"))
    from kopilka.config import get_settings
    from kopilka.db import get_engine

    get_settings.cache_clear()
    get_engine.cache_clear()


# ---------------------------------------------------------------- processes


# The processes are started by the tests' harness (tests/support/processes.py), their output
# in bench/out/logs/<name>.log.
UVICORN_ARGS = ("--no-access-log", "--loop", "uvloop", "--http", "httptools")


def start_api(
    env: dict[str, str],
    workers: int = 1,
    name: str = "api",
    app: str = "kopilka_api.main:app",
    ready_path: str = "/health",
) -> tuple[Proc, str]:
    """An ASGI app (the Kopilka API unless ``app`` names another) under uvicorn (uvloop +
    httptools), ``workers`` processes; ready when ``ready_path`` answers 200 (every worker up)."""
    p, url = processes.start_api(
        env,
        app=app,
        workers=workers,
        name=name,
        ready_path=ready_path,
        uvicorn_args=UVICORN_ARGS,
        log_dir=LOGS,
    )
    if workers > 1:  # every worker must be up, not only the first
        wait_until(lambda: len(tree_pids(p.pid)) >= workers + 1, 60, "the API workers")
        time.sleep(1.0)
    return p, url


def start_worker(env: dict[str, str], concurrency: int = 1) -> Proc:
    return processes.start_worker(env, concurrency, log_dir=LOGS)


def start_relay(env: dict[str, str]) -> Proc:
    return processes.start_relay(env, log_dir=LOGS)


def start_fake_telegram(env: dict[str, str], port: int) -> Proc:
    """The fake Bot API (tests/fakes/fake_telegram.py) as Telegram behaves: 30 messages/s
    overall, 1/s per chat; ready when it answers."""
    fake = Proc(
        "fake-telegram",
        [
            *(sys.executable, "-m", "tests.fakes.fake_telegram", "--host", "127.0.0.1"),
            *("--port", str(port), "--token", BOT_TOKEN, "--telegram-like", "--quiet"),
        ],
        env,
        LOGS,
    ).start()
    try:
        wait_until(
            lambda: httpx.get(f"http://127.0.0.1:{port}/_fake/stats").status_code == 200,
            30,
            "fake",
        )
    except BaseException:
        fake.stop()
        raise
    return fake


def run_child(module: str, *args: str) -> dict[str, Any]:
    """``python -m <module> --child ARGS`` in a process of its own (a job measured alone);
    the JSON of its last output line."""
    proc = subprocess.run(
        [sys.executable, "-m", module, "--child", *args],
        capture_output=True,
        text=True,
        timeout=900,
        check=False,
    )
    if proc.returncode != 0:
        raise RuntimeError(f"the {module} child failed:\n{proc.stderr[-3000:]}")
    data: dict[str, Any] = json.loads(proc.stdout.strip().splitlines()[-1])
    return data


def job_epochs(url: str, job_id: int) -> tuple[float, float, float]:
    """A job row's created_at, started_at and finished_at, in seconds since the epoch."""
    with pg_connect(libpq(url)) as c:
        row = c.execute(
            "SELECT extract(epoch FROM created_at), extract(epoch FROM started_at), "
            "extract(epoch FROM finished_at) FROM jobs WHERE id = %s",
            (job_id,),
        ).fetchone()
    assert row is not None
    created, started, finished = (float(x) for x in row)
    return created, started, finished


# ---------------------------------------------------------------- /proc accounting


def _stat(pid: int) -> list[str] | None:
    try:
        raw = Path(f"/proc/{pid}/stat").read_text()
    except (FileNotFoundError, ProcessLookupError, PermissionError):
        return None
    # comm may contain spaces: split after the closing parenthesis
    head, _, rest = raw.rpartition(")")
    return [head.split("(", 1)[1], *rest.split()]


def all_pids() -> list[int]:
    return [int(p) for p in os.listdir("/proc") if p.isdigit()]


def tree_pids(root: int) -> list[int]:
    """``root`` and every descendant."""
    parent: dict[int, int] = {}
    for pid in all_pids():
        st = _stat(pid)
        if st is not None:
            parent[pid] = int(st[2])  # fields after comm: state, ppid, ...
    out = [root]
    frontier = {root}
    while frontier:
        nxt = {pid for pid, pp in parent.items() if pp in frontier}
        out.extend(nxt)
        frontier = nxt
    return out


def postgres_pids() -> list[int]:
    return [pid for pid in all_pids() if (st := _stat(pid)) is not None and st[0] == "postgres"]


def cpu_seconds(pids: Iterable[int]) -> float:
    total = 0
    for pid in pids:
        st = _stat(pid)
        if st is not None:
            total += int(st[12]) + int(st[13])  # utime, stime
    return total / CLK_TCK


def machine_jiffies() -> tuple[int, int]:
    """(busy, total) jiffies of all CPUs since boot."""
    fields = [int(x) for x in Path("/proc/stat").read_text().splitlines()[0].split()[1:]]
    idle = fields[3] + fields[4]
    total = sum(fields[:8])
    return total - idle, total


def vm_status(pid: int) -> dict[str, int]:
    """VmRSS / VmHWM (peak RSS) / VmPeak of a process, in KiB."""
    out: dict[str, int] = {}
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            key, _, value = line.partition(":")
            if key in ("VmRSS", "VmHWM", "VmPeak", "VmSize"):
                out[key] = int(value.split()[0])
    except FileNotFoundError:
        pass
    return out


class CpuMeter:
    """CPU used by groups of processes over an interval, in percent of one core, and the whole
    machine's busy share (all cores). A group is a function giving its pids now; pids that exit
    during the interval are not counted."""

    def __init__(self, groups: dict[str, Callable[[], Iterable[int]]]) -> None:
        self.groups = groups
        self._start: dict[str, tuple[list[int], float]] = {}
        self._t0 = 0.0
        self._m0 = (0, 0)

    def start(self) -> CpuMeter:
        self._t0 = time.monotonic()
        self._m0 = machine_jiffies()
        self._start = {}
        for name, fn in self.groups.items():
            pids = list(fn())
            self._start[name] = (pids, cpu_seconds(pids))
        return self

    def stop(self) -> dict[str, float]:
        wall = time.monotonic() - self._t0
        out: dict[str, float] = {}
        for name, fn in self.groups.items():
            pids = sorted(set(self._start[name][0]) | set(fn()))
            before = self._start[name][1]
            used = cpu_seconds(pids) - before
            out[f"{name}_cpu_pct"] = round(100 * used / wall, 1) if wall > 0 else 0.0
        busy1, total1 = machine_jiffies()
        busy = busy1 - self._m0[0]
        total = total1 - self._m0[1]
        out["machine_busy_pct"] = round(100 * busy / total, 1) if total else 0.0
        out["wall_s"] = round(wall, 2)
        return out


# ---------------------------------------------------------------- the machine


def _cpu_model() -> str:
    for line in Path("/proc/cpuinfo").read_text().splitlines():
        if line.startswith("model name"):
            return line.split(":", 1)[1].strip()
    return platform.processor() or "unknown"


def _mem_total_gib() -> float:
    for line in Path("/proc/meminfo").read_text().splitlines():
        if line.startswith("MemTotal:"):
            return round(int(line.split()[1]) / 1024 / 1024, 1)
    return 0.0


def machine_info(db_url: str | None = None) -> dict[str, Any]:
    info: dict[str, Any] = {
        "date": dt.datetime.now(dt.UTC).strftime("%Y-%m-%d %H:%M UTC"),
        "nproc": os.cpu_count(),
        "cpu_model": _cpu_model(),
        "memory_gib": _mem_total_gib(),
        "kernel": platform.release(),
        "python": platform.python_version(),
        "loadavg_at_start": Path("/proc/loadavg").read_text().split()[:3],
    }
    try:
        virt = subprocess.run(
            ["systemd-detect-virt"], capture_output=True, text=True, timeout=5
        ).stdout.strip()
        if virt:
            info["virtualization"] = virt
    except (OSError, subprocess.SubprocessError):
        pass
    try:
        head = subprocess.run(
            ["git", "rev-parse", "--short", "HEAD"], capture_output=True, text=True, cwd=ROOT
        ).stdout.strip()
        dirty = subprocess.run(
            ["git", "status", "--porcelain", "--", ".", ":!bench"],
            capture_output=True,
            text=True,
            cwd=ROOT,
        ).stdout.splitlines()
        info["code"] = f"{head}" + (f" + {len(dirty)} uncommitted file(s)" if dirty else "")
    except OSError:
        pass
    try:
        for line in subprocess.run(
            ["lscpu"], capture_output=True, text=True, timeout=5
        ).stdout.splitlines():
            if line.startswith("Hypervisor vendor:"):
                info["hypervisor"] = line.split(":", 1)[1].strip()
    except (OSError, subprocess.SubprocessError):
        pass
    url = db_url or bench_url()
    try:
        with psycopg.connect(libpq(url, "postgres"), autocommit=True) as c:
            info["postgresql"] = c.execute("SHOW server_version").fetchone()[0]  # type: ignore[index]
            settings = {}
            for name in (
                "synchronous_commit",
                "fsync",
                "wal_sync_method",
                "shared_buffers",
                "work_mem",
                "max_connections",
            ):
                settings[name] = c.execute(f"SHOW {name}").fetchone()[0]  # type: ignore[index]
            info["postgresql_settings"] = settings
    except psycopg.Error as exc:
        info["postgresql"] = f"unreachable: {exc}"
    return info


def loadavg() -> float:
    return float(Path("/proc/loadavg").read_text().split()[0])


def busy_pct(seconds: float = 1.0) -> float:
    """The share of all CPUs busy over the next ``seconds``."""
    b0, t0 = machine_jiffies()
    time.sleep(seconds)
    b1, t1 = machine_jiffies()
    return 100 * (b1 - b0) / max(1, t1 - t0)


def wait_quiet(max_wait: float = 30.0, busy_below: float = 35.0) -> float:
    """Wait (a little) for the machine to calm down: other work on a 2-core box skews every
    figure. Quiet = under ``busy_below`` % of the CPUs busy over one second (the load average
    lags, and would count our own previous step). Returns the last one-second busy share, which
    the reports show as "busy before"."""
    deadline = time.monotonic() + max_wait
    busy = busy_pct()
    while busy > busy_below and time.monotonic() < deadline:
        busy = busy_pct()
    return round(busy, 1)


def python_speed_ms() -> float:
    """CPU ms this machine takes now for a fixed piece of Python (dict, str and int work, JSON),
    the best of three: the same code's figures move with it. On this 2-vCPU virtual machine it
    was seen to change by half within minutes (other tenants of the host), and a step's result
    reads against it: the same contribution path cost 3.3 ms of API CPU in one run and 5.0 ms
    twelve minutes later."""

    def work() -> None:
        d = {f"k{i}": [i, str(i), {"v": i * 7}] for i in range(2_000)}
        for _ in range(5):
            json.loads(json.dumps(d))
        sum(len(k) + v[0] for k, v in d.items())

    best = float("inf")
    for _ in range(3):
        t = time.process_time()
        work()
        best = min(best, time.process_time() - t)
    return round(best * 1000, 1)


# ---------------------------------------------------------------- statistics and results


def percentile(values: Sequence[float], p: float) -> float:
    """Nearest-rank percentile (p in 0..100) of unsorted values; NaN when empty."""
    if not values:
        return float("nan")
    ordered = sorted(values)
    k = max(0, min(len(ordered) - 1, round(p / 100 * len(ordered) + 0.5) - 1))
    return ordered[k]


def ms(seconds: float) -> float:
    return round(seconds * 1000, 1)


def save_result(name: str, data: dict[str, Any]) -> Path:
    OUT.mkdir(parents=True, exist_ok=True)
    path = OUT / f"{name}.json"
    path.write_text(json.dumps(data, indent=2, default=str))
    return path


def load_results() -> dict[str, dict[str, Any]]:
    out: dict[str, dict[str, Any]] = {}
    if OUT.exists():
        for path in sorted(OUT.glob("*.json")):
            with contextlib.suppress(ValueError):
                out[path.stem] = json.loads(path.read_text())
    return out


def command_line(module: str, argv: Sequence[str] | None = None) -> str:
    args = list(sys.argv[1:] if argv is None else argv)
    return " ".join(["uv run --frozen python -m", module, *args])


def result_head(
    module: str, argv: Sequence[str] | None, db_url: str | None = None
) -> dict[str, Any]:
    """What every benchmark's figures begin with: how it was run, and on what machine."""
    return {"command": command_line(module, argv), "machine": machine_info(db_url)}


def finish(name: str, data: dict[str, Any]) -> None:
    """Save one benchmark's figures and regenerate RESULTS.md from everything measured."""
    path = save_result(name, data)
    log(f"figures saved to {path.relative_to(ROOT)}")
    from bench.report import write_report

    report = write_report()
    log(f"report written to {report.relative_to(ROOT)}")
