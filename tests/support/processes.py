"""Real processes for end-to-end tests and for the benchmarks (``bench/common.py`` starts its
processes through this module): the API (uvicorn), the Celery worker, the relay, any other
child (``Proc``), and a private Redis server for tests that stop it."""

from __future__ import annotations

import contextlib
import os
import signal
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Sequence
from pathlib import Path

import httpx

ROOT = Path(__file__).resolve().parents[2]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def wait_until(
    predicate: Callable[[], bool], timeout: float, what: str, interval: float = 0.1
) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            if predicate():
                return
        except Exception:
            pass
        time.sleep(interval)
    raise TimeoutError(f"timed out after {timeout:.0f}s waiting for {what}")


class Proc:
    """A child process in its own process group, its output in ``<log_dir>/<name>.log`` (emptied
    here) or, without ``log_dir``, in a temp file."""

    def __init__(
        self, name: str, args: Sequence[str], env: dict[str, str], log_dir: Path | None = None
    ) -> None:
        self.name = name
        self.args = list(args)
        self.env = env
        if log_dir is None:
            self.log = Path(tempfile.mkstemp(prefix=f"kopilka-{name}-", suffix=".log")[1])
        else:
            log_dir.mkdir(parents=True, exist_ok=True)
            self.log = log_dir / f"{name}.log"
            self.log.write_bytes(b"")
        self.proc: subprocess.Popen[bytes] | None = None

    def start(self) -> Proc:
        fh = self.log.open("ab")
        self.proc = subprocess.Popen(
            self.args,
            env=self.env,
            cwd=ROOT,
            stdout=fh,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        return self

    @property
    def pid(self) -> int:
        assert self.proc is not None
        return self.proc.pid

    def output(self) -> str:
        return self.log.read_text(errors="replace")

    @property
    def alive(self) -> bool:
        return self.proc is not None and self.proc.poll() is None

    def kill9(self) -> None:
        """SIGKILL the whole process group (the Celery parent and its pool children)."""
        if self.proc is not None:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(self.proc.pid, signal.SIGKILL)
            self.proc.wait(timeout=10)

    def stop(self, timeout: float = 15) -> None:
        if self.proc is None or self.proc.poll() is not None:
            return
        try:
            os.killpg(self.proc.pid, signal.SIGTERM)
            self.proc.wait(timeout=timeout)
        except (ProcessLookupError, subprocess.TimeoutExpired):
            self.kill9()

    def __enter__(self) -> Proc:
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()


def _started(p: Proc, ready: Callable[[], bool], timeout: float, what: str) -> Proc:
    """``p`` once ``ready()`` holds; RuntimeError with its output if it exits first."""
    wait_until(lambda: ready() or not p.alive, timeout, what)
    if not p.alive:
        raise RuntimeError(f"{what} exited:\n{p.output()[-3000:]}")
    return p


def base_env(**extra: str) -> dict[str, str]:
    env = dict(os.environ)
    env["KOPILKA_LOG_LEVEL"] = "INFO"
    env.update(extra)
    return env


def start_worker(env: dict[str, str], concurrency: int = 2, log_dir: Path | None = None) -> Proc:
    p = Proc(
        "worker",
        [
            sys.executable,
            "-m",
            "celery",
            "-A",
            "kopilka_worker.app:celery_app",
            "worker",
            "--loglevel=INFO",
            f"--concurrency={concurrency}",
            "-Q",
            env["KOPILKA_QUEUE"],
            "--without-gossip",
            "--without-mingle",
            "--without-heartbeat",
        ],
        env,
        log_dir,
    ).start()
    return _started(p, lambda: "ready." in p.output(), 90, "the Celery worker")


def start_relay(env: dict[str, str], log_dir: Path | None = None) -> Proc:
    p = Proc("relay", [sys.executable, "-m", "kopilka_worker", "relay"], env, log_dir).start()
    return _started(p, lambda: "relay_started" in p.output(), 60, "the relay")


def start_api(
    env: dict[str, str],
    *,
    app: str = "kopilka_api.main:app",
    workers: int = 1,
    name: str = "api",
    ready_path: str = "/health",
    uvicorn_args: Sequence[str] = (),
    log_dir: Path | None = None,
) -> tuple[Proc, str]:
    """An ASGI app (the Kopilka API unless ``app`` names another) under uvicorn, ``workers``
    processes, on a free port; ready when ``ready_path`` answers 200. Returns it and its URL."""
    port = free_port()
    args = [
        *(sys.executable, "-m", "uvicorn", app, "--host", "127.0.0.1", "--port", str(port)),
        *("--log-level", "warning", *uvicorn_args),
    ]
    if workers > 1:
        args += ["--workers", str(workers)]
    p = Proc(name, args, env, log_dir).start()
    url = f"http://127.0.0.1:{port}"
    _started(p, lambda: httpx.get(url + ready_path, timeout=1).status_code == 200, 90, "the API")
    return p, url


class PrivateRedis:
    """A redis-server of our own on a free port, to stop and start in fault tests."""

    def __init__(self) -> None:
        self.port = free_port()
        self.dir = tempfile.mkdtemp(prefix="kopilka-redis-")
        self.proc: Proc | None = None

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def start(self) -> None:
        self.proc = Proc(
            "redis",
            [
                "redis-server",
                "--port",
                str(self.port),
                "--bind",
                "127.0.0.1",
                "--save",
                "",
                "--appendonly",
                "no",
                "--dir",
                self.dir,
            ],
            dict(os.environ),
        ).start()
        import redis

        wait_until(lambda: redis.Redis(port=self.port).ping(), 20, "the private Redis")

    def stop(self) -> None:
        if self.proc is not None:
            self.proc.kill9()
