"""Real processes for end-to-end tests: the API (uvicorn), the Celery worker, the relay, and a
private Redis server for tests that stop it. Each runs with the test environment."""

from __future__ import annotations

import contextlib
import os
import signal
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
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
    raise TimeoutError(f"timed out after {timeout}s waiting for {what}")


class Proc:
    """A child process in its own process group, its output in a temp file."""

    def __init__(self, name: str, args: list[str], env: dict[str, str]) -> None:
        self.name = name
        self.args = args
        self.env = env
        self.log = Path(tempfile.mkstemp(prefix=f"kopilka-{name}-", suffix=".log")[1])
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

    def stop(self, timeout: float = 10) -> None:
        if self.proc is None or self.proc.poll() is not None:
            return
        try:
            os.killpg(self.proc.pid, signal.SIGTERM)
            self.proc.wait(timeout=timeout)
        except (ProcessLookupError, subprocess.TimeoutExpired):
            self.kill9()


def base_env(**extra: str) -> dict[str, str]:
    env = dict(os.environ)
    env["KOPILKA_LOG_LEVEL"] = "INFO"
    env.update(extra)
    return env


def start_worker(env: dict[str, str], concurrency: int = 2) -> Proc:
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
    ).start()
    wait_until(lambda: "ready." in p.output() or not p.alive, 60, "the Celery worker")
    assert p.alive, p.output()
    return p


def start_relay(env: dict[str, str]) -> Proc:
    p = Proc("relay", [sys.executable, "-m", "kopilka_worker", "relay"], env).start()
    wait_until(lambda: "relay_started" in p.output() or not p.alive, 60, "the relay")
    assert p.alive, p.output()
    return p


def start_api(env: dict[str, str]) -> tuple[Proc, str]:
    port = free_port()
    p = Proc(
        "api",
        [
            sys.executable,
            "-m",
            "uvicorn",
            "kopilka_api.main:app",
            "--host",
            "127.0.0.1",
            "--port",
            str(port),
            "--log-level",
            "warning",
        ],
        env,
    ).start()
    url = f"http://127.0.0.1:{port}"
    wait_until(lambda: httpx.get(url + "/health", timeout=1).status_code == 200, 60, "the API")
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
